"""The self-check tells conversion errors from the model's own float32 error, and still catches every real one."""

from __future__ import annotations

import numpy as np
import pytest

from builder.convert import self_check
from builder.errors import ParityError
from tests import helpers
from tests.convert.test_lowering import write_tfjs

keras = helpers.keras
L = keras.layers
SIZE = 32


def ill_conditioned(gain: float = 20.0, nudge: float = 1.0) -> keras.Model:
    """A model whose float32 arithmetic loses most digits: its input is offset by 10,000, a convolution
    cancels the offset exactly in real numbers but not in float32, and the head amplifies what is left.
    Two correct float32 implementations (Keras, TF.js) differ on it by more than 1e-4."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((SIZE, SIZE, 3))
    conv, dense = L.Conv2D(8, 3), L.Dense(4, activation="softmax")
    outputs = dense(L.GlobalAveragePooling2D()(conv(L.Rescaling(1.0, offset=10000.0)(inputs))))
    model = keras.Model(inputs, outputs)
    kernel, _ = conv.get_weights()
    conv.set_weights([kernel, (-10000.0 * kernel.sum(axis=(0, 1, 2))).astype("float32")])
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel * gain * nudge, bias])
    return model


def test_model_noise_is_not_a_conversion_error(tmp_path):
    model = ill_conditioned()
    path = write_tfjs(model, tmp_path / "right", optimize=True)
    parity = self_check.check(model, path, input_size=(SIZE, SIZE), preprocess="mobilenet", weights=[], dtypes={})
    assert parity.max_abs_diff > self_check.TOLERANCE  # the fixed limit alone would fail this sound conversion
    assert parity.tfjs_float64_error is not None and parity.keras_float64_error is not None
    assert parity.tfjs_float64_error <= self_check.NOISE_FACTOR * parity.keras_float64_error


def test_a_real_error_on_the_same_model_is_still_caught(tmp_path):
    """The same architecture with the head's weights off by 2%: the page would be wrong, and the check says so."""
    model = ill_conditioned()
    path = write_tfjs(ill_conditioned(nudge=1.02), tmp_path / "wrong", optimize=True)
    with pytest.raises(ParityError, match="differs from Keras"):
        self_check.check(model, path, input_size=(SIZE, SIZE), preprocess="mobilenet", weights=[], dtypes={})


def test_a_well_conditioned_model_is_held_to_the_fixed_limit(tmp_path):
    model = helpers.sequential(SIZE)
    path = write_tfjs(model, tmp_path / "plain", optimize=True)
    parity = self_check.check(model, path, input_size=(SIZE, SIZE), preprocess="mobilenet", weights=[], dtypes={})
    assert parity.limit == self_check.TOLERANCE and parity.own_noise < self_check.TOLERANCE / 10
    assert parity.tfjs_float64_error is None  # computed only when needed


def test_float64_reference_is_the_model_in_float64():
    model = helpers.mobilenet_v3("small", 64)
    x = helpers.photos(64, count=2)
    exact = self_check.float64_reference(model, x)
    assert exact.dtype == np.float64
    np.testing.assert_allclose(exact, np.asarray(model(x, training=False)), atol=1e-4)
