"""The model's head: what its output is, and what the build adds so the page always shows probabilities.

A classifier ends in one of four ways (``--head`` names them when the build cannot tell):

=========  ===========================  =========================================================
kind       the model outputs            the build adds (as Keras layers, converted with the model)
=========  ===========================  =========================================================
softmax    N probabilities              nothing
logits     N scores, no softmax         ``Softmax()``
sigmoid    1 probability p (2 classes)  ``Dense(2)`` computing [1 - p, p]
logit      1 score z (2 classes)        ``Dense(2, softmax)`` on z: softmax([0, z]) = [1 - σ(z), σ(z)]
=========  ===========================  =========================================================

TensorFlow's transfer-learning tutorial ends in ``Dense(1)`` trained ``from_logits=True``: a logit.
The added layers are stock TF.js layers, so a plain ``tf.loadLayersModel`` reads the site's
model.json, and the self-check compares the page's probabilities with Keras's through them.
Whatever the kind, :func:`check_probabilities` runs the finished model and refuses a build
whose outputs are not a probability distribution (values in [0, 1] summing to 1).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from builder.errors import ModelError, named, naming_model

log = logging.getLogger(__name__)

AUTO = "auto"
SOFTMAX_NAME = "browsernet_softmax"  # the Softmax layer the build adds for --head logits
KINDS = ("softmax", "logits", "sigmoid", "logit")
CHOICES = (AUTO, *KINDS)
APPLIED = {
    "softmax": "nothing (the model outputs probabilities)",
    "logits": "a softmax over the logits",
    "sigmoid": "[1 - p, p] from the sigmoid output p",
    "logit": "[1 - sigmoid(z), sigmoid(z)] from the logit z",
}
# Layers between the classifier and the output that change nothing about its values.
_PASS_THROUGH = frozenset({"Flatten", "Reshape", "Dropout", "Identity"})
SUM_TOLERANCE = 1e-3  # |sum of probabilities - 1| allowed on the check images (float32 softmax: ~1e-7)


@dataclass(frozen=True)
class Head:
    """What the model's output was and what the page shows."""

    kind: str  # softmax | logits | sigmoid | logit
    detected: bool  # True: read off the model; False: given with --head
    outputs: int  # the model's own output units
    classes: int  # probabilities the page shows (2 for a single-unit head)
    applied: str  # what the build added, in words (APPLIED)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        how = "detected" if self.detected else "given with --head"
        return f"head: {self.kind} ({how}), {self.outputs} output(s); the page applies {self.applied}"


def detect(graph: Any) -> str | None:
    """The head kind of a flat graph (:mod:`builder.convert.graph`), or None when it cannot be told."""
    return _classifier(graph)[0]


def _classifier(graph: Any) -> tuple[str | None, Any]:
    """``(kind, node)``: :func:`detect`'s answer and the layer it was read off (None when there is none)."""
    if len(graph.outputs) != 1:
        return None, None
    node = graph.node(graph.outputs[0])
    while node.class_name in _PASS_THROUGH or (node.class_name == "Activation" and _act(node) == "linear"):
        if len(node.inputs) != 1:
            return None, None
        node = graph.node(node.inputs[0])
    units = int(node.output_shape[-1]) if node.output_shape and node.output_shape[-1] is not None else None
    if node.class_name == "Softmax":
        return "softmax", node
    if node.class_name not in ("Dense", "Conv2D", "Activation"):
        return None, node
    activation = _act(node)
    if activation == "softmax":
        return "softmax", node
    if activation == "sigmoid" and units == 1:
        return "sigmoid", node
    if activation == "linear" and node.class_name != "Activation" and units is not None:
        return ("logit" if units == 1 else "logits"), node
    return None, node


def _act(node: Any) -> str:
    value = node.config.get("activation")
    if isinstance(value, dict):
        value = value.get("config", value.get("class_name"))
    return "linear" if value is None else str(value)


