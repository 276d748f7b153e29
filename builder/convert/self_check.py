"""The self-check: run the written files in TF.js and compare with Keras on the same input.

The TF.js side runs in Node with the exact runtime the site vendors (WASM backend),
loading model.json and every shard from disk. For quantized weights the reference
is the Keras model with the same dequantized weights, so the check still proves the
loader is exact; the quantization error against the original is reported separately.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from builder.model import preprocessing as prep
from builder.model.dtype_policy import recast
from builder.convert import quantization as quantize
from builder.site import vendor
from builder.site.render import TEMPLATES
from builder.errors import ModelError, ParityError
from builder.convert.keras_weights import KerasWeights
from builder.convert.topology import Weight

log = logging.getLogger(__name__)

TOLERANCE = 1e-4
SAMPLES = 4
SAMPLE_SEED = 20171004  # arXiv date of the MobileNet paper
RUNNER = Path(__file__).with_name("tfjs_runner.cjs")
TFJS_FIXES = TEMPLATES / "js" / "tfjs-fixes.js"  # the page runs the same fixes


@dataclass(frozen=True)
class Parity:
    max_abs_diff: float  # TF.js vs. the reference it must reproduce
    tolerance: float
    backend: str
    samples: int
    quantization_error: float | None  # TF.js (quantized) vs. the original float32 Keras model
    tfjs_ms: float
    # How much Keras's output varies across the test images. Near zero (e.g. random weights, where
    # every image gets the same answer) means the parity figure proves little.
    output_spread: float = 0.0
    # The reference's probabilities on sample_images(input_size): (SAMPLES, classes), rounded to 1e-8.
    # Not part of report.json's "parity": build.py records it as the report's "reference".
    reference: tuple[tuple[float, ...], ...] = field(default=(), repr=False)
    # The model's own float32 noise: how far Keras's output moves when every input value moves by one
    # float32 step (np.nextafter). TF.js computes in another order, so a model this sensitive differs by
    # about as much from any correct conversion.
    own_noise: float = 0.0
    limit: float = 0.0  # the bound max_abs_diff was held to: tolerance, or NOISE_FACTOR * own_noise if larger
    # Computed only when max_abs_diff exceeds the limit: the model again in float64 (the exact answer, to
    # float32's eyes), and how far Keras's float32 output and TF.js's are from it. When TF.js is as close to
    # it as Keras itself, the difference is the model's own float32 error, not the conversion's.
    keras_float64_error: float | None = None
    tfjs_float64_error: float | None = None

    @property
    def informative(self) -> bool:
        return self.output_spread > 1e-3


def sample_images(size: tuple[int, int], count: int = SAMPLES) -> np.ndarray:
    """Deterministic RGB images in 0..255: smooth gradients plus noise, so activations are varied."""
    h, w = size
    rng = np.random.default_rng(SAMPLE_SEED)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    images = []
    for i in range(count):
        phase = rng.uniform(0, 2 * np.pi, 3)
        freq = rng.uniform(1, 6, 3)
        base = np.stack([127.5 + 100 * np.sin(freq[c] * (xx / w + (i + 1) * yy / h) * np.pi + phase[c])
                         for c in range(3)], axis=-1)
        images.append(np.clip(base + rng.normal(0, 20, base.shape), 0, 255))
    return np.round(np.stack(images)).astype(np.float32)


# A model whose output moves by e under a one-step input change may differ from Keras by a few e under
# any correct float32 conversion; a conversion error (a wrong activation, a misplaced weight) is orders
# of magnitude larger than that on any model this check passes.
NOISE_FACTOR = 4.0


def check(model: Any, model_json: Path, *, input_size: tuple[int, int], preprocess: str, weights: list[Weight],
          dtypes: dict[str, str], tolerance: float = TOLERANCE, backend: str = "wasm") -> Parity:
    """Compare TF.js (from ``model_json``) with Keras; raise :class:`ParityError` beyond the limit.

    The limit is ``tolerance``, unless the model's own float32 noise (:attr:`Parity.own_noise`) times
    :data:`NOISE_FACTOR` is larger: then the model, not the conversion, is what cannot promise
    ``tolerance``, and the limit is that (reported, and said in the build summary).
    """
    x = prep.apply(sample_images(input_size), preprocess)
    expected_original = _keras_predict(model, x)
    expected = _keras_predict_with(model, x, weights, dtypes) if dtypes else expected_original
    got, ms = run_tfjs(model_json, x, backend)
    if got.shape != expected.shape:
        raise ParityError(f"{model_json}: TF.js output shape {got.shape} differs from Keras {expected.shape}")
    diff = float(np.max(np.abs(got - expected)))
    noise = (own_noise(lambda batch: _keras_predict(model, batch), x, expected_original) if not dtypes else
             own_noise(lambda batch: _keras_predict_with(model, batch, weights, dtypes), x, expected))
    limit = max(tolerance, NOISE_FACTOR * noise)
    keras64 = tfjs64 = None
    if np.isfinite(diff) and diff > limit and not dtypes:
        exact = float64_reference(model, x)
        if exact is not None:
            keras64 = float(np.max(np.abs(expected.reshape(exact.shape) - exact)))
            tfjs64 = float(np.max(np.abs(got.reshape(exact.shape) - exact)))
            log.info("self-check: |TF.js - Keras| %.3g; from float64: Keras %.3g, TF.js %.3g", diff, keras64, tfjs64)
            if tfjs64 <= max(tolerance, NOISE_FACTOR * keras64):
                limit = diff  # TF.js is as right as Keras: both carry the model's own float32 error
    if not np.isfinite(diff) or diff > limit:
        because = "" if limit == tolerance else (
            f", the limit for this model, whose own output moves by {noise:.2g} when its input moves by one "
            "float32 step")
        raise ParityError(f"{model_json}: TF.js ({backend}) differs from Keras by {diff:.3g} (> {limit:.3g}{because}); "
                          "the site would give wrong predictions")
    qerr = float(np.max(np.abs(got - expected_original))) if dtypes else None
    spread = float(np.max(np.ptp(expected, axis=0)))
    reference = tuple(tuple(round(float(p), 8) for p in row) for row in expected.reshape(len(x), -1))
    return Parity(diff, tolerance, backend, len(x), qerr, ms, spread, reference, own_noise=noise, limit=limit,
                  keras_float64_error=keras64, tfjs_float64_error=tfjs64)


def float64_reference(model: Any, x: np.ndarray) -> np.ndarray | None:
    """``model``'s output on ``x`` computed in float64 (the same architecture, every layer's dtype
    float64, the same weights); None when the model cannot be rebuilt so (a layer without float64)."""
    try:
        wide = recast(model, "float64")
        return np.asarray(wide(np.asarray(x, np.float64), training=False), np.float64)
    except Exception as e:  # noqa: BLE001 - any Keras failure means: no float64 opinion
        log.info("self-check: no float64 reference (%s)", e)
        return None


def own_noise(predict: Any, x: np.ndarray, y: np.ndarray) -> float:
    """max |predict(x') - y| with ``y`` = predict(x) and x' = ``x`` with every value moved one float32 step
    up: the float32 rounding noise of the model itself, which no conversion can be asked to beat."""
    stepped = np.nextafter(np.asarray(x, np.float32), np.float32(np.inf))
    return float(np.max(np.abs(np.asarray(predict(stepped), np.float32).reshape(y.shape) - y)))


def reference_record(parity: Parity, input_size: tuple[int, int]) -> dict[str, Any]:
    """report.json's ``reference``: what ``browsernet verify`` feeds the live page and what it must answer.

    ``images``: how to recreate the inputs exactly, ``sample_images(size, count)`` (uint8 RGB, at the
    model's input size, so the page's resize leaves them as they are); ``probabilities``: Keras's
    output on them, one list of ``classes`` floats per image, from the model with the weights as the
    site stores them (quantized weights dequantized), which the written files reproduced within
    ``tolerance`` on ``backend`` in the self-check.
    """
    return {
        "images": {"generator": "sample_images", "seed": SAMPLE_SEED, "count": parity.samples,
                   "size": [int(input_size[0]), int(input_size[1])]},
        "probabilities": [list(row) for row in parity.reference],
        "tolerance": parity.tolerance,
        "backend": parity.backend,
    }


def run_tfjs(model_json: Path, x: np.ndarray, backend: str = "wasm") -> tuple[np.ndarray, float]:
    """Run the TF.js model on ``x`` in Node; return ``(output, milliseconds)``."""
    runtime = vendor.locate()
    with tempfile.TemporaryDirectory(prefix="browsernet-parity-") as tmp:
        inp, out = Path(tmp) / "x.f32", Path(tmp) / "y.f32"
        np.ascontiguousarray(x, np.float32).tofile(inp)
        env = dict(os.environ, BROWSERNET_TFJS_FIXES=str(TFJS_FIXES))
        if runtime.node_modules is None:  # an installed wheel: RUNNER bundled with TF.js (vendor.stage)
            runner = runtime.assets / vendor.SELF_CHECK_SCRIPT
        else:
            runner = RUNNER
            env["NODE_PATH"] = str(runtime.node_modules)
        cmd = [vendor.node_binary(), str(runner), str(model_json), str(inp), ",".join(map(str, x.shape)), str(out),
               backend]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise ModelError(f"{model_json}: could not run TF.js for the self-check: {e}") from e
        if proc.returncode != 0:
            reason = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise ModelError(f"{model_json}: TF.js cannot load or run the converted model: {reason}")
        meta = json.loads(proc.stdout.strip().splitlines()[-1])
        y = np.fromfile(out, np.float32).reshape(meta["outputShape"])
    return y, float(meta["ms"])


def _keras_predict(model: Any, x: np.ndarray) -> np.ndarray:
    return np.asarray(model(x, training=False), np.float32)


def _keras_predict_with(model: Any, x: np.ndarray, weights: list[Weight], dtypes: dict[str, str]) -> np.ndarray:
    """Keras's output with the weights the browser will actually see (quantized, then dequantized), put back
    into the Keras layers by :class:`~builder.convert.keras_weights.KerasWeights`; the model is left as it was."""
    keras_weights = KerasWeights(weights)
    try:
        keras_weights.load(lambda w: quantize.roundtrip(w.data, dtypes[w.name]) if w.name in dtypes else w.data)
        return _keras_predict(model, x)
    finally:
        keras_weights.restore()
