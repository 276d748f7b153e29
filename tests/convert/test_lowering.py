"""inference_rewrites.lower(): each translation run in TF.js (the site's runtime, in Node) against Keras.

Every model here is converted as the build converts it (flatten + lower, then with and without the
inference rewrites) and its TF.js output compared with Keras's own on inputs that reach every piece
of each piecewise function (hard-sigmoid's clips at ±3, ReLU's kink).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from builder.convert import graph as graphs
from builder.convert import inference_rewrites as rewrites
from builder.convert import self_check
from builder.convert import topology
from builder.errors import UnsupportedLayerError
from tests import helpers

keras = helpers.keras
L = keras.layers
TOLERANCE = 1e-5


def write_tfjs(model, folder, *, optimize: bool):
    """``model`` converted as the build converts it (flattened, lowered, optionally optimized), written to
    ``folder``/model.json with float32 weights; returns that path."""
    from tensorflowjs import write_weights

    graph = graphs.from_keras(model)
    if optimize:
        graph = rewrites.optimize(graph)[0]
    model_topology, weights = topology.to_tfjs(graph, "test")
    folder.mkdir(parents=True, exist_ok=True)
    manifest = write_weights.write_weights([[{"name": w.name, "data": w.data} for w in weights]], str(folder),
                                           write_manifest=False)
    path = folder / "model.json"
    path.write_text(json.dumps({"format": "layers-model", "modelTopology": model_topology,
                                "weightsManifest": manifest}))
    return path


def tfjs_output(model, x: np.ndarray, tmp_path, *, optimize: bool, backend: str = "wasm") -> np.ndarray:
    """``model`` converted (see :func:`write_tfjs`) and run by TF.js on ``x``."""
    path = write_tfjs(model, tmp_path / ("optimized" if optimize else "plain"), optimize=optimize)
    return self_check.run_tfjs(path, x, backend)[0]


def assert_tfjs_matches(model, x, tmp_path, reference=None, rtol=0.0):
    expected = np.asarray(model(x, training=False) if reference is None else reference, np.float32)
    assert np.ptp(expected) > 0.1  # the inputs exercise the model
    for optimize in (False, True):
        got = tfjs_output(model, x, tmp_path, optimize=optimize)
        np.testing.assert_allclose(got, expected, atol=TOLERANCE, rtol=rtol, err_msg=f"optimize={optimize}")


def _inputs(shape, low=-6.0, high=6.0, seed=0):
    return np.random.default_rng(seed).uniform(low, high, (3, *shape)).astype(np.float32)


def _calibrated_batchnorms(model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            c = layer.get_weights()[0].shape
            layer.set_weights([rng.uniform(0.5, 1.5, c), rng.normal(0, 0.3, c), rng.normal(0, 0.5, c),
                               rng.uniform(0.2, 2.0, c)])
    return model


@pytest.mark.parametrize("make", [
    lambda x: L.Activation("hard_sigmoid")(x),
    lambda x: L.Activation("hard_silu")(x),
    lambda x: L.Activation("hard_swish")(x),
    lambda x: L.Conv2D(5, 3, padding="same", activation="hard_swish")(x),
    lambda x: L.Conv2D(5, 1, activation="hard_sigmoid")(x),
    lambda x: L.DepthwiseConv2D(3, padding="same", activation="hard_silu")(x),
    # MobileNetV3's squeeze-and-excite, as Keras 3 writes it: hard_sigmoid = ReLU(6)(x + 3) * (1/6).
    lambda x: L.Multiply()([x, L.ReLU(6.0)(L.Conv2D(4, 1)(L.GlobalAveragePooling2D(keepdims=True)(x)) + 3.0)
                            * (1.0 / 6.0)]),
], ids=["hard_sigmoid", "hard_silu", "hard_swish", "conv-hard_swish", "conv-hard_sigmoid", "depthwise-hard_silu",
        "squeeze-excite"])
def test_keras3_hard_activations(make, tmp_path):
    keras.utils.set_random_seed(1)
    inputs = keras.Input((6, 6, 4))
    model = keras.Model(inputs, L.Flatten()(make(inputs)))
    x = _inputs((6, 6, 4))
    assert_tfjs_matches(model, x, tmp_path)


def test_the_elu_layer_matches_keras_on_both_sides_of_zero(tmp_path):
    keras.utils.set_random_seed(2)
    inputs = keras.Input((6, 6, 4))
    model = keras.Model(inputs, L.Flatten()(L.ELU()(L.Conv2D(5, 3, padding="same")(inputs))))
    assert_tfjs_matches(model, _inputs((6, 6, 4)), tmp_path)


def test_keras3_hard_sigmoid_is_relu6_of_x_plus_3_over_6(tmp_path):
    """Keras 3's definition, checked at the kinks (-3, 3) and between."""
    inputs = keras.Input((7,))
    model = keras.Model(inputs, L.Activation("hard_sigmoid")(inputs))
    x = np.array([[-4, -3, -1.5, 0, 1.5, 3, 4]], np.float32)
    got = tfjs_output(model, x, tmp_path, optimize=False)
    np.testing.assert_allclose(got, np.clip(x + 3, 0, 6) / 6, atol=1e-7)


