import pytest

from builder.model import zoo as models
from builder.errors import ModelError, WeightsError


def test_stock_model_knobs_are_applied():
    model, info = models.load("mobilenet_v2", alpha=0.5, input_size=64, weights="none")
    assert model.input_shape == (None, 64, 64, 3) and model.output_shape == (None, 1000)
    assert (info.family, info.alpha, info.input_size, info.weights) == ("mobilenet_v2", 0.5, (64, 64), "none")


def test_random_weights_are_reproducible():
    a, _ = models.load("mobilenet_v1", alpha=0.25, input_size=32, weights="none")
    b, _ = models.load("mobilenet_v1", alpha=0.25, input_size=32, weights="none")
    assert all((x == y).all() for x, y in zip(a.get_weights(), b.get_weights()))


@pytest.mark.parametrize("kwargs, error, message", [
    ({"alpha": 0}, ModelError, "--alpha must be positive"),
    ({"input_size": 16}, ModelError, "--input-size must be at least 32"),
    ({"alpha": 0.3, "weights": "imagenet"}, WeightsError, r"ImageNet weights exist only for alpha in"),
    ({"weights": "/no/such.weights.h5"}, WeightsError, "weights file not found"),
])
def test_bad_stock_options(kwargs, error, message):
    args = {"alpha": 0.35, "input_size": 96, "weights": "none", **kwargs}
    with pytest.raises(error, match=message):
        models.load("mobilenet_v2", **args)


def test_wrong_weights_file_is_a_clear_error(stock_v2_weights):
    with pytest.raises(WeightsError, match="cannot load these weights into mobilenet_v2 \\(alpha 1.0"):
        models.load("mobilenet_v2", alpha=1.0, input_size=96, weights=str(stock_v2_weights))


def test_user_model_is_described(fine_tuned_keras):
    _, info = models.load(str(fine_tuned_keras))
    assert (info.family, info.alpha, info.input_size, info.num_outputs) == ("mobilenet_v2", 0.35, (96, 96), 5)
    assert info.source == str(fine_tuned_keras)


def test_user_model_with_the_wrong_shape_is_refused(tmp_path):
    from tests.helpers import keras

    inputs = keras.Input((32, 32, 1))
    keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(inputs))).save(tmp_path / "gray.keras")
    with pytest.raises(ModelError, match=r"gray\.keras: expected an input of shape \(None, height, width, 3\)"):
        models.load(str(tmp_path / "gray.keras"))
