"""Inference rewrites: each one checked against Keras's own numbers, then through TF.js.

The optimised graph is turned back into a Keras model (same layer classes, rewritten
configs and weights) and compared with the original model, so a wrong fold or fusion
shows up as wrong numbers, independently of our TF.js translation.
"""

import json

import numpy as np
import pytest

from builder.convert import layers_model as convert
from builder.convert import per_channel
from builder.convert import graph as graphs
from builder.convert import inference_rewrites as optimizing
from builder.convert import self_check as parity
from builder.convert import quantization as quantize
from builder.errors import QuantizeError
from tests import helpers

keras = helpers.keras
L = keras.layers


def _randomise_batchnorms(model: keras.Model, seed: int = 0) -> keras.Model:
    """Per-channel statistics far from the initial ones, so every channel folds differently."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            values = []
            for w in layer.weights:
                name = w.name.split("/")[-1]
                shape = tuple(w.shape)
                values.append({
                    "gamma": lambda: rng.uniform(0.5, 1.5, shape),
                    "beta": lambda: rng.normal(0, 0.3, shape),
                    "moving_mean": lambda: rng.normal(0, 0.5, shape),
                    "moving_variance": lambda: rng.uniform(0.2, 2.0, shape),
                }[name]().astype("float32"))
            layer.set_weights(values)
    return model


def _keras_from_graph(graph: graphs.Graph) -> keras.Model:
    """A Keras model computing what ``graph`` says: each node's layer class, rebuilt from its (rewritten)
    config and weights. The reference the optimised graph must match."""
    tensors, inputs = {}, []
    for node in graph.nodes:
        if node.class_name == "InputLayer":
            shape = node.config.get("batch_shape") or node.config.get("batch_input_shape")
            tensors[node.name] = keras.Input(shape=tuple(shape[1:]), name=node.name)
            inputs.append(tensors[node.name])
            continue
        cls = type(node.layer) if node.layer is not None else getattr(keras.layers, node.class_name)
        layer = cls.from_config(dict(node.config))
        args = [tensors[name] for name in node.inputs]
        tensors[node.name] = layer(args if len(args) > 1 else args[0])
        if node.weights:
            layer.set_weights([w for _, w in node.weights])
    return keras.Model(inputs, [tensors[name] for name in graph.outputs])


def _images(size: int, count: int = 4) -> np.ndarray:
    return helpers.test_images(size, count).astype(np.float32) / 127.5 - 1


def _classes(graph: graphs.Graph) -> list[str]:
    return [n.class_name for n in graph.nodes]


@pytest.fixture(scope="module")
def mixed_model() -> keras.Model:
    """Every rewrite at least once: Conv2D without bias, DepthwiseConv2D with depth_multiplier 2, Dense,
    BatchNorm with and without center/scale, ReLU(6), ReLU(), Activation('relu'), Dropout, a linear Activation."""
    keras.utils.set_random_seed(7)
    inputs = keras.Input((24, 24, 3))
    x = L.Conv2D(8, 3, strides=2, padding="same", use_bias=False, name="conv_nobias")(inputs)
    x = L.BatchNormalization(name="bn1")(x)
    x = L.ReLU(6.0, name="relu6")(x)
    x = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, name="dw_mult2")(x)
    x = L.BatchNormalization(epsilon=1e-5, name="bn2")(x)
    x = L.Activation("relu", name="act_relu")(x)
    x = L.Dropout(0.3, name="drop_mid")(x)
    x = L.Conv2D(12, 1, name="conv_bias")(x)
    x = L.BatchNormalization(center=False, scale=False, name="bn3")(x)
    x = L.ReLU(name="relu")(x)
    x = L.Activation("linear", name="identity")(x)
    x = L.GlobalAveragePooling2D(name="pool")(x)
    x = L.Dense(10, use_bias=False, name="dense")(x)
    x = L.BatchNormalization(name="bn4")(x)
    x = L.ReLU(name="dense_relu")(x)
    x = L.Dropout(0.5, name="drop_head")(x)
    outputs = L.Dense(4, activation="softmax", name="head")(x)
    return helpers.calibrate(keras.Model(inputs, outputs, name="mixed"), 24)


def test_every_rewrite_matches_keras(mixed_model):
    graph = graphs.from_keras(mixed_model)
    optimised, summary = optimizing.optimize(graph)
    assert summary == optimizing.Summary(folded_batchnorms=4, fused_activations=4, dropped_layers=3)
    assert _classes(optimised) == ["InputLayer", "Conv2D", "DepthwiseConv2D", "Conv2D", "GlobalAveragePooling2D",
                                   "Dense", "Dense"]
    by_name = {n.name: n for n in optimised.nodes}
    assert by_name["conv_nobias"].config["activation"] == "relu6" and by_name["conv_nobias"].config["use_bias"]
    assert by_name["dw_mult2"].config["activation"] == "relu"
    assert by_name["dense"].config["activation"] == "relu"
    assert by_name["head"].inputs == ["dense"] and by_name["conv_bias"].inputs == ["dw_mult2"]
    assert all(w.dtype == np.float32 for n in optimised.nodes for _, w in n.weights)

    x = _images(24)
    expected = np.asarray(mixed_model(x, training=False))
    got = np.asarray(_keras_from_graph(optimised)(x))
    np.testing.assert_allclose(got, expected, atol=2e-6)
    assert np.ptp(expected, axis=0).max() > 0.05  # the images really do differ


def test_the_input_graph_is_left_alone(mixed_model):
    graph = graphs.from_keras(mixed_model)
    before = [(n.name, n.class_name, dict(n.config), list(n.inputs), [w.copy() for _, w in n.weights])
              for n in graph.nodes]
    optimizing.optimize(graph)
    after = [(n.name, n.class_name, n.config, n.inputs, [w for _, w in n.weights]) for n in graph.nodes]
    assert len(before) == len(after)
    for b, a in zip(before, after):
        assert b[:4] == a[:4]
        assert all(np.array_equal(x, y) for x, y in zip(b[4], a[4]))


def test_depthwise_fold_is_per_output_channel():
    """Kernel (kh, kw, in, multiplier): output channel i * multiplier + m gets BN channel i * multiplier + m."""
    keras.utils.set_random_seed(3)
    inputs = keras.Input((8, 8, 3))
    x = L.DepthwiseConv2D(3, depth_multiplier=3, use_bias=False, name="dw")(inputs)
    outputs = L.BatchNormalization(name="bn")(x)
    model = _randomise_batchnorms(keras.Model(inputs, outputs))
    optimised, summary = optimizing.optimize(graphs.from_keras(model))
    assert summary.folded_batchnorms == 1
    kernel = dict(optimised.node("dw").weights)["kernel"]
    gamma, beta, mean, var = model.get_layer("bn").get_weights()
    scale = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + 1e-3)
    original = model.get_layer("dw").get_weights()[0]
    for i in range(3):
        for m in range(3):
            np.testing.assert_allclose(kernel[..., i, m], original[..., i, m] * scale[i * 3 + m], rtol=1e-6)
    x = np.random.default_rng(0).normal(0, 1, (2, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(_keras_from_graph(optimised)(x), model(x, training=False), atol=2e-6)


def test_no_fold_or_fusion_when_the_conv_output_has_another_reader():
    keras.utils.set_random_seed(4)
    inputs = keras.Input((8, 8, 4))
    conv = L.Conv2D(4, 3, padding="same", name="conv")(inputs)
    bn = L.BatchNormalization(name="bn")(conv)
    residual = L.Add(name="add")([bn, conv])  # conv's un-normalised output is needed here
    conv2 = L.Conv2D(4, 1, name="conv2")(residual)
    relu = L.ReLU(name="relu")(conv2)
    outputs = L.Add(name="add2")([relu, conv2])  # and conv2's pre-activation output here
    model = _randomise_batchnorms(keras.Model(inputs, outputs))
    optimised, summary = optimizing.optimize(graphs.from_keras(model))
    assert summary == optimizing.Summary()
    assert _classes(optimised) == _classes(graphs.from_keras(model))


def test_no_fusion_of_other_relus_and_no_fold_after_an_activation():
    keras.utils.set_random_seed(5)
    inputs = keras.Input((8, 8, 3))
    x = L.Conv2D(4, 3, activation="relu", name="conv_relu")(inputs)
    x = L.BatchNormalization(name="bn_after_relu")(x)  # BN(relu(conv)): not a linear map of the conv
    x = L.Conv2D(4, 1, name="conv_a")(x)
    x = L.ReLU(max_value=4.0, name="relu4")(x)  # no TF.js activation is min(max(x, 0), 4)
    x = L.Conv2D(4, 1, name="conv_b")(x)
    x = L.ReLU(threshold=0.5, name="relu_threshold")(x)
    x = L.Conv2D(4, 1, name="conv_c")(x)
    outputs = L.Activation("sigmoid", name="sigmoid")(x)
    model = _randomise_batchnorms(keras.Model(inputs, outputs))
    optimised, summary = optimizing.optimize(graphs.from_keras(model))
    assert summary == optimizing.Summary()
    assert len(optimised.nodes) == len(model.layers)


def test_batchnorm_over_a_non_channel_axis_is_not_folded():
    inputs = keras.Input((6, 6, 3))
    x = L.Conv2D(4, 1, name="conv")(inputs)
    outputs = L.BatchNormalization(axis=1, name="bn_rows")(x)
    optimised, summary = optimizing.optimize(graphs.from_keras(keras.Model(inputs, outputs)))
    assert summary.folded_batchnorms == 0 and "BatchNormalization" in _classes(optimised)


def test_dropout_as_the_output_hands_the_output_to_its_input():
    inputs = keras.Input((5,))
    x = L.Dense(3, activation="softmax", name="head")(inputs)
    outputs = L.Dropout(0.5, name="drop")(x)
    optimised, summary = optimizing.optimize(graphs.from_keras(keras.Model(inputs, outputs)))
    assert summary.dropped_layers == 1 and optimised.outputs == ["head"]


def test_dropout_straight_after_the_input_and_as_the_output_is_kept():
    inputs = keras.Input((5,), name="pixels")
    outputs = L.Dropout(0.5, name="drop")(inputs)
    optimised, summary = optimizing.optimize(graphs.from_keras(keras.Model(inputs, outputs)))
    assert summary.dropped_layers == 0 and optimised.outputs == ["drop"]


def _padded(size: int, pad, *, conv=L.DepthwiseConv2D, kernel: int = 3, strides: int = 2,
            conv_padding: str = "valid", dilation: int = 1) -> keras.Model:
    keras.utils.set_random_seed(10)
    inputs = keras.Input((size, size, 3))
    x = L.Conv2D(6, 1, name="expand")(inputs)
    x = L.ZeroPadding2D(pad, name="pad")(x)
    extra = {"filters": 5} if conv is L.Conv2D else {}
    x = conv(kernel_size=kernel, strides=strides, padding=conv_padding, dilation_rate=dilation, name="conv",
             **extra)(x)
    x = L.GlobalAveragePooling2D(name="pool")(x)
    outputs = L.Dense(4, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize("size, pad, conv, kernel, strides, dilation", [
    (24, ((0, 1), (0, 1)), L.DepthwiseConv2D, 3, 2, 1),  # Keras MobileNets, even size
    (25, ((1, 1), (1, 1)), L.DepthwiseConv2D, 3, 2, 1),  # MobileNetV2's correct_pad, odd size
    (24, 1, L.Conv2D, 3, 1, 1),
    (20, ((1, 2), (1, 2)), L.Conv2D, 5, 3, 1),  # uneven, as "same" pads for this stride
    (24, 2, L.DepthwiseConv2D, 3, 1, 2),  # dilated
])
def test_padding_that_same_would_add_folds_into_the_convolution(size, pad, conv, kernel, strides, dilation):
    model = _padded(size, pad, conv=conv, kernel=kernel, strides=strides, dilation=dilation)
    optimised, summary = optimizing.optimize(graphs.from_keras(model))
    assert summary == optimizing.Summary(folded_paddings=1)
    assert "ZeroPadding2D" not in _classes(optimised)
    assert optimised.node("conv").config["padding"] == "same" and optimised.node("conv").inputs == ["expand"]
    x = _images(size)
    np.testing.assert_allclose(_keras_from_graph(optimised)(x), model(x, training=False), atol=2e-6)


@pytest.mark.parametrize("size, pad, conv_padding", [
    (25, ((0, 1), (0, 1)), "valid"),  # "same" would pad an odd size (1, 1)
    (24, ((1, 0), (1, 0)), "valid"),  # the zeros on the wrong side
    (24, ((0, 1), (0, 1)), "same"),  # the convolution pads as well
])
def test_padding_that_same_would_not_add_is_kept(size, pad, conv_padding):
    model = _padded(size, pad, conv_padding=conv_padding)
    optimised, summary = optimizing.optimize(graphs.from_keras(model))
    assert summary.folded_paddings == 0 and "ZeroPadding2D" in _classes(optimised)


def test_padding_with_another_reader_is_kept():
    inputs = keras.Input((8, 8, 4))
    padded = L.ZeroPadding2D(((0, 1), (0, 1)), name="pad")(inputs)
    conv = L.DepthwiseConv2D(3, strides=2, name="dw")(padded)
    pooled = L.MaxPooling2D(2, name="pool")(padded)  # reads the padded tensor itself
    outputs = L.Add(name="add")([conv, pooled])
    optimised, summary = optimizing.optimize(graphs.from_keras(keras.Model(inputs, outputs)))
    assert summary.folded_paddings == 0 and "ZeroPadding2D" in _classes(optimised)


def test_tfjs_runs_a_folded_padding_like_keras(tmp_path):
    model = helpers.calibrate(_padded(24, ((0, 1), (0, 1))), 24)
    result = _convert(model, tmp_path, optimize=True)
    assert result.optimization.folded_paddings == 1
    assert "ZeroPadding2D" not in _layer_classes(result.model_json)
    check = _check(model, result)
    assert check.output_spread > 0.01  # the self-check (which raises beyond 1e-4) is informative


def _convert(model, tmp_path, *, optimize: bool, qmap=None):
    return convert.convert(model, "test-model", tmp_path / ("opt" if optimize else "plain"), qmap=qmap or {},
                           shard_size=4 << 20, optimize=optimize)


def _check(model, result):
    return parity.check(model, result.model_json, input_size=tuple(model.input_shape[1:3]), preprocess="mobilenet",
                        weights=result.weights, dtypes=result.dtypes)


def _layer_classes(model_json) -> list[str]:
    return [layer["class_name"] for layer in json.loads(model_json.read_text())["modelTopology"]["config"]["layers"]]


@pytest.fixture(scope="module")
def tfjs_model() -> keras.Model:
    """The mixed model's rewrites on layers TF.js supports, at an image size."""
    keras.utils.set_random_seed(8)
    inputs = keras.Input((32, 32, 3))
    x = L.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(inputs)
    x = L.BatchNormalization()(x)
    x = L.ReLU(6.0)(x)
    x = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2)(x)
    x = L.BatchNormalization(epsilon=1e-5)(x)
    x = L.Activation("relu")(x)
    x = L.Conv2D(12, 1)(x)
    x = L.BatchNormalization(center=False)(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dropout(0.2)(x)
    outputs = L.Dense(4, activation="softmax")(x)
    return helpers.calibrate(_randomise_batchnorms(keras.Model(inputs, outputs)), 32)


def test_tfjs_runs_the_optimised_model_like_keras(tfjs_model, tmp_path):
    plain = _convert(tfjs_model, tmp_path, optimize=False)
    optimised = _convert(tfjs_model, tmp_path, optimize=True)
    assert plain.optimization is None and plain.layers == plain.layers_before == 12
    assert optimised.layers_before == 12 and optimised.layers == 6
    assert optimised.optimization == optimizing.Summary(folded_batchnorms=3, fused_activations=2, dropped_layers=1)
    assert _layer_classes(optimised.model_json) == ["InputLayer", "Conv2D", "DepthwiseConv2D", "Conv2D",
                                                    "GlobalAveragePooling2D", "Dense"]
    assert "BatchNormalization" in _layer_classes(plain.model_json)
    # The model's parameters, not the file's (folding removes BatchNorm weights).
    assert convert.plan(tfjs_model, "m").parameters == tfjs_model.count_params()
    for result in (plain, optimised):
        assert _check(tfjs_model, result).output_spread > 0.05  # the self-check (which raises) is informative


@pytest.mark.parametrize("spec", ["float16", "uint16", "uint8=*/bias"])
def test_quantized_folded_weights_are_checked_exactly(tfjs_model, tmp_path, spec):
    """The self-check loads the quantized folded weights back into the original Keras layers (kernel into
    the conv, bias into the BN's mean, the BN pinned to identity): TF.js must then agree to float precision."""
    result = _convert(tfjs_model, tmp_path, optimize=True, qmap=quantize.parse([spec]))
    assert result.optimization.folded_batchnorms == 3
    check = _check(tfjs_model, result)
    assert check.max_abs_diff <= 1e-5
    assert check.quantization_error is not None and check.quantization_error > 10 * check.max_abs_diff


def test_uint8_kernels_are_written_channel_scaled(tfjs_model, tmp_path):
    """uint8 has one scale per tensor, and folding scales each channel differently (in the demo MobileNetV2 a
    folded depthwise channel spans up to 49x the median one). So a uint8 kernel is written with every output
    channel scaled to [-1, 1], and a BatchNorm after it (float32 scales) multiplies them back."""
    result = _convert(tfjs_model, tmp_path, optimize=True, qmap=quantize.parse(["uint8=*/depthwise_kernel"]))
    assert result.optimization == optimizing.Summary(folded_batchnorms=2, fused_activations=1, dropped_layers=1,
                                                     scaled_kernels=1)
    classes = _layer_classes(result.model_json)
    assert classes.count("BatchNormalization") == 1 and classes.count("Activation") == 1
    [kernel] = [w for w in result.weights if w.name.endswith("/depthwise_kernel")]
    [gamma] = [w for w in result.weights if w.name.endswith("/gamma")]
    scales = gamma.data
    assert result.dtypes[kernel.name] == "uint8" and gamma.name not in result.dtypes
    np.testing.assert_allclose(np.abs(kernel.data).max(axis=(0, 1)).reshape(-1), 1.0, rtol=1e-6)
    assert scales.max() / scales.min() > 3  # channels really were scaled differently

    # What the browser multiplies out is the folded kernel, to 1/255 of each channel's own range.
    folded_plan = convert.plan(tfjs_model, "m")
    [folded] = [w for w in folded_plan.weights if w.name == kernel.name]
    seen = quantize.roundtrip(kernel.data, "uint8").reshape(-1, scales.size) * scales
    wanted = folded.data.reshape(-1, scales.size)
    assert (np.abs(seen - wanted).max(axis=0) <= np.abs(wanted).max(axis=0) / 255 * 1.01).all()
    np.testing.assert_allclose(seen, quantize.scaled_roundtrip(folded.data, folded_plan.channel_axes[kernel.name], "uint8")
                               .reshape(-1, scales.size), rtol=1e-6, atol=1e-7)  # what --quantize auto measures
    check = _check(tfjs_model, result)
    assert check.max_abs_diff <= 1e-5 and check.quantization_error > 10 * check.max_abs_diff


def test_channel_scaling_is_asked_with_tfjs_kernel_names_and_matches_keras(mixed_model):
    asked = []
    folded, summary = optimizing.optimize(graphs.from_keras(mixed_model))
    scaled = per_channel.scale(folded, lambda name: asked.append(name) or True)
    optimised = scaled.graph
    # bn3 has neither gamma nor beta to hold scales: conv_bias folds as usual.
    assert asked == ["conv_nobias/kernel", "dw_mult2/depthwise_kernel", "dense/kernel"]
    assert summary == optimizing.Summary(folded_batchnorms=4, fused_activations=4, dropped_layers=3)
    # The activations fused into the three scaled layers act after their scales: as Activation layers again.
    assert scaled.kernels == 3 and scaled.unfused == 3
    assert _classes(optimised).count("Activation") == 3
    x = _images(24)
    np.testing.assert_allclose(np.asarray(_keras_from_graph(optimised)(x)),
                               np.asarray(mixed_model(x, training=False)), atol=2e-6)


def test_quantize_patterns_for_folded_batchnorm_weights_say_why(tfjs_model, tmp_path):
    with pytest.raises(QuantizeError, match=r"matches no weight .*folded into the layers before them \(--no-optimize"):
        _convert(tfjs_model, tmp_path, optimize=True, qmap=quantize.parse(["float16=*/moving_variance"]))
    plain = _convert(tfjs_model, tmp_path, optimize=False, qmap=quantize.parse(["float16=*/moving_variance"]))
    assert set(plain.dtypes.values()) == {"float16"} and len(plain.dtypes) == 3
    # A pattern that names no BatchNorm weight gets no such hint: it is a typo, not the folding.
    with pytest.raises(QuantizeError, match=r"matches no weight") as raised:
        _convert(tfjs_model, tmp_path, optimize=True, qmap=quantize.parse(["float16=*/nomatch"]))
    assert "folded" not in raised.value.message


def test_keras2_models_fold_and_check_quantized_weights_too(tmp_path):
    """tf-keras layers name weights 'gamma:0' and store BN axes as lists; the folds and the quantized
    self-check (set_weights on tf-keras layers) must work there as well."""
    import tf_keras

    tf_keras.utils.set_random_seed(2)
    tl = tf_keras.layers
    inputs = tf_keras.Input((32, 32, 3))
    x = tl.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(inputs)
    x = tl.BatchNormalization()(x)
    x = tl.ReLU(6.0)(x)
    x = tl.DepthwiseConv2D(3, padding="same")(x)
    x = tl.BatchNormalization()(x)
    x = tl.ReLU(6.0)(x)
    x = tl.GlobalAveragePooling2D()(x)
    model = tf_keras.Model(inputs, tl.Dense(3, activation="softmax")(x))
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, tl.BatchNormalization):
            c = layer.get_weights()[0].shape
            layer.set_weights([rng.uniform(0.5, 1.5, c), rng.normal(0, 0.3, c), rng.normal(0, 0.5, c),
                               rng.uniform(0.2, 2.0, c)])
    for spec in ([], ["float16"]):
        result = _convert(model, tmp_path / (spec[0] if spec else "f32"), optimize=True, qmap=quantize.parse(spec))
        assert result.optimization.folded_batchnorms == 2 and result.optimization.fused_activations == 2
        assert _check(model, result).max_abs_diff <= 1e-5
    result = _convert(model, tmp_path / "uint8", optimize=True, qmap=quantize.parse(["uint8"]))
    assert result.optimization.scaled_kernels == 2
    assert {n.split("/")[1]: d for n, d in result.dtypes.items() if "batch" in n} == {"beta": "uint8"}
    assert _check(model, result).max_abs_diff <= 1e-5


