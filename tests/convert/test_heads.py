"""Heads: what the model outputs is read off its last layer, and the page always gets probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from builder.convert import graph as graphs
from builder.convert import heads
from builder.errors import ModelError
from tests.helpers import keras

L = keras.layers


def _model(head):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6,))
    return keras.Model(inputs, head(L.Dense(8, activation="relu")(inputs)), name="m")


@pytest.mark.parametrize("head, kind", [
    (lambda x: L.Dense(3, activation="softmax")(x), "softmax"),
    (lambda x: L.Softmax()(L.Dense(3)(x)), "softmax"),
    (lambda x: L.Dense(3)(x), "logits"),
    (lambda x: L.Activation("linear")(L.Dropout(0.5)(L.Dense(3)(x))), "logits"),
    (lambda x: L.Dense(1)(x), "logit"),
    (lambda x: L.Dense(1, activation="sigmoid")(x), "sigmoid"),
    (lambda x: L.Activation("sigmoid")(L.Dense(1)(x)), "sigmoid"),
    (lambda x: L.Dense(3, activation="relu")(x), None),
    (lambda x: L.Dense(3, activation="sigmoid")(x), None),  # multi-label: not one distribution
    (lambda x: L.Add()([L.Dense(3)(x), L.Dense(3)(x)]), None),
])
def test_detect(head, kind):
    assert heads.detect(graphs.from_keras(_model(head))) == kind


@pytest.mark.parametrize("head, kind", [
    (lambda x: L.Dense(3)(x), "logits"),
    (lambda x: L.Dense(1)(x), "logit"),
    (lambda x: L.Dense(1, activation="sigmoid")(x), "sigmoid"),
])
def test_applied_head_gives_probabilities_keras_agrees_with(head, kind):
    model = _model(head)
    graph = graphs.from_keras(model)
    resolved = heads.resolve(graph, int(model.output_shape[-1]), "auto", "m.keras")
    assert resolved.kind == kind and resolved.detected
    wrapped = heads.apply(model, resolved)
    x = np.random.default_rng(1).normal(0, 3, (5, 6)).astype(np.float32)
    raw = np.asarray(model(x), np.float64)
    got = np.asarray(wrapped(x), np.float64)
    if kind == "logits":
        expected = np.exp(raw) / np.exp(raw).sum(axis=1, keepdims=True)
    else:
        p = raw[:, 0] if kind == "sigmoid" else 1 / (1 + np.exp(-raw[:, 0]))
        expected = np.stack([1 - p, p], axis=1)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    heads.check_probabilities(wrapped, x, "m.keras", resolved)  # passes: a distribution
    # The wrapped model is what gets converted: one flat graph, the head's layers at the end.
    flat = graphs.from_keras(wrapped)
    assert flat.node(flat.outputs[0]).class_name in ("Softmax", "Dense")


def test_told_softmax_on_logits_is_refused_before_the_page_shows_them():
    model = _model(lambda x: L.Dense(3)(x))
    told = heads.resolve(graphs.from_keras(model), 3, "softmax", "m.keras")
    x = np.random.default_rng(2).normal(0, 3, (4, 6)).astype(np.float32)
    with pytest.raises(ModelError, match="not probabilities.*--head logits"):
        heads.check_probabilities(heads.apply(model, told), x, "m.keras", told)


def test_undetectable_head_asks_for_head_option():
    model = _model(lambda x: L.Dense(3, activation="relu")(x))
    with pytest.raises(ModelError, match="--head"):
        heads.resolve(graphs.from_keras(model), 3, "auto", "m.keras")
    told = heads.resolve(graphs.from_keras(model), 3, "logits", "m.keras")
    assert not told.detected and told.classes == 3


@pytest.mark.parametrize("outputs, kind", [(1, "softmax"), (1, "logits"), (3, "sigmoid"), (3, "logit")])
def test_head_must_fit_the_output_count(outputs, kind):
    model = _model(lambda x: L.Dense(outputs)(x))
    with pytest.raises(ModelError):
        heads.resolve(graphs.from_keras(model), outputs, kind, "m.keras")


def test_tf_keras_models_get_a_tf_keras_head():
    import tf_keras

    inputs = tf_keras.Input((4,))
    model = tf_keras.Model(inputs, tf_keras.layers.Dense(1)(inputs))
    head = heads.resolve(graphs.from_keras(model), 1, "auto", "m.h5")
    wrapped = heads.apply(model, head)
    assert type(wrapped).__module__.startswith("tf_keras") and wrapped.output_shape == (None, 2)


@pytest.mark.parametrize("head, told, layer", [
    (lambda x: L.Dense(3, activation="softmax", name="probs")(x), "logits", r"'probs' \(Dense\) already applies softmax"),
    (lambda x: L.Softmax(name="sm")(L.Dense(3)(x)), "logits", r"'sm' \(Softmax\) already applies softmax"),
    (lambda x: L.Dense(1, activation="sigmoid", name="p")(x), "logit", r"'p' \(Dense\) already applies sigmoid"),
])
def test_told_scores_where_the_last_layer_makes_probabilities_is_refused(head, told, layer):
    """Softmax (or a sigmoid) on outputs that are already probabilities would show wrong percentages that
    still sum to 100%: no output check can catch it, the last layer's activation does."""
    model = _model(head)
    with pytest.raises(ModelError, match=f"--head {told}, but .*{layer}.*use --head"):
        heads.resolve(graphs.from_keras(model), int(model.output_shape[-1]), told, "m.keras")


