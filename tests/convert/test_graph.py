"""Flattening Keras 3 models (nested, Sequential) and translating them for TF.js."""


import numpy as np
import pytest

from builder.convert import graph
from builder.convert import topology as keras_compat
from builder.errors import UnsupportedLayerError
from tests import helpers
from tests.helpers import keras


def test_nested_functional_is_inlined():
    g = graph.from_keras(helpers.fine_tuned(64, classes=3))
    names = [n.name for n in g.nodes]
    assert not any(n.class_name in graph.MODEL_CLASSES for n in g.nodes)
    assert g.inputs == [names[0]] and g.nodes[0].class_name == "InputLayer"
    assert names.count(g.inputs[0]) == 1
    # The base model's own InputLayer is replaced by the outer input.
    conv1 = g.node("Conv1")
    assert conv1.inputs == g.inputs
    assert g.outputs == [g.nodes[-1].name] and g.nodes[-1].class_name == "Dense"


def test_sequential_becomes_a_chain_with_an_input():
    g = graph.from_keras(helpers.sequential(32))
    assert g.nodes[0].class_name == "InputLayer"
    for prev, node in zip(g.nodes, g.nodes[1:]):
        assert node.inputs == [prev.name]


def _keys_and_values(tree) -> tuple[set, set]:
    """Every dict key and every scalar value anywhere in ``tree`` (nested dicts and lists)."""
    keys, values = set(), set()
    if isinstance(tree, dict):
        keys |= set(tree)
        tree = list(tree.values())
    if isinstance(tree, list):
        for item in tree:
            k, v = _keys_and_values(item)
            keys, values = keys | k, values | v
    else:
        values.add(tree)
    return keys, values


def test_topology_is_keras2_dialect_for_tfjs():
    topology, weights = keras_compat.to_tfjs(graph.from_keras(helpers.fine_tuned(64, classes=3)), "m.keras")
    keys, values = _keys_and_values(topology)
    assert not {"batch_shape", "args"} & keys  # Keras 3's spellings, which tfjs-layers 4.22 does not read
    assert "DTypePolicy" not in values
    first = topology["config"]["layers"][0]
    assert first["config"]["batch_input_shape"] == [None, 64, 64, 3]
    for layer in topology["config"]["layers"][1:]:
        assert layer["inbound_nodes"] and all(len(ref) == 4 for ref in layer["inbound_nodes"][0])
    names = [w.name for w in weights]
    assert len(names) == len(set(names))
    assert "expanded_conv_depthwise/depthwise_kernel" in names and "Conv1/kernel" in names
    assert all(w.data.dtype == np.float32 for w in weights)


def test_keepdims_pooling_becomes_pool_plus_reshape():
    model = keras.applications.MobileNet(alpha=0.25, input_shape=(32, 32, 3), weights=None, classes=3)
    topology, _ = keras_compat.to_tfjs(graph.from_keras(model), "v1")
    layers = {layer["name"]: layer for layer in topology["config"]["layers"]}
    pool = [l for l in layers.values() if l["class_name"] == "GlobalAveragePooling2D"]
    assert len(pool) == 1
    reshape = [l for l in layers.values() if l["inbound_nodes"] and l["inbound_nodes"][0][0][0] == pool[0]["name"]]
    assert reshape[0]["class_name"] == "Reshape" and reshape[0]["config"]["target_shape"] == [1, 1, 256]


@pytest.mark.parametrize("layer, message", [
    (lambda: keras.layers.LayerNormalization(name="norm"), r"layer 'norm' \(LayerNormalization\) is not supported"),
    (lambda: keras.layers.Activation("mish", name="m"), r"layer 'm' \(Activation\).*activation 'mish'"),
    (lambda: keras.layers.ReLU(negative_slope=0.1, name="leaky"), r"layer 'leaky' \(ReLU\).*negative_slope"),
    (lambda: keras.layers.Conv2D(4, 3, groups=2, name="grouped"), r"layer 'grouped' \(Conv2D\).*groups=2"),
    (lambda: keras.layers.ELU(alpha=0.5, name="elu"), r"layer 'elu' \(ELU\): alpha=0.5 is not supported"),
    # TF.js 4.22 has no Subtract layer: refused here by name, not by TF.js's "Unknown layer" at the self-check.
    (lambda: lambda x: keras.layers.Subtract(name="diff")([x, keras.layers.Conv2D(4, 1)(x)]),
     r"layer 'diff' \(Subtract\) is not supported by TF.js layers"),
])
def test_unsupported_layers_are_named(layer, message):
    inputs = keras.Input((8, 8, 4))
    model = keras.Model(inputs, layer()(inputs))
    with pytest.raises(UnsupportedLayerError, match=message):
        keras_compat.to_tfjs(graph.from_keras(model), "model.keras")


def test_preprocess_input_inside_the_model_becomes_rescaling():
    inputs = keras.Input((16, 16, 3))
    x = keras.applications.mobilenet_v2.preprocess_input(inputs)  # Keras 3 ops: TrueDivide, Subtract
    x = keras.ops.subtract(1.0, x)
    outputs = keras.layers.Dense(2)(keras.layers.Flatten()(keras.layers.Conv2D(2, 3)(x)))
    g = graph.from_keras(keras.Model(inputs, outputs))
    scales = [(n.config["scale"], n.config["offset"]) for n in g.nodes if n.class_name == "Rescaling"]
    assert scales == [(1 / 127.5, 0.0), (1.0, -1.0), (-1.0, 1.0)]
    assert graph.input_scaling(g).expects == "raw"  # x/127.5 - 1, then 1 - x: 0..255 becomes 2..0
    assert graph.input_scaling(graph.from_keras(helpers.sequential(32))) is None


def test_other_ops_are_named_when_unsupported():
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Flatten()(keras.ops.sqrt(inputs)))
    with pytest.raises(UnsupportedLayerError, match=r"layer 'sqrt' \(Sqrt\) is not supported"):
        keras_compat.to_tfjs(graph.from_keras(model), "m.keras")
