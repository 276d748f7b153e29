"""Keras model → TF.js layers-format files (model.json + weight shards).

Pipeline: flatten the Keras graph → optimize it for inference (unless told not to) →
translate to a TF.js 4.22 topology → quantize and shard the weights (tensorflowjs's
own writer) → model.json.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builder import __version__
from builder.convert import graph as graphs
from builder.convert import topology as keras_compat
from builder.convert import inference_rewrites as optimizing
from builder.convert import quantization as quantize
from builder.convert import cost as stats
from builder.errors import ModelError, QuantizeError

log = logging.getLogger(__name__)

MODEL_DIR = "model"
MODEL_JSON = "model.json"
FORMAT = "layers-model"
HASH_CHARS = 12  # hex digits of sha256 in shard names; hosting.HASHED_NAME matches them


@dataclass
class Conversion:
    model_json: Path
    weights: list[keras_compat.Weight]
    dtypes: dict[str, str]  # weight name -> stored dtype (absent: float32)
    layers: int  # TF.js layers written
    layers_before: int  # TF.js layers the model would have without optimization
    optimization: optimizing.Summary | None  # None: not optimized (--no-optimize)
    parameters: int
    multiply_adds: int
    normalises_input: bool  # the model rescales its own input (so it wants raw pixels)


def convert(model: Any, where: str, model_dir: Path, *, qmap: quantize.QuantizeMap, shard_size: int,
            optimize: bool = True) -> Conversion:
    """Write ``model`` as a TF.js layers model into ``model_dir``; ``where`` names the source in errors.

    With ``optimize`` (the default) the graph is first rewritten for inference
    (:func:`builder.optimize.optimize`): BatchNorms folded, ReLUs fused, Dropout dropped. A folded
    kernel that ``qmap`` stores as uint8 is written channel-scaled, its scales in a BatchNorm after it.
    ``qmap`` speaks of the folded model's weights (as :func:`inspect` lists them): the scales stay
    float32, and the bias moved into that BatchNorm takes the folded bias's dtype.
    """
    import keras

    graph = graphs.from_keras(model)
    if optimize:
        written, summary = optimizing.optimize(
            graph, channel_scaled=lambda name: quantize.dtype_of(name, qmap) == "uint8")
    else:
        written, summary = graph, None
    topology, weights = keras_compat.to_tfjs(written, where)
    try:
        dtypes = _dtypes(weights, qmap) if qmap else {}
    except QuantizeError as e:
        if summary is None or not (summary.folded_batchnorms or summary.scaled_kernels):
            raise
        raise QuantizeError(f"{e.message}; BatchNorm weights were folded into the layers before them "
                            "(--no-optimize keeps them)") from None
    model_dir.mkdir(parents=True, exist_ok=True)
    manifest = _hash_names(_write_weights(weights, dtypes, model_dir, shard_size), model_dir)
    artifacts = {
        "format": FORMAT,
        "generatedBy": f"keras v{keras.__version__}",
        "convertedBy": f"browsernet v{__version__}",
        "modelTopology": topology,
        "weightsManifest": manifest,
    }
    path = model_dir / MODEL_JSON
    path.write_text(json.dumps(artifacts, separators=(",", ":")))
    log.info("wrote %s: %d layers, %d weight tensors", path, len(topology["config"]["layers"]), len(weights))
    return Conversion(
        model_json=path,
        weights=weights,
        dtypes=dtypes,
        layers=len(topology["config"]["layers"]),
        layers_before=keras_compat.layer_count(graph),
        optimization=summary,
        parameters=stats.parameters(graph),
        multiply_adds=stats.multiply_adds(graph),
        normalises_input=graphs.normalises_input(graph),
    )


def inspect(model: Any, where: str, *, optimize: bool = True) -> tuple[list[keras_compat.Weight], bool]:
    """``(weights, normalises_input)`` as :func:`convert` will see them, without writing anything:
    the weights under their TF.js names (to choose their dtypes first), and whether the model
    rescales its own input (to choose the preprocessing first). With ``optimize``, every
    BatchNorm is folded; a kernel with ``channel_axes`` is written channel-scaled if stored as uint8."""
    graph = graphs.from_keras(model)
    written = optimizing.optimize(graph)[0] if optimize else graph
    return keras_compat.to_tfjs(written, where)[1], graphs.normalises_input(graph)


def _dtypes(weights: list[keras_compat.Weight], qmap: quantize.QuantizeMap) -> dict[str, str]:
    """Each written weight's dtype under ``qmap``, whose names are the folded model's (see :func:`convert`)."""
    mapped = {w.name: w.quantize_as or w.name for w in weights if w.quantize_as != "float32"}
    chosen = quantize.assign(sorted(set(mapped.values())), qmap)
    return {name: chosen[key] for name, key in mapped.items() if key in chosen}


def _hash_names(manifest: list[dict], model_dir: Path) -> list[dict]:
    """Put each shard's content hash in its name (group1-shard1of1.0123456789ab.bin), so hosts and
    the service worker may cache shards forever, and a new build can never pair with old shards."""
    for group in manifest:
        renamed = []
        for name in group["paths"]:
            path = model_dir / name
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:HASH_CHARS]
            hashed = f"{path.stem}.{digest}{path.suffix}"
            path.rename(model_dir / hashed)
            renamed.append(hashed)
        group["paths"] = renamed
    return manifest


def _write_weights(weights: list[keras_compat.Weight], dtypes: dict[str, str], model_dir: Path,
                   shard_size: int) -> list[dict]:
    from tensorflowjs import write_weights

    by_dtype: dict[str, list[str]] = {}
    for name, dtype in dtypes.items():
        by_dtype.setdefault(dtype, []).append(name)
    group = [{"name": w.name, "data": w.data} for w in weights]
    try:
        return write_weights.write_weights([group], str(model_dir), shard_size_bytes=shard_size,
                                           write_manifest=False, quantization_dtype_map=by_dtype or None)
    except (ValueError, OSError) as e:
        raise ModelError(f"{model_dir}: could not write weights: {e}") from e
