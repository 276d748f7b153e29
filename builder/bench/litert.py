"""The LiteRT.js baseline for ``browsernet bench``: the same Keras model converted to a
TFLite flatbuffer by TensorFlow's own converter, run in the browser by LiteRT.js
(npm ``@litertjs/core``, a devDependency), which hands the whole graph to XNNPACK.

LiteRT.js rejects a model whose input batch is dynamic (``Float32[-1, 224, 224, 3]``), so
the model is exported with a batch-1 signature.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from builder.errors import BrowsernetError

NAME = "litert"
PACKAGES = ("@litertjs/core", "@litertjs/wasm-utils")
MODEL_FILE = "model.tflite"


def convert(model: Any, input_size: tuple[int, int], out_dir: Path) -> Path:
    """Write ``model`` as a float32 TFLite model, input ``[1, height, width, 3]``, to ``out_dir``;
    return the ``.tflite`` path. Raises :class:`BrowsernetError` when TensorFlow's converter fails."""
    import tensorflow as tf

    from builder.model import tf_runtime

    out_dir.mkdir(parents=True, exist_ok=True)
    signature = [tf.TensorSpec([1, *input_size, 3], tf.float32, name="input")]
    saved = out_dir / "saved_model"
    try:
        with tf_runtime.quiet():
            # Through a SavedModel: its variables are frozen into constants (a concrete function of a
            # Keras 3 model keeps READ_VARIABLE ops that the interpreter cannot resolve).
            if hasattr(model, "export"):  # Keras 3
                model.export(str(saved), input_signature=signature, verbose=False)
            else:  # tf-keras
                call = tf.function(lambda x: model(x, training=False), input_signature=signature)
                tf.saved_model.save(model, str(saved), signatures=call.get_concrete_function())
            flatbuffer = tf.lite.TFLiteConverter.from_saved_model(str(saved)).convert()
    except Exception as e:  # the converter raises ConverterError, ValueError, RuntimeError alike
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise BrowsernetError(f"could not convert the model to TFLite: {first}") from e
    shutil.rmtree(saved, ignore_errors=True)
    path = out_dir / MODEL_FILE
    path.write_bytes(flatbuffer)
    return path


def stage(node_modules: Path, dest: Path) -> None:
    """Copy LiteRT.js's ES modules and WASM binaries from ``node_modules`` into ``dest``
    (``dest/<package>/dist``, ``dest/@litertjs/core/wasm``), as the harness page imports them.
    Raises :class:`BrowsernetError` when the package is not installed (``npm ci`` installs it)."""
    for package in PACKAGES:
        source = node_modules / package
        if not (source / "package.json").is_file():
            raise BrowsernetError(f"{package} is not installed in {node_modules}: run 'npm ci' in the checkout")
        for sub in ("dist", "wasm"):
            if (source / sub).is_dir():
                shutil.copytree(source / sub, dest / package / sub, ignore=shutil.ignore_patterns("*.map"))
