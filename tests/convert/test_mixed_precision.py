"""The --quantize auto search on a small real model, checked independently of the search's own evaluator."""

import numpy as np
import pytest

from builder.convert import mixed_precision as autoquant
from builder.convert import calibration as calibrate
from builder.convert import layers_model as convert
from builder.convert import self_check as parity
from builder.convert import quantization as quantize
from builder.errors import QuantizeError
from builder.model.preprocessing import apply
from tests import helpers

SIZE = 64
# The search's properties hold on any calibration set: half the built-in set's photos keeps each of the
# module's five searches to two forward batches per measured map (the built-in count is the build's, tested there).
IMAGES = 100
# The search measures a channel-scaled uint8 kernel with its scales multiplied into the kernel; the written
# model multiplies them after the convolution, in a BatchNorm. Same numbers but for float32 rounding, which
# the network amplifies: allowed up to the self-check's own bound.
ROUNDING = 1e-4


@pytest.fixture(scope="module")
def setup():
    model = helpers.fine_tuned(SIZE, classes=10)
    plan = convert.plan(model, "fine_tuned")
    x = apply(calibrate.builtin((SIZE, SIZE), count=IMAGES).images, "mobilenet")
    return model, plan, x


@pytest.fixture(scope="module")
def choice(setup):
    model, plan, x = setup
    before = [w.copy() for w in model.get_weights()]
    result = autoquant.search(model, plan, x)
    after = model.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, after))  # the model is left as it was
    return result


def _written(model, x, dtypes, tmp_path):
    """The model written with ``dtypes`` (channel-scaled uint8 kernels included), run in Keras with the
    browser's dequantized weights (the self-check's reference), against float32: agreement, max prob error,
    and its weight bytes as the build reports them."""
    reference = np.asarray(model(x, training=False))
    written = convert.convert(model, "fine_tuned", tmp_path, qmap=quantize.from_dtypes(dtypes), shard_size=4 << 20)
    quantized = parity._keras_predict_with(model, x, written.weights, written.dtypes)
    agreement = float(np.mean(reference.argmax(-1) == quantized.argmax(-1)))
    weight_bytes = quantize.weight_bytes({w.name: w.data.size for w in written.weights}, written.dtypes)
    return agreement, float(np.abs(reference - quantized).max()), weight_bytes


def _agreement_and_error(model, x, dtypes, tmp_path):
    return _written(model, x, dtypes, tmp_path)[:2]


def test_chosen_map_meets_the_bounds_on_the_calibration_set(setup, choice, tmp_path):
    model, plan, x = setup
    assert set(choice.dtypes) == {w.name for w in plan.weights}
    agreement, error, weight_bytes = _written(model, x, choice.dtypes, tmp_path)
    assert agreement >= autoquant.AGREEMENT and error <= autoquant.MAX_PROB_ERROR
    assert weight_bytes == choice.measure.weight_bytes  # the per-channel scales counted, as the build counts them
    assert agreement == pytest.approx(choice.measure.agreement)
    assert error == pytest.approx(choice.measure.max_prob_error, abs=ROUNDING)
    assert choice.images == len(x) == IMAGES


def test_chosen_map_meets_the_bounds_and_beats_every_plain_map_that_does(setup, choice):
    _, plan, _ = setup
    sizes = {w.name: w.data.size for w in plan.weights}
    assert choice.measure.weight_bytes >= quantize.weight_bytes(sizes, choice.dtypes)  # + per-channel scales
    assert choice.measure.agreement >= choice.agreement and choice.measure.max_prob_error <= choice.max_prob_error
    assert choice.plain["float32"].weight_bytes == 4 * sum(sizes.values())
    assert sum(choice.counts.values()) == len(plan.weights)
    passing = [m for m in choice.plain.values()
               if m.agreement >= choice.agreement and m.max_prob_error <= choice.max_prob_error]
    assert passing and all(choice.measure.weight_bytes <= m.weight_bytes for m in passing)


def test_looser_bounds_buy_uint8_weights(setup, choice):
    model, plan, x = setup
    loose = autoquant.search(model, plan, x, agreement=0.9, max_prob_error=0.2)
    assert loose.counts.get("uint8", 0) > 0 and loose.measure.weight_bytes < choice.measure.weight_bytes