def resolve(graph: Any, outputs: int, requested: str, where: str) -> Head:
    """The :class:`Head` for a model with ``outputs`` units: ``requested`` (``--head``), or detected
    from ``graph`` for ``auto``. Raises :class:`ModelError` when auto cannot tell, or when the kind
    does not fit the output count."""
    if requested not in CHOICES:
        raise ModelError(f"--head {requested}: choose from {', '.join(CHOICES)}")
    found, node = _classifier(graph)
    if node is not None and found is None and outputs > 1 and _act(node) == "sigmoid":
        # Independent yes/no scores, one per label: no --head makes them one distribution over the labels.
        raise ModelError(
            f"{where}: the last layer '{node.name}' ({node.class_name}) applies a sigmoid to each of its {outputs} "
            "outputs: a multi-label model (an independent yes/no per label), and the page shows one distribution "
            "over the labels; browsernet builds single-label classifiers (a softmax, logits, or one sigmoid unit)")
    if found == "softmax" and outputs == 1:  # whatever --head says: nothing in the model tells images apart
        raise ModelError(
            f"{where}: the last layer '{node.name}' ({node.class_name}) applies a softmax to its one output, which "
            "is 1.0 for every image, so the model tells nothing apart; a two-class model with one output needs "
            "activation='sigmoid' (trained with binary cross-entropy), or two outputs with a softmax: retrain it")
    kind = found if requested == AUTO else requested
    # Scores told where the last layer itself makes probabilities: the page would squash them again.
    if (requested, found) in (("logits", "softmax"), ("logit", "sigmoid")):
        raise ModelError(
            f"{where}: --head {requested}, but the model's last layer '{node.name}' ({node.class_name}) already "
            f"applies {found}, so its outputs are probabilities and the page would apply "
            f"{'softmax' if found == 'softmax' else 'a sigmoid'} to them again; use --head {found} or leave --head out")
    if kind is None and node is not None:
        # A last layer TF.js cannot run at all: say that first, not ask which head it is (then refuse it anyway).
        from builder.convert.topology import refusal
        from builder.errors import UnsupportedLayerError

        problem = refusal(node)
        if problem:
            raise UnsupportedLayerError(f"{where}: {problem}")
    if kind is None:
        raise ModelError(
            f"{where}: cannot tell whether the model's {outputs} output(s) are probabilities or scores (its last "
            "layer is no softmax, sigmoid or linear classifier); say which with --head "
            "softmax|logits (N outputs) or sigmoid|logit (one output for two classes)")
    if kind in ("sigmoid", "logit") and outputs != 1:
        raise ModelError(f"{where}: --head {kind} is for a model with one output, this one has {outputs}")
    if kind in ("softmax", "logits") and outputs < 2:
        raise ModelError(
            f"{where}: one output cannot be a {'softmax' if kind == 'softmax' else 'set of logits'} (it would always "
            "be 100%); a single-unit head is a sigmoid or a logit: use --head sigmoid or --head logit")
    return Head(kind=kind, detected=requested == AUTO, outputs=outputs,
                classes=2 if kind in ("sigmoid", "logit") else outputs, applied=APPLIED[kind])


def apply(model: Any, head: Head) -> Any:
    """``model`` with the layers :data:`APPLIED` describes after its output (the same model for softmax).

    The result is a new Keras model (of the same Keras as ``model``: Keras 3 or tf-keras) that
    calls ``model`` as a nested model, so its weights are the same objects.
    """
    if head.kind == "softmax":
        return model
    k = _keras_of(model)
    if head.kind == "logits":
        layer = k.layers.Softmax(name=SOFTMAX_NAME)
    else:
        # sigmoid: [1 - p, p] = [-1, 1] p + [1, 0]; logit: softmax([0, z]) = [1 - σ(z), σ(z)].
        kernel, bias, activation = (([[-1.0, 1.0]], [1.0, 0.0], "linear") if head.kind == "sigmoid"
                                    else ([[0.0, 1.0]], [0.0, 0.0], "softmax"))
        layer = k.layers.Dense(2, activation=activation, name=f"browsernet_{head.kind}_to_2_classes")
        layer.build((None, 1))
        layer.set_weights([np.asarray(kernel, np.float32), np.asarray(bias, np.float32)])
    shape = tuple(model.inputs[0].shape)
    inputs = k.Input(batch_shape=shape, name="browsernet_input")
    outputs = model(inputs)
    if isinstance(outputs, (list, tuple)):  # Keras 3 calls a Keras 2 .h5 model's one output a list of one
        if len(outputs) != 1:
            raise ModelError(f"model '{model.name}' has {len(outputs)} outputs; the page shows one")
        outputs = outputs[0]
    return k.Model(inputs, layer(outputs), name=model.name)


