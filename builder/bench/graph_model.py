"""The baselines ``browsernet bench`` compares a site against: the same Keras model
converted to a TF.js *graph* model (what a user would otherwise pick), and the model
running natively in TensorFlow on this machine."""

from __future__ import annotations

import logging
import statistics
import time
from pathlib import Path
from typing import Any

from builder.errors import BrowsernetError

log = logging.getLogger(__name__)


def graph_model(model: Any, out_dir: Path) -> Path:
    """Convert ``model`` to a TF.js graph model (tensorflowjs's converter, which fuses
    Conv+BN+ReLU6) in ``out_dir``; return the path of its model.json."""
    from tensorflowjs.converters import tf_saved_model_conversion_v2

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
            tf_saved_model_conversion_v2.convert_tf_saved_model(str(saved), str(graph))
    except Exception as e:  # the converter raises bare Exceptions and ValueErrors alike
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise BrowsernetError(f"could not convert the model to a TF.js graph model for the baseline: {first}") from e
    return graph / "model.json"


def native_latency(model: Any, input_size: tuple[int, int], runs: int, max_seconds: float) -> dict[str, Any]:
    """Milliseconds per single-image inference in TensorFlow on this machine's CPU, compiled
    with ``tf.function`` (no Python-eager overhead): median, p90 and the count of runs."""
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
    return summarise(times)


def summarise(times: list[float]) -> dict[str, Any]:
    """Median, 90th percentile and count of a list of milliseconds."""
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {"median_ms": round(statistics.median(ordered), 2), "p90_ms": round(p90, 2), "runs": len(ordered)}