def test_plain_figures_are_what_plain_maps_measure(setup, choice, tmp_path):
    model, plan, x = setup
    for dtype in ("uint8", "float16"):
        agreement, error, weight_bytes = _written(model, x, {w.name: dtype for w in plan.weights}, tmp_path / dtype)
        assert weight_bytes == choice.plain[dtype].weight_bytes
        assert agreement == pytest.approx(choice.plain[dtype].agreement)
        assert error == pytest.approx(choice.plain[dtype].max_prob_error, abs=ROUNDING)
    # Plain uint8 is what auto exists for: it is worse than the map auto chose.
    assert choice.plain["uint8"].agreement < choice.measure.agreement or \
        choice.plain["uint8"].max_prob_error > choice.measure.max_prob_error


def test_search_is_deterministic(setup, choice):
    model, plan, x = setup
    assert autoquant.search(model, plan, x).dtypes == choice.dtypes


def test_stricter_bounds_cost_bytes_and_still_hold(setup, choice, tmp_path):
    model, plan, x = setup
    f32 = choice.plain["float32"]  # float32 itself flips a near tie or two: as strict as the model allows
    strict = autoquant.search(model, plan, x, agreement=f32.agreement, max_prob_error=0.01)
    agreement, error = _agreement_and_error(model, x, strict.dtypes, tmp_path)
    assert agreement >= f32.agreement and error <= 0.01
    assert strict.measure.weight_bytes >= choice.measure.weight_bytes


def test_bounds_that_not_even_float32_meets_keep_float32_and_say_so(setup, choice, caplog):
    """The weights as written (BatchNorms folded) round differently from the model's own: float32 is measured,
    not assumed, and bounds tighter than its own error keep every weight float32, with a warning."""
    model, plan, x = setup
    f32 = choice.plain["float32"]
    assert 0 < f32.max_prob_error < 1e-4 and f32.agreement >= autoquant.AGREEMENT
    with caplog.at_level("WARNING"):
        tight = autoquant.search(model, plan, x, max_prob_error=f32.max_prob_error / 2)
    assert set(tight.dtypes.values()) == {"float32"} and tight.measure == f32
    assert "even every weight in float32 gives" in caplog.text


def test_bounds_are_checked(setup):
    model, plan, x = setup
    with pytest.raises(QuantizeError, match="--agreement 1.5"):
        autoquant.search(model, plan, x, agreement=1.5)
    with pytest.raises(QuantizeError, match="--max-prob-error 0"):
        autoquant.search(model, plan, x, max_prob_error=0)


def test_a_normalization_layer_in_front_stays_float32_and_the_rest_is_searched(tmp_path):
    """A Normalization layer is written as a layer browsernet makes (a 1x1 DepthwiseConv2D), whose weights no
    Keras layer holds: the search leaves them float32 (it could not measure them quantized), and the map it
    chooses is one the writer takes, with the bytes it writes."""
    size = 64
    inner = helpers.fine_tuned(size, classes=10)
    inputs = helpers.keras.Input((size, size, 3))
    normalized = helpers.keras.layers.Normalization(mean=127.5, variance=127.5 ** 2, name="normalization")(inputs)
    model = helpers.keras.Model(inputs, inner(normalized), name="normalized")
    plan = convert.plan(model, "normalized")
    fixed = [w.name for w in plan.weights if w.origin.layer is None]
    assert fixed and all(name.startswith("normalization") for name in fixed)
    x = calibrate.builtin((size, size), count=IMAGES).images.astype(np.float32)  # raw pixels: the model scales them itself
    strict = autoquant.search(model, plan, x, agreement=0.9, max_prob_error=1e-3)
    # Bounds plain uint8 misses, so that the per-layer search ran, and found weights to quantize.
    assert not strict.plain["uint8"].passes(0.9, 1e-3) and set(strict.dtypes.values()) - {"float32"}
    assert not set(fixed) & set(strict.dtypes)
    written = convert.write(plan, tmp_path, qmap=quantize.from_dtypes(strict.dtypes), shard_size=4 << 20)
    assert not set(fixed) & set(written.dtypes)
    sizes = {w.name: w.data.size for w in written.weights}
    assert quantize.weight_bytes(sizes, written.dtypes) == strict.measure.weight_bytes
    with pytest.raises(QuantizeError, match="matches only weights that stay float32"):
        convert.write(plan, tmp_path / "explicit", qmap=quantize.parse(["uint8=normalization/*"]), shard_size=4 << 20)