def test_told_sigmoid_on_a_logit_points_to_logit():
    model = _model(lambda x: L.Dense(1)(x))
    told = heads.resolve(graphs.from_keras(model), 1, "sigmoid", "m.keras")
    x = np.random.default_rng(2).normal(0, 3, (4, 6)).astype(np.float32)
    with pytest.raises(ModelError, match=r"not probabilities \(values [^;]*; head taken as sigmoid\).*--head logit$") as e:
        heads.check_probabilities(heads.apply(model, told), x, "m.keras", told)
    assert "summing" not in str(e.value) and "--head logits" not in str(e.value)


@pytest.mark.parametrize("told", ["auto", "softmax", "logits"])
def test_a_multi_label_model_is_refused_whatever_head_is_told(told):
    """Independent sigmoids: '--head softmax' fails the sum check and '--head logits' would put a softmax
    over probabilities, so neither is offered; the refusal says what the model is."""
    model = _model(lambda x: L.Dense(3, activation="sigmoid", name="tags")(x))
    with pytest.raises(ModelError, match=r"'tags' \(Dense\) applies a sigmoid to each of its 3 outputs: "
                                         r"a multi-label model"):
        heads.resolve(graphs.from_keras(model), 3, told, "m.keras")


@pytest.mark.parametrize("told", ["auto", "sigmoid", "logit"])
def test_a_softmax_over_one_output_is_refused_as_a_model_that_tells_nothing_apart(told):
    """Dense(1, activation='softmax'), a classic slip: 1.0 for every image. Told sigmoid or logit, the page
    would show one constant answer; the refusal says to retrain with a sigmoid, whatever --head says."""
    model = _model(lambda x: L.Dense(1, activation="softmax", name="yes_no")(x))
    with pytest.raises(ModelError, match=r"'yes_no' \(Dense\) applies a softmax to its one output, which is 1.0 "
                                         r"for every image.*activation='sigmoid'.*retrain it$"):
        heads.resolve(graphs.from_keras(model), 1, told, "m.keras")


def test_nan_weights_are_named_not_taken_for_logits():
    """NaN outputs are no kind of score: the refusal names the layer with the NaN weights, and sends nobody
    round the --head options."""
    model = _model(lambda x: L.Dense(3, activation="softmax", name="probs")(x))
    kernel, bias = model.get_layer("probs").get_weights()
    kernel[0, 0] = np.nan
    model.get_layer("probs").set_weights([kernel, bias])
    head = heads.resolve(graphs.from_keras(model), 3, "auto", "m.keras")
    x = np.random.default_rng(2).normal(0, 3, (4, 6)).astype(np.float32)
    with pytest.raises(ModelError, match=r"outputs are NaN or infinite on the 4 check images.*layer 'probs' "
                                         r"\(Dense\) holds NaN or infinite weights") as e:
        heads.check_probabilities(model, x, "m.keras", head)
    assert "--head" not in str(e.value)
