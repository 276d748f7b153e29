"""``model.keras`` without loading the base: the saved inference model of an earlier run, with a new head.

A run that trains the head only leaves the base's weights as they were, so every such run with
the same base writes the same ``model.keras`` but for the head's two layers. The first one keeps
a copy of its file in the feature cache (a *template*, under the base's cache key and the Keras
version); a later run whose features are all cached then writes its ``model.keras`` from the
template, replacing the head's configuration in ``config.json`` and its weights in
``model.weights.h5``, instead of loading the base (seconds) and saving it again through Keras
(seconds). The result is the file Keras writes for that model, as Keras's own loading reads it.

The ``.keras`` format is a zip of ``metadata.json``, ``config.json`` (the model's
``get_config``) and ``model.weights.h5`` (each layer's variables under
``layers/<layer path>/vars/<i>``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

TEMPLATE_VERSION = 1  # bump when builder.train.head.inference_model changes the model's layout
HEAD_LAYERS = ("head_dropout", "classifier")  # the head's layer names (builder.train.head)
HEAD_WEIGHTS = "layers/dense/vars"  # the classifier's variables: 0 kernel (D, C), 1 bias (C,)


def template_path(folder: Path, keras_version: str) -> Path:
    """Where the template for one base (its cache folder ``folder``) and Keras version lives."""
    return folder / f"inference-model-v{TEMPLATE_VERSION}-keras-{keras_version}.keras"


def readable(template: Path) -> bool:
    """Whether ``template`` is there and whole: a zip whose entries all pass their CRC check, with the
    ``config.json`` and ``model.weights.h5`` that :func:`compose` reads. A damaged one (a disk error, a write
    cut short by something other than browsernet) is then treated as absent: the run loads the base and
    keeps a new template."""
    try:
        with zipfile.ZipFile(template) as z:
            return z.testzip() is None and {"config.json", "model.weights.h5"} <= set(z.namelist())
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


def keep(model_file: Path, template: Path) -> None:
    """Copy a head-only run's ``model.keras`` to ``template`` (atomically); a cache that cannot be
    written only costs the next run its shortcut."""
    try:
        template.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{template.name}.", dir=template.parent)
        os.close(fd)
        shutil.copyfile(model_file, tmp)
        os.replace(tmp, template)
    except OSError as e:
        log.info("could not keep %s as a template (%s)", model_file, e)


def _entries(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {layer["config"]["name"]: layer for layer in config["config"]["layers"]}


def compose(template: Path, head_model: Any, path: Path, keras_version: str) -> None:
    """Write to ``path`` the template's model with ``head_model``'s head (a Keras model holding the
    layers named :data:`HEAD_LAYERS`: features (N, D) → probabilities (N, C)).

    Raises ``ValueError`` if the template does not have the head's layers and variables where
    :func:`keep` put them (then write the model through Keras instead).
    """
    import h5py

    with zipfile.ZipFile(template) as z:
        config = json.loads(z.read("config.json"))
        weights = z.read("model.weights.h5")
    ours = _entries(config)
    theirs = _entries({"config": head_model.get_config()})
    for name in HEAD_LAYERS:
        if name not in ours or name not in theirs or ours[name]["class_name"] != theirs[name]["class_name"]:
            raise ValueError(f"{template}: no {name} layer like the head's")
        dtype = ours[name]["config"].get("dtype")
        ours[name]["config"] = {**theirs[name]["config"], "dtype": dtype}
        ours[name]["build_config"] = theirs[name].get("build_config", ours[name].get("build_config"))
    dense = head_model.get_layer(HEAD_LAYERS[1])
    kernel, bias = (np.asarray(v, np.float32) for v in dense.get_weights())
    with tempfile.TemporaryDirectory(prefix="browsernet-keras-") as tmp:
        h5 = Path(tmp) / "model.weights.h5"
        h5.write_bytes(weights)
        with h5py.File(h5, "r+") as f:
            group = f.get(HEAD_WEIGHTS)
            if group is None or sorted(group.keys()) != ["0", "1"] or group["0"].shape[0] != kernel.shape[0]:
                raise ValueError(f"{template}: the classifier's variables are not at {HEAD_WEIGHTS}")
            for key, value in (("0", kernel), ("1", bias)):
                if group[key].shape == value.shape:
                    group[key][...] = value
                else:
                    del group[key]
                    group.create_dataset(key, data=value)
        metadata = {"keras_version": keras_version, "date_saved": time.strftime("%Y-%m-%d@%H:%M:%S")}
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
            z.writestr("metadata.json", json.dumps(metadata))
            z.writestr("config.json", json.dumps(config))
            z.write(h5, "model.weights.h5")