def _keras_of(model: Any) -> Any:
    if type(model).__module__.startswith("tf_keras"):
        import tf_keras

        return tf_keras
    import keras

    return keras


def check_probabilities(model: Any, x: np.ndarray, where: str, head: Head) -> None:
    """Refuse a model whose outputs on ``x`` (preprocessed images, NHWC) are not probabilities: a
    value outside [0, 1] or a row not summing to 1 would show the user wrong percentages. With
    ``--head logits``, refuse too when the scores the build adds its softmax to are probabilities
    already (a model averaging softmax heads, whose last layer is no softmax): a second softmax
    would flatten them."""
    if head.kind == "logits":
        k = _keras_of(model)
        scores = k.Model(model.inputs, model.get_layer(SOFTMAX_NAME).input)
        if _are_probabilities(np.asarray(scores(x, training=False), np.float64).reshape(len(x), -1)):
            raise ModelError(
                f"{where}: --head logits, but the model's outputs are probabilities already (each row in [0, 1] "
                f"and summing to 1 on the {len(x)} check images), and a second softmax would flatten them into "
                "wrong percentages; use --head softmax")
    y = np.asarray(model(x, training=False), np.float64).reshape(len(x), -1)
    if not np.all(np.isfinite(y)):
        broken = _layer_with_non_finite_weights(model)
        raise ModelError(
            f"{where}: the model's outputs are NaN or infinite on the {len(x)} check images, so it has no answers "
            "to show: " + (f"layer '{broken.name}' ({type(broken).__name__}) holds NaN or infinite weights (training "
                           "diverged, or the file is damaged); retrain it or save it again" if broken is not None
                           else "a layer overflows; check the model in Keras on a few images"))
    if _are_probabilities(y):
        return
    low, high = float(y.min()), float(y.max())
    sums = y.sum(axis=1)
    # The hint is about the model's own outputs (a one-unit head is 2 columns once applied).
    hint = ("say what they are with --head logits" if head.outputs > 1
            else "say what it is with --head logit" if head.kind == "sigmoid"
            else "say what it is with --head sigmoid or --head logit")
    sums_note = ("" if np.all(np.abs(sums - 1) <= SUM_TOLERANCE)
                 else f", rows summing to {float(sums.min()):.3g} to {float(sums.max()):.3g}")
    raise ModelError(
        f"{where}: the model's outputs are not probabilities (values {low:.3g} to {high:.3g}{sums_note}; head taken "
        f"as {head.kind}), so the page would show wrong percentages; {hint}")


def _layer_with_non_finite_weights(model: Any) -> Any:
    """The first layer (nested models opened up) holding a NaN or infinite weight, or None."""
    from builder.model.dtype_policy import leaf_layers

    return next((layer for layer in leaf_layers(model)
                 if any(not np.all(np.isfinite(w)) for w in layer.get_weights())), None)


def _are_probabilities(y: np.ndarray) -> bool:
    """Whether every row of ``y`` (N, classes) is a probability distribution: values in [0, 1] summing to 1."""
    return (float(y.min()) >= -1e-6 and float(y.max()) <= 1 + 1e-6
            and bool(np.all(np.abs(y.sum(axis=1) - 1) <= SUM_TOLERANCE)))


def prepare(model: Any, info: Any, requested: str, reporter: Any) -> tuple[Any, Any, Head, Any, dict[str, list[str]]]:
    """Read ``model``'s graph once: say what was lowered for TF.js (dropped training-only layers, ...),
    resolve its head, and return ``(model with the head applied, info with the page's class count,
    head, graph, lowered)``. ``graph`` is the :class:`builder.convert.graph.Graph` of the returned model,
    for :func:`builder.convert.layers_model.plan`: the model as read, with the head's layer appended
    (:func:`builder.convert.graph.append`) when the build adds one, so the model is read once; ``lowered``
    is :attr:`builder.convert.graph.Graph.lowered`."""
    from dataclasses import replace

    from builder.convert import graph as graphs

    with naming_model(info.source):
        flat = graphs.from_keras(model)
    for what, names in flat.lowered.items():
        reporter.note(f"{what}: {named(names, 4)}")
    head = resolve(flat, int(info.num_outputs), requested, info.source)
    reporter.note(head.describe())
    applied = apply(model, head)
    if applied is not model:
        flat = graphs.append(flat, applied.layers[-1])
    return applied, replace(info, num_outputs=head.classes), head, flat, flat.lowered