def test_keras2_hard_sigmoid_keeps_keras2_semantics(tmp_path):
    """A tf-keras file's hard_sigmoid is clip(0.2x + 0.5, 0, 1): the build reads it with tf-keras (Keras 3
    would silently read its own relu6(x + 3) / 6) and the page computes Keras 2's numbers."""
    import tf_keras

    from builder.model import zoo

    tf_keras.utils.set_random_seed(2)
    inputs = tf_keras.Input((6, 6, 3))
    x = tf_keras.layers.Conv2D(4, 3, activation="hard_sigmoid")(inputs)
    x = tf_keras.layers.Activation("hard_sigmoid")(tf_keras.layers.Rescaling(4.0)(x))
    outputs = tf_keras.layers.Dense(3, activation="softmax")(tf_keras.layers.Flatten()(x))
    path = tmp_path / "keras2_hard_sigmoid.h5"
    tf_keras.Model(inputs, outputs).save(path)
    model, _ = zoo.load(str(path))
    assert type(model).__module__.startswith("tf_keras")
    x = _inputs((6, 6, 3))
    keras2 = np.asarray(tf_keras.models.load_model(path, compile=False)(x))
    keras3 = np.asarray(keras.models.load_model(path, compile=False)(x))
    assert np.max(np.abs(keras2 - keras3)) > 1e-2  # the two readings differ: the test can tell them apart
    assert_tfjs_matches(model, x, tmp_path, reference=keras2)


def test_keras2_mobilenet_v3_h5_from_tf_keras(tmp_path):
    """tf-keras writes hard-sigmoid as TFOpLambda arithmetic and ReLU(6); the page matches tf-keras."""
    from builder.model import zoo

    path = tmp_path / "v3_keras2.h5"
    helpers.mobilenet_v3("small", size=64, keras2=True).save(path)
    model, info = zoo.load(str(path))
    assert info.family == "mobilenet_v3_small"
    x = helpers.photos(64, count=4, seed=9)
    expected = np.asarray(model(x))
    assert np.ptp(expected, axis=0).max() > 0.1
    for optimize in (False, True):
        np.testing.assert_allclose(tfjs_output(model, x, tmp_path, optimize=optimize), expected, atol=TOLERANCE)


def test_separable_conv2d_is_depthwise_then_pointwise(tmp_path):
    keras.utils.set_random_seed(4)
    inputs = keras.Input((8, 8, 3))
    x = L.SeparableConv2D(6, 3, strides=2, padding="same", depth_multiplier=2, use_bias=False)(inputs)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    x = L.SeparableConv2D(4, 3, dilation_rate=2, padding="same", activation="relu")(x)
    model = _calibrated_batchnorms(keras.Model(inputs, L.Flatten()(x)))
    graph = graphs.from_keras(model)
    assert [n.class_name for n in graph.nodes].count("SeparableConv2D") == 0
    assert len(graph.lowered["SeparableConv2D split into depthwise + pointwise"]) == 2
    assert_tfjs_matches(model, _inputs((8, 8, 3)), tmp_path)


