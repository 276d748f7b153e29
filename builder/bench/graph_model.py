"""The baselines ``browsernet bench`` compares a site against: the same Keras model
converted to a TF.js *graph* model (what a user would otherwise pick), and the model
running natively in TensorFlow on this machine."""

from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from builder.errors import BrowsernetError

log = logging.getLogger(__name__)


# tensorflowjs's converter, in a process of its own: TensorFlow reads TF_ENABLE_ONEDNN_OPTS once, when it
# starts. On a CPU where oneDNN is on by default (AVX-512 BF16, AMX), grappler's remapper fuses patterns that
# TF.js cannot run, such as MobileNetV3's hard-swish into a _FusedConv2D ("_fusedhardswish activation not yet
# supported for FusedConv2D in the wasm backend"); without oneDNN it fuses what TF.js runs.
_CONVERT = ("import sys\n"
            "from tensorflowjs.converters import tf_saved_model_conversion_v2 as c\n"
            "c.convert_tf_saved_model(sys.argv[1], sys.argv[2])\n")


def graph_model(model: Any, out_dir: Path) -> Path:
    """Convert ``model`` to a TF.js graph model (tensorflowjs's converter, which fuses
    Conv+BN+ReLU6) in ``out_dir``; return the path of its model.json.

    Raises :class:`BrowsernetError` (one line) when the model cannot be exported or converted."""
    from builder.model import tf_runtime

    saved = out_dir / "saved_model"
    graph = out_dir / "graph"
    try:
        with tf_runtime.quiet():
            if hasattr(model, "export"):  # Keras 3
                model.export(str(saved), verbose=False)
            else:  # tf-keras
                import tensorflow as tf

                tf.saved_model.save(model, str(saved))
    except Exception as e:  # Keras and TensorFlow raise many kinds
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise BrowsernetError(f"could not export the model for the graph-model baseline: {first}") from e
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "0", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", _CONVERT, str(saved), str(graph)], env=env, capture_output=True,
                          text=True, timeout=1800)
    if done.returncode != 0:  # the converter raises bare Exceptions and ValueErrors alike: its last line says
        last = ([line for line in done.stderr.splitlines() if line.strip()] or [f"exit code {done.returncode}"])[-1]
        raise BrowsernetError(f"could not convert the model to a TF.js graph model for the baseline: {last}")
    patched = vector_biases(graph / "model.json")
    if patched:
        log.info("graph model: %d fused convolutions given a per-channel bias for TF.js", patched)
    return graph / "model.json"


# The fused convolution ops of a graph model.json: (filter input, its output-channel axes).
_FUSED_CONVOLUTIONS = {"_FusedConv2D": (3,), "FusedDepthwiseConv2dNative": (2, 3)}


def vector_biases(model_json: Path) -> int:
    """Give each fused convolution in a graph model a rank-1 bias; return how many were changed.

    TensorFlow's grappler fuses a convolution followed by the add of a scalar (MobileNetV3's
    hard-sigmoid ``conv + 3``) into one ``_FusedConv2D`` whose bias is that scalar, and TF.js
    4.22's graph executor refuses it ("FusedConv2D only supports rank-1 bias"). Each such node
    gets its own constant, the scalar repeated once per output channel (the same sums), and the
    weight shards are rewritten with it."""
    import numpy as np
    from tensorflowjs import read_weights, write_weights

    spec = json.loads(model_json.read_text())
    nodes = spec["modelTopology"]["node"]
    groups = read_weights.read_weights(spec["weightsManifest"], str(model_json.parent))
    weights = {w["name"]: w for group in groups for w in group}
    patched = 0
    for node in list(nodes):
        axes = _FUSED_CONVOLUTIONS.get(node["op"])
        kernel = weights.get(node["input"][1]) if axes and len(node["input"]) > 2 else None
        if kernel is None:
            continue
        for k in range(2, len(node["input"])):
            bias = weights.get(node["input"][k])
            if bias is None or np.ndim(bias["data"]) != 0:
                continue
            channels = int(np.prod([kernel["data"].shape[a] for a in axes]))
            name = f"{node['name']}/vector_bias_{k}"
            weights[name] = {"name": name, "data": np.full([channels], bias["data"], dtype=bias["data"].dtype)}
            nodes.append({"name": name, "op": "Const", "attr": {
                "value": {"tensor": {"dtype": "DT_FLOAT", "tensorShape": {"dim": [{"size": str(channels)}]}}},
                "dtype": {"type": "DT_FLOAT"}}})
            node["input"][k] = name
            patched += 1
    if patched:
        for path in {p for group in spec["weightsManifest"] for p in group["paths"]}:
            (model_json.parent / path).unlink()
        spec["weightsManifest"] = write_weights.write_weights([list(weights.values())], str(model_json.parent),
                                                              write_manifest=False)
        model_json.write_text(json.dumps(spec))
    return patched


def native_latency(model: Any, input_size: tuple[int, int], runs: int, max_seconds: float) -> dict[str, Any]:
    """Milliseconds per single-image inference in TensorFlow on this machine's CPU, compiled
    with ``tf.function`` (no Python-eager overhead): median, p90, the count of runs, and the threads
    TensorFlow ran an operation on (its default: every CPU this process may use)."""
    import numpy as np
    import tensorflow as tf

    x = tf.constant(np.random.default_rng(7).uniform(-1, 1, (1, *input_size, 3)).astype("float32"))
    call = tf.function(lambda t: model(t, training=False))
    call(x).numpy()  # trace and warm up
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < runs and (len(times) < 3 or time.perf_counter() - started < max_seconds):
        t0 = time.perf_counter()
        call(x).numpy()
        times.append((time.perf_counter() - t0) * 1000)
    return {**summarise(times), "threads": tf.config.threading.get_intra_op_parallelism_threads() or usable_cpus()}


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask: a container's --cpuset-cpus, taskset), which TensorFlow's
    default thread pool is sized to; ``os.cpu_count()`` counts the host's, where there is no mask to read."""
    import os

    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # macOS, Windows
        return os.cpu_count() or 1


def summarise(times: list[float]) -> dict[str, Any]:
    """Median, 90th percentile and count of a list of milliseconds."""
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {"median_ms": round(statistics.median(ordered), 2), "p90_ms": round(p90, 2), "runs": len(ordered)}
