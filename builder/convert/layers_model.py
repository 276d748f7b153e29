"""Keras model → TF.js layers-format files (model.json + weight shards), in two steps that a build runs once each.

:func:`plan`: flatten the Keras graph → rewrite it for inference (unless told not to) → the weights under their
TF.js names. ``--quantize auto`` measures the plan. :func:`write`: per-channel scaling for the kernels stored as
uint8 → the TF.js 4.22 topology → quantize and shard the weights (tensorflowjs's own writer) → content-hashed
shard names → model.json.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from builder import __version__
from builder.convert import cost, per_channel, topology
from builder.convert import graph as graphs
from builder.convert import inference_rewrites as optimizing
from builder.convert import quantization as quantize
from builder.convert.graph import Graph
from builder.errors import ModelError, QuantizeError, UnmatchedPatternError, naming_model

log = logging.getLogger(__name__)

MODEL_DIR = "model"
MODEL_JSON = "model.json"
FORMAT = "layers-model"
HASH_CHARS = 12  # hex digits of sha256 in shard names; hosting.HASHED_NAME matches them


@dataclass(frozen=True)
class Plan:
    """A Keras model read once and rewritten for inference: what ``--quantize auto`` measures and
    :func:`write` writes. Built by :func:`plan`."""

    where: str  # the model's source, for error messages
    graph: Graph  # as read from Keras (nested models inlined)
    optimized: Graph  # after the inference rewrites (the graph itself with --no-optimize)
    summary: optimizing.Summary | None  # None: not optimized (--no-optimize)
    weights: list[topology.Weight]  # the optimized graph's weights under their TF.js names (what dtype maps name)
    input_scaling: graphs.InputScaling | None  # the model's own input scaling, and the pixel range it expects

    @property
    def parameters(self) -> int:
        return cost.parameters(self.graph)

    @property
    def multiply_adds(self) -> int:
        return cost.multiply_adds(self.graph)

    @property
    def channel_axes(self) -> dict[str, tuple[int, ...]]:
        """The weights :func:`write` writes channel-scaled when stored as uint8, with the axes their
        per-output-channel scales reduce over (:func:`builder.convert.per_channel.kernel_axes`)."""
        return per_channel.kernel_axes(self.optimized)


@dataclass(frozen=True)
class Conversion:
    """What :func:`write` wrote."""

    model_json: Path
    weights: list[topology.Weight]  # as written (channel-scaled kernels divided, their scales beside them)
    dtypes: dict[str, str]  # weight name -> stored dtype (absent: float32)
    shard_sha256: dict[str, str]  # weight shard, as listed in model.json -> sha256 hex of its bytes
    layers: int  # TF.js layers written
    layers_before: int  # TF.js layers the model would have without optimization
    optimization: optimizing.Summary | None  # None: not optimized (--no-optimize)


def plan(model: Any, where: str, *, optimize: bool = True, graph: graphs.Graph | None = None) -> Plan:
    """Read ``model`` into a graph and, with ``optimize`` (the default), rewrite it for inference
    (:func:`builder.convert.inference_rewrites.optimize`: BatchNorms folded, ReLUs fused, Dropout dropped).
    ``graph``: ``model`` as :func:`builder.convert.graph.from_keras` has read it already (not modified
    here), to read it only once. ``where`` names the source in errors. Raises
    :class:`~builder.errors.UnsupportedLayerError` naming a layer TF.js cannot run."""
    with naming_model(where):
        if graph is None:
            graph = graphs.from_keras(model)
        optimized, summary = optimizing.optimize(graph) if optimize else (graph, None)
    _, weights = topology.to_tfjs(optimized, where)
    return Plan(where, graph, optimized, summary, weights, graphs.input_scaling(graph))


def write(plan: Plan, model_dir: Path, *, qmap: quantize.QuantizeMap, shard_size: int) -> Conversion:
    """Write ``plan`` as a TF.js layers model (model.json + content-hashed shards) into ``model_dir``.

    ``qmap`` speaks of the plan's weights (:attr:`Plan.weights`). A folded kernel it stores as uint8 is
    written channel-scaled (:mod:`builder.convert.per_channel`): its scales stay float32, and the bias moved
    into the BatchNorm after it takes the folded bias's dtype. Raises :class:`~builder.errors.QuantizeError`
    for a map naming no weight, :class:`~builder.errors.ModelError` when the files cannot be written.
    """
    import keras

    scaled = per_channel.scale(plan.optimized, lambda name: quantize.dtype_of(name, qmap) == "uint8")
    topology_json, weights = topology.to_tfjs(scaled.graph, plan.where)
    summary = plan.summary
    if summary is not None and scaled.kernels:
        summary = replace(summary, folded_batchnorms=summary.folded_batchnorms - scaled.kernels,
                          fused_activations=summary.fused_activations - scaled.unfused, scaled_kernels=scaled.kernels)
    try:
        dtypes = _dtypes(weights, qmap, scaled.dtype_from) if qmap else {}
    except UnmatchedPatternError as e:
        # The hint is for a pattern that names BatchNorm weights (…_bn/gamma, batch_normalization/moving_mean).
        names_batchnorm = any(key in e.pattern.lower() for key in ("bn", "batch", "gamma", "beta", "moving"))
        if summary is None or not (summary.folded_batchnorms or summary.scaled_kernels) or not names_batchnorm:
            raise
        raise QuantizeError(f"{e.message}; BatchNorm weights were folded into the layers before them "
                            "(--no-optimize keeps them)") from None
    model_dir.mkdir(parents=True, exist_ok=True)
    manifest, digests = _hash_names(_write_weights(weights, dtypes, model_dir, shard_size), model_dir)
    artifacts = {
        "format": FORMAT,
        "generatedBy": f"keras v{keras.__version__}",
        "convertedBy": f"browsernet v{__version__}",
        "modelTopology": topology_json,
        "weightsManifest": manifest,
    }
    path = model_dir / MODEL_JSON
    path.write_text(json.dumps(artifacts, separators=(",", ":")))
    layers = len(topology_json["config"]["layers"])
    log.info("wrote %s: %d layers, %d weight tensors", path, layers, len(weights))
    return Conversion(model_json=path, weights=weights, dtypes=dtypes, shard_sha256=digests, layers=layers,
                      layers_before=topology.layer_count(plan.graph), optimization=summary)


def _dtypes(weights: list[topology.Weight], qmap: quantize.QuantizeMap,
            dtype_from: dict[str, str | None]) -> dict[str, str]:
    """Each written weight's dtype under ``qmap``, whose names are the folded model's (:attr:`Plan.weights`).

    ``dtype_from`` (:attr:`per_channel.Scaled.dtype_from`) says which folded weight a weight added by
    per-channel scaling takes its dtype from, or None: float32. A weight no Keras layer holds stays float32
    too: the self-check could not measure it quantized."""
    mapped = {w.name: dtype_from.get(w.name, w.name) for w in weights if w.origin.layer is not None}
    mapped = {name: key for name, key in mapped.items() if key is not None}
    try:
        chosen = quantize.assign(sorted(set(mapped.values())), qmap)
    except UnmatchedPatternError as e:
        fixed = [w.name for w in weights if w.origin.layer is None and fnmatch.fnmatch(w.name, e.pattern)]
        if fixed:
            raise QuantizeError(f"{e.message[:e.message.index(': matches')]}: matches only weights that stay float32 "
                                f"({', '.join(fixed[:3])}: browsernet wrote them for a layer it rewrote, and the "
                                "self-check can only measure a Keras layer's weights quantized)") from None
        raise
    return {name: chosen[key] for name, key in mapped.items() if key in chosen}


def _hash_names(manifest: list[dict], model_dir: Path) -> tuple[list[dict], dict[str, str]]:
    """Put each shard's content hash in its name (group1-shard1of1.0123456789ab.bin), so hosts and the
    service worker may cache shards forever, and a new build can never pair with old shards. Returns the
    renamed manifest and ``{shard path as listed: sha256 hex}`` (the page verifies each download against it)."""
    digests: dict[str, str] = {}
    for group in manifest:
        renamed = []
        for name in group["paths"]:
            path = model_dir / name
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            hashed = f"{path.stem}.{digest[:HASH_CHARS]}{path.suffix}"
            path.rename(model_dir / hashed)
            renamed.append(hashed)
            digests[hashed] = digest
        group["paths"] = renamed
    return manifest, digests


def _write_weights(weights: list[topology.Weight], dtypes: dict[str, str], model_dir: Path,
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


def convert(model: Any, where: str, model_dir: Path, *, qmap: quantize.QuantizeMap, shard_size: int,
            optimize: bool = True) -> Conversion:
    """:func:`plan` then :func:`write`, for callers that measure nothing in between (tests, the bench)."""
    return write(plan(model, where, optimize=optimize), model_dir, qmap=qmap, shard_size=shard_size)