def test_conv2d_with_groups_equal_to_channels_is_depthwise(tmp_path):
    keras.utils.set_random_seed(5)
    inputs = keras.Input((8, 8, 6))
    x = L.Conv2D(6, 3, groups=6, padding="same", use_bias=False)(inputs)
    x = L.BatchNormalization()(x)
    x = L.Conv2D(6, 3, groups=6, strides=2, activation="relu6")(x)
    model = _calibrated_batchnorms(keras.Model(inputs, L.Flatten()(x)))
    graph = graphs.from_keras(model)
    assert [n.class_name for n in graph.nodes].count("DepthwiseConv2D") == 2
    optimized, summary = rewrites.optimize(graph)
    assert summary.folded_batchnorms == 1  # the BatchNorm folds into the rewritten depthwise convolution
    assert_tfjs_matches(model, _inputs((8, 8, 6)), tmp_path)


def test_other_group_counts_are_refused_by_name():
    inputs = keras.Input((8, 8, 4))
    model = keras.Model(inputs, L.Conv2D(8, 3, groups=2, name="grouped")(inputs))
    with pytest.raises(UnsupportedLayerError, match=r"layer 'grouped' \(Conv2D\): groups=2 with 4 input and 8 output"):
        graphs.from_keras(model)


def test_normalization_and_per_channel_rescaling_are_exact_affines(tmp_path):
    """Keras 3's Normalization divides by max(sqrt(var), 1e-7); a zero variance channel included."""
    x = _inputs((5, 5, 3), 0, 255)
    inputs = keras.Input((5, 5, 3))
    norm = L.Normalization(mean=[120.0, 90.0, 100.0], variance=[3000.0, 0.0, 1600.0])
    y = L.Rescaling([0.5, 2.0, 1.0], offset=[0.1, -0.2, 0.0])(norm(inputs))
    model = keras.Model(inputs, L.Flatten()(y))
    graph = graphs.from_keras(model)
    assert graphs.input_scaling(graph).expects == "raw"  # the page must feed raw pixels
    # The zero-variance channel is divided by 1e-7 (values near 1e9): float32 agrees to a few ulps.
    assert_tfjs_matches(model, x, tmp_path, rtol=1e-5)

    adapted = L.Normalization()
    adapted.adapt(x)
    model = keras.Model(inputs, L.Flatten()(L.Conv2D(2, 1)(adapted(inputs))))
    assert_tfjs_matches(model, x, tmp_path)


def test_augmentation_is_dropped_and_scaling_after_it_is_found(tmp_path):
    """The transfer-learning tutorial: Random* augmentation first, preprocessing after it."""
    keras.utils.set_random_seed(6)
    augment = keras.Sequential([L.RandomFlip("horizontal"), L.RandomRotation(0.2), L.RandomZoom(0.1)],
                               name="data_augmentation")
    inputs = keras.Input((16, 16, 3))
    x = keras.applications.mobilenet_v2.preprocess_input(augment(inputs))
    outputs = L.Dense(1)(L.GlobalAveragePooling2D()(L.Conv2D(4, 3)(x)))
    model = keras.Model(inputs, outputs)
    graph = graphs.from_keras(model)
    dropped = graph.lowered["dropped training-only layers"]
    assert [d.split(" ")[1] for d in dropped] == ["(RandomFlip)", "(RandomRotation)", "(RandomZoom)"]
    assert graphs.input_scaling(graph).expects == "raw"
    x = _inputs((16, 16, 3), 0, 255)
    for optimize in (False, True):
        np.testing.assert_allclose(tfjs_output(model, x, tmp_path, optimize=optimize),
                                   np.asarray(model(x, training=False)), atol=TOLERANCE)


@pytest.mark.parametrize("cls, kwargs", [(name, {}) for name in sorted(rewrites.TRAINING_ONLY)
                                         if hasattr(L, name)])
