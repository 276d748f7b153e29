import numpy as np
import pytest

from builder.convert import quantization as quantize
from builder.errors import QuantizeError

NAMES = ["Conv1/kernel", "bn_Conv1/gamma", "block_1_depthwise/depthwise_kernel", "dense/kernel", "dense/bias"]


def test_parse_all_and_patterns():
    assert quantize.parse([]) == {}
    assert quantize.parse(["uint8"]) == {"uint8": True}
    assert quantize.parse(["float16=*/kernel, dense/*", "uint8"]) == {"float16": ["*/kernel", "dense/*"], "uint8": True}
    assert quantize.parse(["uint16=a", "uint16=b"]) == {"uint16": ["a", "b"]}


@pytest.mark.parametrize("spec, message", [
    (["int4"], r"unknown dtype 'int4'; choose from float16, uint16, uint8 \(or auto, or none for float32\)"),
    (["uint8", "float16"], "only one dtype may apply to all weights"),
    (["uint8="], "no weight patterns"),
    (["uint8", "uint8=x"], "already applies to all weights"),
])
def test_parse_rejects(spec, message):
    with pytest.raises(QuantizeError, match=message):
        quantize.parse(spec)


def test_assign_patterns_then_fallthrough():
    chosen = quantize.assign(NAMES, quantize.parse(["uint8=*/kernel", "float16"]))
    assert chosen == {"Conv1/kernel": "uint8", "dense/kernel": "uint8", "bn_Conv1/gamma": "float16",
                      "block_1_depthwise/depthwise_kernel": "float16", "dense/bias": "float16"}
    assert quantize.assign(NAMES, quantize.parse(["uint16=dense/*"])) == {"dense/kernel": "uint16",
                                                                         "dense/bias": "uint16"}


def test_assign_conflict_and_no_match_are_errors():
    with pytest.raises(QuantizeError, match="matches both"):
        quantize.assign(NAMES, quantize.parse(["uint8=dense/*", "float16=*/bias"]))
    with pytest.raises(QuantizeError, match="matches no weight"):
        quantize.assign(NAMES, quantize.parse(["uint8=nothing*"]))


def test_describe():
    assert quantize.describe({}) == "none"
    assert quantize.describe(quantize.parse(["uint8=*/kernel", "float16"])) == "uint8=*/kernel; float16"


@pytest.mark.parametrize("dtype, bound", [("float16", 1e-3), ("uint16", 1e-4), ("uint8", 2e-2)])
def test_roundtrip_error_is_bounded_by_the_dtype(dtype, bound):
    data = np.random.default_rng(0).normal(0, 1, (64, 64)).astype(np.float32)
    back = quantize.roundtrip(data, dtype)
    assert back.dtype == np.float32 and back.shape == data.shape
    rel = np.max(np.abs(back - data)) / (data.max() - data.min())
    assert 0 < rel < bound


def test_dtype_of_one_name_never_raises():
    qmap = quantize.parse(["uint8=*/depthwise_kernel,head/*", "float16"])
    assert quantize.dtype_of("block_1_depthwise/depthwise_kernel", qmap) == "uint8"
    assert quantize.dtype_of("head/bias", qmap) == "uint8"
    assert quantize.dtype_of("Conv1/kernel", qmap) == "float16"
    assert quantize.dtype_of("Conv1/kernel", quantize.parse(["uint8=*/bias"])) is None
    assert quantize.dtype_of("Conv1/kernel", {}) is None


def test_auto_must_stand_alone():
    assert quantize.is_auto(["auto"]) and not quantize.is_auto(["uint8"]) and not quantize.is_auto([])
    with pytest.raises(QuantizeError, match="cannot be combined"):
        quantize.is_auto(["auto", "uint8=*/kernel"])


def test_from_dtypes_round_trips_through_assign():
    dtypes = {"a/kernel": "uint8", "b[1]/kernel": "float16", "c/bias": "uint8", "d/gamma": "uint16"}
    qmap = quantize.from_dtypes(dtypes)
    assert qmap["uint8"] is True  # the commonest dtype is the catch-all
    assert quantize.assign(list(dtypes), qmap) == dtypes  # '[' in a name is escaped, not a glob class
    with_f32 = {**dtypes, "e/kernel": "float32"}
    assert quantize.assign(list(with_f32), quantize.from_dtypes(with_f32)) == dtypes  # float32 stays absent
    assert quantize.from_dtypes({"x": "float32"}) == {}


def test_weight_bytes():
    sizes = {"a": 10, "b": 3, "c": 5}
    assert quantize.weight_bytes(sizes, {}) == 72
    assert quantize.weight_bytes(sizes, {"a": "uint8", "b": "float16", "c": "uint16"}) == 10 + 6 + 10
