import numpy as np
import pytest

from builder.model import preprocessing as preprocess
from tests.helpers import keras


def test_mobilenet_matches_keras_preprocess_input():
    pixels = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3)).astype(np.float32)
    for fn in (keras.applications.mobilenet.preprocess_input, keras.applications.mobilenet_v2.preprocess_input):
        np.testing.assert_array_equal(preprocess.apply(pixels, "mobilenet"), fn(pixels.copy()))


def test_unit_and_raw():
    pixels = np.array([0.0, 127.5, 255.0], np.float32)
    np.testing.assert_allclose(preprocess.apply(pixels, "unit"), [0, 0.5, 1])
    np.testing.assert_array_equal(preprocess.apply(pixels, "raw"), pixels)
    with pytest.raises(ValueError, match="unknown preprocessing"):
        preprocess.apply(pixels, "caffe")