def test_training_only_layers_are_the_identity_at_inference(cls, kwargs):
    """What lower() drops is the identity in this Keras at inference, for every such class it has."""
    args = {"RandomFlip": {}, "RandomRotation": {"factor": 0.2}, "RandomZoom": {"height_factor": 0.2},
            "RandomTranslation": {"height_factor": 0.2, "width_factor": 0.2}, "RandomContrast": {"factor": 0.5},
            "RandomBrightness": {"factor": 0.5}, "RandomHeight": {"factor": 0.2}, "RandomWidth": {"factor": 0.2},
            "RandomPosterization": {"factor": (1, 8)}}.get(cls, {})
    try:
        layer = getattr(L, cls)(**args)
    except TypeError:  # a required strength: any valid one will do
        layer = getattr(L, cls)(factor=0.5)
    x = _inputs((12, 12, 3), 0, 255)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)


def test_a_flatten_of_a_flat_tensor_is_dropped(tmp_path):
    """Keras passes (batch, n) through Flatten; TF.js layers refuses it ("expected min_ndim=3"), also as the
    model's last layer, where a sigmoid head's Flatten() sits."""
    keras.utils.set_random_seed(13)  # outputs spread by 0.25 over the inputs
    inputs = keras.Input((8, 8, 3))
    x = L.Dense(1, activation="sigmoid")(L.GlobalAveragePooling2D()(L.Conv2D(4, 3)(inputs)))
    model = keras.Model(inputs, L.Flatten(name="flat")(x))
    graph = graphs.from_keras(model)
    assert list(graph.lowered) == ["dropped Flatten of a tensor already flat (an identity; TF.js layers refuses it)"]
    assert graph.lowered[list(graph.lowered)[0]] == ["flat (Flatten)"]
    assert_tfjs_matches(model, _inputs((8, 8, 3)), tmp_path)


def test_random_crop_is_refused_by_name():
    inputs = keras.Input((16, 16, 3))
    model = keras.Model(inputs, L.Flatten()(L.RandomCrop(8, 8, name="crop")(inputs)))
    with pytest.raises(UnsupportedLayerError, match=r"layer 'crop' \(RandomCrop\): at inference it centre-crops"):
        graphs.from_keras(model)


def _adapted(pixels):
    layer = L.Normalization()
    layer.adapt(pixels)
    return layer


def _scaling_of(scale):
    """graphs.input_scaling of Input((16, 16, 3)) -> scale(inputs) -> Conv2D -> Flatten."""
    inputs = keras.Input((16, 16, 3))
    return graphs.input_scaling(graphs.from_keras(keras.Model(inputs, L.Flatten()(L.Conv2D(2, 1)(scale(inputs))))))


PHOTOS_16 = helpers.photos(16, count=8)  # real photos, 0..255
PHOTOS_16.flags.writeable = False


@pytest.mark.parametrize("scale, expects", [
    # A Normalization adapted on the training photos, as they were fed: its statistics say in which range.
    (lambda: _adapted(PHOTOS_16), "raw"),
    (lambda: _adapted(PHOTOS_16 / 255), "unit"),
    # ... photos already through preprocess_input outside the model: x/255 would be silently wrong.
    (lambda: _adapted(PHOTOS_16 / 127.5 - 1), "mobilenet"),
    (lambda: L.Normalization(mean=[0.485, 0.456, 0.406], variance=[0.229 ** 2, 0.224 ** 2, 0.225 ** 2]), "unit"),
    (lambda: keras.Sequential([L.Rescaling(1 / 255), _adapted(PHOTOS_16 / 255)]), "raw"),
    (lambda: L.Rescaling(1 / 127.5, offset=-1), "raw"),
    (lambda: L.Rescaling(1 / 255), "raw"),
    (lambda: L.Rescaling(2.0, offset=-1), "unit"),
    # Pooling keeps pixel values: the scaling after it is the model's own.
    (lambda: keras.Sequential([L.AveragePooling2D(2), L.Rescaling(1 / 127.5, offset=-1)]), "raw"),
    # An identity fits 0..1 and -1..1 alike: nothing to tell them apart, so the build asks.
    (lambda: L.Rescaling(1.0), None),
])
def test_the_range_a_models_own_scaling_was_made_for(scale, expects):
    scaling = _scaling_of(lambda x: scale()(x))
    assert scaling is not None and scaling.expects == expects, scaling


