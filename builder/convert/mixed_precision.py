"""``--quantize auto``: the smallest per-weight dtype map that keeps the model's answers.

A map is acceptable when, on the calibration images, the quantized model's top-1 class
agrees with the float32 model's on at least ``agreement`` of them and no probability
moves by more than ``max_prob_error``. Quantized models are evaluated in Keras with the
weights the browser will reconstruct (:func:`builder.quantize.roundtrip`) put in place,
so the figures are the site's own; the build's TF.js self-check then proves the files
reproduce them.

The search is greedy and deterministic:

1. Every weight gets three levels: uint8 (1 byte), 16 bits (uint16 or float16, whichever
   reconstructs that tensor more exactly) and float32. A kernel a BatchNorm folded into is
   channel-scaled at uint8 (:mod:`builder.optimize`), and measured so.
2. All-uint8 is tried first. If it fails, each layer's sensitivity is measured: the
   divergence from float32 when only that layer's weights are uint8 (on a subset).
3. Layers are promoted to 16 bits in order of sensitivity per byte; a bisection finds
   the shortest prefix that passes; then the biggest promoted layers are tried back at
   uint8, one by one, keeping each demotion that still passes.
4. Should even all-16-bit fail, the same search runs from 16 bits to float32.
5. float32 itself is measured too: the weights as written (BatchNorms folded into kernels) round
   differently from the model's own, which can flip a near tie. Bounds that not even float32
   meets keep every weight float32, with a warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from builder.convert import quantization as quantize
from builder.errors import QuantizeError
from builder.convert.keras_weights import KerasWeights
from builder.convert.topology import Weight

if TYPE_CHECKING:
    from builder.convert.layers_model import Plan

log = logging.getLogger(__name__)

AGREEMENT = 0.99
MAX_PROB_ERROR = 0.1
SENSITIVITY_IMAGES = 16  # the per-layer sensitivity pass runs on this many calibration images
DEMOTION_TRIES = 8  # how many of the biggest promoted layers step 3 tries back at uint8
BATCH = 50
PLAIN = ("float16", "uint16", "uint8")


@dataclass(frozen=True)
class Measure:
    """How a dtype map does on the calibration set, against float32."""

    agreement: float  # fraction of images whose top-1 class is float32's
    max_prob_error: float  # max over images and classes of |p_quantized - p_float32|
    weight_bytes: int  # bytes of weight data (shards), without model.json
    accuracy: float | None = None  # top-1 accuracy against the images' true labels, when they are known

    def passes(self, agreement: float, max_prob_error: float) -> bool:
        return self.agreement >= agreement and self.max_prob_error <= max_prob_error


@dataclass(frozen=True)
class Choice:
    """The chosen map and what it and the plain alternatives measure."""

    dtypes: dict[str, str]  # every weight name -> stored dtype (float32 included)
    measure: Measure
    plain: dict[str, Measure]  # "float32", "float16", "uint16", "uint8": every weight stored so
    agreement: float  # the bounds it was chosen under
    max_prob_error: float
    images: int
    evaluations: int  # calibration-set forward passes the search made (subset ones included)
    counts: dict[str, int] = field(default_factory=dict)  # dtype -> tensors


def search(model: Any, plan: Plan, x: np.ndarray, *, agreement: float = AGREEMENT,
           max_prob_error: float = MAX_PROB_ERROR) -> Choice:
    """Choose a dtype per weight of ``plan`` (``model`` read by :func:`builder.convert.layers_model.plan`)
    for the preprocessed calibration batch ``x`` (N, height, width, 3).

    The plan's weights carry their TF.js names and the Keras layers that hold them; a kernel the writer
    stores channel-scaled in uint8 (:attr:`~builder.convert.layers_model.Plan.channel_axes`) is measured so.
    The choice rests on agreement with float32 only. (A trained model's build calibrates on its validation
    and training photos and measures the choice against the true classes of its test photos apart, with
    :func:`measure_maps`, so that no test photo chooses anything.)
    The model's weights are restored before returning, whatever happens.
    """
    if not 0 < agreement <= 1:
        raise QuantizeError(f"--agreement {agreement:g}: must be in (0, 1]")
    if not 0 < max_prob_error <= 1:
        raise QuantizeError(f"--max-prob-error {max_prob_error:g}: must be in (0, 1]")
    ev = _Evaluator(model, plan.weights, x, None, plan.channel_axes)
    try:
        return _search(ev, agreement, max_prob_error)
    finally:
        ev.restore()


def measure_maps(model: Any, plan: Plan, x: np.ndarray, labels: np.ndarray,
                 maps: dict[str, dict[str, str]]) -> dict[str, Measure]:
    """How each dtype map of ``maps`` (a name -> weight name -> dtype; a weight left out, or one no Keras layer
    holds, such as a lowered Normalization's, stays float32, as the search measures it) does on
    the preprocessed images ``x`` (N, height, width, 3) whose true class indices are ``labels`` (N,): against
    float32 and against the truth. For a trained model's test photos, measured once the search has chosen its
    map on other photos. The model's weights are restored before returning, whatever happens."""
    ev = _Evaluator(model, plan.weights, x, labels, plan.channel_axes)
    try:
        return {name: ev.measure({w.name: dtypes.get(w.name, "float32") for w in ev.weights})
                for name, dtypes in maps.items()}
    finally:
        ev.restore()


def _search(ev: "_Evaluator", agreement: float, bound: float) -> Choice:
    names = [w.name for w in ev.weights]
    if not names:
        raise QuantizeError("--quantize auto: the model has no weights to quantize")
    f32 = {n: "float32" for n in names}
    u8 = {n: "uint8" for n in names}
    b16 = {n: ev.best16(n) for n in names}
    # float32 too is measured, not assumed: the weights as written (BatchNorms folded into kernels) round
    # differently from the model's own, so a bound tighter than that rounding cannot be met at all.
    plain = {"float32": ev.measure(f32)}
    for dtype in PLAIN:
        plain[dtype] = ev.measure({n: dtype for n in names})
    ok = lambda m: m.passes(agreement, bound)  # noqa: E731
    if not ok(plain["float32"]):  # nothing meets the bounds: float32 is the closest there is, and it is said so
        f = plain["float32"]
        log.warning("--quantize auto: no dtype map meets the bounds (top-1 agreement %g, max prob error %g): even "
                    "every weight in float32 gives %.1f%% and %.2g on the %d calibration images (the float32 "
                    "rounding of the folded layers, near ties between two classes); every weight stays float32",
                    agreement, bound, 100 * f.agreement, f.max_prob_error, len(ev.x))
        return Choice(f32, f, plain, agreement, bound, len(ev.x), ev.evaluations, {"float32": len(names)})
    log.info("plain uint8: top-1 agreement %.1f%%", 100 * plain["uint8"].agreement)
    if ok(plain["uint8"]):
        chosen = u8
    else:
        m16 = plain[b16[names[0]]] if len(set(b16.values())) == 1 else ev.measure(b16)
        chosen = _promote(ev, u8, b16, ok) if ok(m16) else _promote(ev, b16, f32, ok)
    measure = ev.measure(chosen)
    counts: dict[str, int] = {}
    for dtype in chosen.values():
        counts[dtype] = counts.get(dtype, 0) + 1
    return Choice(chosen, measure, plain, agreement, bound, len(ev.x), ev.evaluations, counts)


def _promote(ev: "_Evaluator", low: dict[str, str], high: dict[str, str],
             ok: Callable[[Measure], bool]) -> dict[str, str]:
    """The cheapest map between ``low`` and ``high`` (which passes) that passes, layer by layer."""
    units = [u for u in ev.units if any(low[n] != high[n] for n in u)]
    extra = {u: ev.bytes({n: high[n] for n in u}) - ev.bytes({n: low[n] for n in u}) for u in units}
    log.info("measuring the sensitivity of %d layers", len(units))
    damage = {u: ev.divergence({**{n: "float32" for n in low}, **{n: low[n] for n in u}}) for u in units}
    # Most damage removed per byte spent first; names break ties, so the order is deterministic.
    order = sorted(units, key=lambda u: (-damage[u] / max(extra[u], 1), u))

    def with_prefix(k: int) -> dict[str, str]:
        promoted = {n for u in order[:k] for n in u}
        return {n: high[n] if n in promoted else low[n] for n in low}

    lo, hi = 0, len(order)  # with_prefix(lo) fails, with_prefix(hi) == high passes
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(ev.measure(with_prefix(mid))):
            hi = mid
        else:
            lo = mid
    log.info("%d of %d layers promoted; trying the biggest back", hi, len(order))
    chosen = with_prefix(hi)
    for unit in sorted(order[:hi], key=lambda u: (-extra[u], u))[:DEMOTION_TRIES]:
        trial = {**chosen, **{n: low[n] for n in unit}}
        if ok(ev.measure(trial)):
            chosen = trial
    return chosen


class _Evaluator:
    """Runs the Keras model on the calibration batch with any dtype map's weights in place."""

    def __init__(self, model: Any, weights: list[Weight], x: np.ndarray, labels: np.ndarray | None,
                 channel_axes: dict[str, tuple[int, ...]]) -> None:
        import tensorflow as tf

        self._channel_axes = channel_axes
        self._keras = KerasWeights(weights)
        # The weights a Keras layer holds (KerasWeights keeps those): only they can be measured quantized, so only
        # they are searched (as the writer does, the others, e.g. a lowered Normalization's, stay float32 and are
        # only counted).
        self.weights = self._keras.weights
        self.sizes = {w.name: int(w.data.size) for w in self.weights}
        self._fixed_bytes = 4 * (sum(int(w.data.size) for w in weights) - sum(self.sizes.values()))
        self.x = np.asarray(x, np.float32)
        self.labels = None if labels is None else np.asarray(labels)
        self.evaluations = 0
        # One trace for every batch size (the last batch, the sensitivity subset): a trace costs as much as
        # dozens of forward passes of a small model.
        self._predict = tf.function(lambda batch: model(batch, training=False),
                                    input_signature=[tf.TensorSpec((None, *np.shape(x)[1:]), tf.float32)])
        self.reference = self._run(self.x)  # the original float32 model: what agreement is measured against
        self._keras.load(lambda w: w.data)  # the float32 weights as written (folded, pinned)
        self._by_name = {w.name: w for w in self.weights}
        self._cache: dict[tuple[str, str], np.ndarray] = {}
        self._current: dict[str, str] = {w.name: "float32" for w in self.weights}
        # One unit per Keras layer: a convolution with its bias, a BatchNorm's four vectors.
        groups: dict[int, list[str]] = {}
        for w in self._keras.weights:
            groups.setdefault(self._keras.layer_of(w), []).append(w.name)
        self.units = [tuple(names) for names in groups.values()]
        step = max(1, len(self.x) // SENSITIVITY_IMAGES)
        self._subset = np.arange(0, len(self.x), step)[:SENSITIVITY_IMAGES]

    def bytes(self, dtypes: dict[str, str]) -> int:
        """Weight bytes of the model written with ``dtypes``, as :func:`builder.build` counts them: a uint8
        kernel written channel-scaled (:mod:`builder.convert.per_channel`) brings a BatchNormalization whose
        scales, mean and variance (one float32 per output channel each) are written too, and so are the float32
        weights no Keras layer holds."""
        scales = sum(3 * 4 * self._channels(n) for n, d in dtypes.items() if d == "uint8" and n in self._channel_axes)
        return quantize.weight_bytes({n: self.sizes[n] for n in dtypes}, dtypes) + scales + self._fixed_bytes

    def _channels(self, name: str) -> int:
        """Output channels of a kernel that can be channel-scaled: the elements its scales do not reduce over."""
        shape = self._by_name[name].data.shape
        return int(np.prod([n for axis, n in enumerate(shape) if axis not in self._channel_axes[name]]))

    def best16(self, name: str) -> str:
        """uint16 or float16: whichever reconstructs this tensor with the smaller worst-case error."""
        data = self._by_name[name].data
        errors = {d: float(np.max(np.abs(self._value(name, d) - data))) if data.size else 0.0
                  for d in ("uint16", "float16")}
        return "float16" if errors["float16"] < errors["uint16"] else "uint16"

    def measure(self, dtypes: dict[str, str]) -> Measure:
        self._apply(dtypes)
        p = self._run(self.x)
        agree = float(np.mean(np.argmax(p, -1) == np.argmax(self.reference, -1)))
        err = float(np.max(np.abs(p - self.reference)))
        return Measure(agree, err if np.isfinite(err) else float("inf"), self.bytes(dtypes), self.accuracy(p))

    def accuracy(self, p: np.ndarray) -> float | None:
        """Top-1 accuracy of the probabilities ``p`` against the true labels (None when unknown)."""
        return None if self.labels is None else float(np.mean(np.argmax(p, -1) == self.labels))

    def divergence(self, dtypes: dict[str, str]) -> float:
        """Mean KL(float32 || quantized) on the sensitivity subset."""
        self._apply(dtypes)
        ref = np.clip(self.reference[self._subset], 1e-7, 1.0)
        p = np.clip(self._run(self.x[self._subset]), 1e-7, 1.0)
        kl = float(np.mean(np.sum(ref * np.log(ref / p), axis=-1)))
        return kl if np.isfinite(kl) else float("inf")

    def restore(self) -> None:
        self._keras.restore()

    def _value(self, name: str, dtype: str) -> np.ndarray:
        if dtype == "float32":
            return self._by_name[name].data
        key = (name, dtype)
        if key not in self._cache:
            data, axes = self._by_name[name].data, self._channel_axes.get(name)
            # A folded kernel stored as uint8 is written channel-scaled (builder.convert.per_channel).
            self._cache[key] = (quantize.scaled_roundtrip(data, axes, dtype)
                                if dtype == "uint8" and axes else quantize.roundtrip(data, dtype))
        return self._cache[key]

    def _apply(self, dtypes: dict[str, str]) -> None:
        dtypes = {**{n: "float32" for n in self._current}, **dtypes}
        changed = {n for n, d in dtypes.items() if self._current[n] != d}
        self._keras.load_layers({self._keras.layer_of(self._by_name[n]) for n in changed},
                                lambda w: self._value(w.name, dtypes.get(w.name, "float32")))
        self._current.update(dtypes)

    def _run(self, x: np.ndarray) -> np.ndarray:
        self.evaluations += 1
        out = [np.asarray(self._predict(x[i:i + BATCH]), np.float32) for i in range(0, len(x), BATCH)]
        return np.concatenate(out).reshape(len(x), -1)