def _squeeze_excite(side_reader: bool = False) -> keras.Model:
    """Keras 3's MobileNetV3 squeeze-and-excite block (relu6(conv(x) + 3) / 6 as keras.ops arithmetic);
    ``side_reader``: the gate convolution's output is also a model output."""
    keras.utils.set_random_seed(9)
    inputs = keras.Input((16, 16, 3))
    x = L.Conv2D(8, 3, padding="same", activation="relu", name="expand")(inputs)
    s = L.GlobalAveragePooling2D(keepdims=True, name="squeeze")(x)
    s = L.Conv2D(4, 1, activation="relu", name="reduce")(s)
    raw = L.Conv2D(8, 1, name="gate_conv")(s)
    gate = L.ReLU(6.0, name="gate_relu6")(raw + 3.0) * (1.0 / 6.0)
    x = L.Multiply(name="excite")([x, gate])
    outputs = L.Dense(3, activation="softmax", name="head")(L.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, [outputs, L.Flatten()(raw)] if side_reader else outputs)
    return helpers.calibrate(model, 16, preprocess="raw", images=helpers.photos(16))


def test_squeeze_excite_offset_folds_into_the_gate_convolution():
    """The gate's + 3 joins the convolution's bias and its relu6 fuses: the Rescaling(+3) and ReLU(6) layers
    are gone, and the graph computes what Keras does."""
    model = _squeeze_excite()
    optimised, summary = optimizing.optimize(graphs.from_keras(model))
    assert summary.folded_offsets == 1
    by_name = {n.name: n for n in optimised.nodes}
    gate = by_name["gate_conv"]
    assert gate.config["activation"] == "relu6"
    assert np.allclose(dict(gate.weights)["bias"], model.get_layer("gate_conv").get_weights()[1] + 3.0)
    assert gate.origins["bias"].layer is None  # Keras adds the 3 itself: no Keras weight holds this bias
    assert [n.class_name for n in optimised.nodes if n.inputs == ["gate_conv"]] == ["Rescaling"]  # the 1/6
    assert not any(n.class_name == "ReLU" for n in optimised.nodes)

    images = helpers.photos(16, count=4)
    expected = np.asarray(model(images, training=False))
    np.testing.assert_allclose(np.asarray(_keras_from_graph(optimised)(images)), expected, atol=2e-6)
    assert np.ptp(expected, axis=0).max() > 0.05


def test_offset_is_not_folded_when_the_convolution_has_another_reader():
    optimised, summary = optimizing.optimize(graphs.from_keras(_squeeze_excite(side_reader=True)))
    assert summary.folded_offsets == 0
    assert {n.name: n for n in optimised.nodes}["gate_conv"].config["activation"] == "linear"


@pytest.mark.parametrize("spec", [None, "uint8"])
def test_tfjs_runs_a_folded_offset_like_keras(spec, tmp_path):
    """Through TF.js (the page's fixes, WASM): float32, and uint8 kernels with the folded bias kept float32."""
    model = _squeeze_excite()
    result = _convert(model, tmp_path, optimize=True, qmap=quantize.parse([spec]) if spec else None)
    assert result.optimization.folded_offsets == 1
    assert result.dtypes.get("gate_conv/bias", "float32") == "float32"
    check = parity.check(model, result.model_json, input_size=(16, 16), preprocess="raw", weights=result.weights,
                         dtypes=result.dtypes)
    assert check.max_abs_diff <= 1e-5 and check.output_spread > 0.05