def test_a_scaling_that_not_every_path_reaches_first_makes_the_build_ask():
    """Feeding the scaled path's range would feed the other path the wrong pixels, and the reverse."""
    inputs = keras.Input((16, 16, 3))
    scaled = L.Rescaling(1 / 127.5, offset=-1, name="scaled")(inputs)
    unscaled = L.Conv2D(3, 1, name="unscaled")(inputs)
    x = L.Conv2D(2, 1)(L.Concatenate()([scaled, unscaled]))
    scaling = graphs.input_scaling(graphs.from_keras(keras.Model(inputs, L.Flatten()(x))))
    assert scaling.expects is None
    assert "'scaled' (Rescaling)" in scaling.reason and "'unscaled' (Conv2D) computes on the pixels" in scaling.reason


def test_a_scaling_behind_a_layer_that_computes_makes_the_build_ask():
    inputs = keras.Input((8, 8, 3))
    x = L.Rescaling(1 / 255, name="late")(L.Conv2D(3, 1, name="mix")(inputs))
    scaling = graphs.input_scaling(graphs.from_keras(keras.Model(inputs, L.Flatten()(L.Conv2D(2, 1)(x)))))
    assert scaling.expects is None
    assert "'late' (Rescaling) scales pixel values, after layer 'mix' (Conv2D)" in scaling.reason


def test_a_model_without_its_own_scaling_has_none():
    """MobileNet's own layers: no scaling at all, and MobileNetV3's hard-sigmoid arithmetic deep inside is not
    one (it scales feature maps, not pixels)."""
    inputs = keras.Input((16, 16, 3))
    x = L.Conv2D(16, 3)(inputs)
    x = x * keras.ops.relu6(x + 3.0) * (1.0 / 6.0)
    assert graphs.input_scaling(graphs.from_keras(keras.Model(inputs, L.Flatten()(x)))) is None


def test_efficientnet_b0_comes_along(tmp_path):
    """EfficientNet-B0's blocks are the same kinds (Normalization, swish, squeeze-and-excite with a sigmoid,
    depthwise convolutions), so it converts too."""
    keras.utils.set_random_seed(8)
    model = keras.applications.EfficientNetB0(input_shape=(64, 64, 3), weights=None, classes=5)
    model = helpers.calibrate(model, 64, preprocess="raw", images=helpers.photos(64))
    graph = graphs.from_keras(model)
    assert graphs.input_scaling(graph).expects == "raw"
    x = helpers.photos(64, count=4, seed=5)
    expected = np.asarray(model(x, training=False))
    assert np.ptp(expected, axis=0).max() > 0.1
    np.testing.assert_allclose(tfjs_output(model, x, tmp_path, optimize=True), expected, atol=TOLERANCE)


@pytest.fixture(scope="module")
def v3_small():
    """MobileNetV3 Small at 96 pixels with BatchNorm statistics from real photos, and photos it tells apart."""
    model = helpers.mobilenet_v3("small", 96, classes=5)
    x = helpers.photos(96, count=4, seed=23)
    expected = np.asarray(model(x, training=False))
    assert np.ptp(expected, axis=0).max() > 0.05  # the photos get different answers
    return model, x, expected


@pytest.mark.parametrize("backend", ["wasm", "cpu"])
@pytest.mark.parametrize("fixes", ["page", "stock"])
def test_mobilenet_v3_blocks_run_in_stock_tfjs_and_with_the_page_fixes(fixes, backend, v3_small, tmp_path,
                                                                       monkeypatch):
    """MobileNetV3 Small (hard-swish after convolutions, squeeze-and-excite with its + 3 folded into a
    bias, residual adds), converted and optimized as the build does: plain TF.js 4.22 (none of the page's
    fixes) loads and runs its model.json, and so does the page's TF.js (one-kernel hard-swish on the CPU
    backend, whole-image AvgPool, merges without copies), both giving Keras's numbers."""
    if fixes == "stock":
        stock = tmp_path / "no-fixes.js"
        stock.write_text("export function useFastKernels(tf) {}\n")
        monkeypatch.setattr(self_check, "TFJS_FIXES", stock)
    model, x, expected = v3_small
    assert rewrites.optimize(graphs.from_keras(model))[1].folded_offsets > 0
    got = tfjs_output(model, x, tmp_path, optimize=True, backend=backend)
    np.testing.assert_allclose(got, expected, atol=TOLERANCE)
