"""Inference-time rewrites of the flat graph: fewer, cheaper TF.js layers, same numbers.

Runs between :func:`builder.graph.from_keras` and :func:`builder.keras_compat.to_tfjs`.
Five rewrites, in this order:

1. **Drop no-ops.** Dropout and its relatives (identity at inference), and
   ``Activation('linear')``: their consumers read the layer's input instead.
2. **Fold ZeroPadding2D** into the Conv2D or DepthwiseConv2D after it, when that layer
   has ``padding="valid"`` and the padding adds exactly the zeros ``padding="same"``
   would at that input size (Keras's MobileNets pad ``((0, 1), (0, 1))`` before each
   stride-2 depthwise convolution for that reason). The layer gets ``"same"``, and a
   copy of the whole activation (a Pad kernel) is gone. Only when the padding feeds that
   layer alone and the input's size is known.
3. **Fold BatchNormalization** into the Conv2D, DepthwiseConv2D or Dense before it::

       s = gamma / sqrt(moving_variance + epsilon)          (per output channel)
       kernel' = kernel * s
       bias'   = (bias - moving_mean) * s + beta            (bias = 0 without use_bias)

   computed in float64, stored as float32. Only when the layer's output feeds the
   BatchNormalization alone, the layer has no activation of its own, and the
   normalisation is over the channel axis.

   The folded layer remembers the pair it came from (``Node.folded_from``): once the weight
   dtypes are chosen, :mod:`builder.convert.per_channel` writes a folded kernel stored as
   uint8 channel-scaled, its per-channel scales in a BatchNormalization after it.
4. **Fold a constant offset** (``Rescaling(scale=1, offset=c)``, how Keras 3 writes the ``+ 3``
   of MobileNetV3's squeeze-and-excite gate, ``relu6(conv(x) + 3) / 6``) into the bias of the
   Conv2D, DepthwiseConv2D or Dense before it, under the same single-consumer rule:
   ``bias' = bias + c`` (float64, stored as float32). The ReLU6 after it then fuses too, and
   the gate's Add and Relu6 kernels are gone. No Keras weight holds ``bias'`` (Keras adds the
   ``3`` itself), so it stays float32 and the quantized self-check leaves it alone.
5. **Fuse ReLU / ReLU6** (``ReLU()``, ``ReLU(max_value=6)``, ``Activation('relu'|'relu6')``)
   into the activation of the layer before it, under the same single-consumer rule.
   The page and the self-check run every such convolution as one TF.js fused op, bias
   and activation included (``templates/js/tfjs-fixes.js``): TF.js-layers alone would
   run ``relu6`` as ``minimum(6, relu(x))`` after the convolution, which on WASM is
   slower than the separate ``ReLU(max_value=6)`` layer it replaces.

Folded weights no longer exist in the Keras model, yet the quantized self-check must
load what the browser sees back into Keras. So each folded weight carries an
:class:`~builder.graph.Origin`: the folded kernel goes into the conv's kernel, the
folded bias into the BatchNorm's moving mean (negated), and the rest of that
BatchNorm is pinned to an identity, which makes the original Keras layers compute
exactly the folded layer.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable

import numpy as np

from builder.convert.graph import Graph, Node, Origin, input_affine
from builder.convert.topology import WEIGHT_NAMES, pair, zero_padding_pairs

log = logging.getLogger(__name__)

# Identity at inference time (Keras applies them only when training=True).
NO_OP_CLASSES = frozenset({
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "AlphaDropout", "GaussianDropout",
    "GaussianNoise", "ActivityRegularization", "Identity",
})
# Layers with a kernel, a bias and an activation that TF.js layers applies itself.
FOLD_TARGETS = frozenset({"Conv2D", "DepthwiseConv2D", "Dense"})
_KERNEL_NAMES = ("kernel", "depthwise_kernel")


@dataclass(frozen=True)
class Summary:
    """What :func:`optimize` did."""

    folded_batchnorms: int = 0
    fused_activations: int = 0
    dropped_layers: int = 0
    folded_paddings: int = 0
    folded_offsets: int = 0  # Rescaling(scale=1, offset=c) taken into the bias before it
    scaled_kernels: int = 0  # uint8 kernels written channel-scaled, each with a BatchNorm carrying its scales

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def optimize(graph: Graph) -> tuple[Graph, Summary]:
    """Return an equivalent, smaller inference graph and what was rewritten.

    Every folded layer keeps the producer and BatchNormalization it came from (``Node.folded_from``), so
    that the per-channel quantization pass (:mod:`builder.convert.per_channel`) can write it channel-scaled
    once the weight dtypes are chosen. ``graph`` is not modified. Layers that do not meet a rewrite's
    conditions are kept as they are, so this never fails on a graph
    :func:`~builder.convert.topology.to_tfjs` accepts.
    """
    nodes = [replace(n, config=dict(n.config), inputs=list(n.inputs), weights=list(n.weights),
                     origins=dict(n.origins)) for n in graph.nodes]
    outputs = list(graph.outputs)
    nodes, outputs, dropped = _drop_no_ops(nodes, outputs, set(graph.inputs))
    nodes, outputs, paddings = _fold_paddings(nodes, outputs)
    nodes, outputs, folded = _fold_batchnorms(nodes, outputs)
    nodes, outputs, offsets = _fold_offsets(nodes, outputs)
    nodes, outputs, fused = _fuse_activations(nodes, outputs)
    summary = Summary(folded_batchnorms=folded, fused_activations=fused, dropped_layers=dropped,
                      folded_paddings=paddings, folded_offsets=offsets)
    log.info("optimized %s: %d layers -> %d (%s)", graph.name, len(graph.nodes), len(nodes), summary)
    return Graph(nodes=nodes, inputs=list(graph.inputs), outputs=outputs, name=graph.name), summary


# -- passes --------------------------------------------------------------------

def _drop_identities(nodes: list[Node], outputs: list[str], graph_inputs: set[str],
                     is_identity: Callable[[Node, str], bool]) -> tuple[list[Node], list[str], list[str]]:
    """Drop each one-input node that ``is_identity(node, its source)`` says passes its input through: its
    consumers (and the outputs) read that source instead. Returns the nodes kept, the outputs, and
    "name (Class)" of each node dropped."""
    alias: dict[str, str] = {}
    kept, dropped = [], []
    for node in nodes:
        source = _resolve(node.inputs[0], alias) if len(node.inputs) == 1 else None
        # An output that would become the model's input is left alone: TF.js wants a layer there.
        if (source is not None and is_identity(node, source)
                and not (node.name in outputs and source in graph_inputs)):
            alias[node.name] = source
            dropped.append(f"{node.name} ({node.class_name})")
        else:
            kept.append(node)
    kept, outputs = _rewire(kept, outputs, alias)
    return kept, outputs, dropped


def _drop_no_ops(nodes: list[Node], outputs: list[str], graph_inputs: set[str]) -> tuple[list[Node], list[str], int]:
    nodes, outputs, dropped = _drop_identities(nodes, outputs, graph_inputs, lambda node, _: _is_no_op(node))
    return nodes, outputs, len(dropped)


# Layers whose padding="same" can take over the ZeroPadding2D in front of them.
PAD_TARGETS = frozenset({"Conv2D", "DepthwiseConv2D"})


def _fold_paddings(nodes: list[Node], outputs: list[str]) -> tuple[list[Node], list[str], int]:
    consumers = _consumers(nodes, outputs)
    by_name = {n.name: n for n in nodes}
    folded_away: dict[str, str] = {}  # ZeroPadding2D name -> its input
    out = []
    for node in nodes:
        pad = by_name.get(node.inputs[0]) if node.class_name in PAD_TARGETS and len(node.inputs) == 1 else None
        if pad is not None and consumers.get(pad.name) == [node.name] and _pads_as_same(pad, node, by_name):
            folded_away[pad.name] = pad.inputs[0]
            node = replace(node, config={**node.config, "padding": "same"})
        out.append(node)
    out = [node for node in out if node.name not in folded_away]
    return _rewire(out, outputs, folded_away) + (len(folded_away),)


def _pads_as_same(pad: Node, conv: Node, by_name: dict[str, Node]) -> bool:
    """Whether ``pad`` (a node) adds exactly the zeros that ``conv``'s padding="same" would add instead."""
    if pad.class_name != "ZeroPadding2D" or len(pad.inputs) != 1 or conv.config.get("padding") != "valid":
        return False
    if any((n.config.get("data_format") or "channels_last") != "channels_last" for n in (pad, conv)):
        return False
    source = by_name.get(pad.inputs[0])
    shape = source.output_shape if source is not None else None
    if not shape or len(shape) != 4 or any(not isinstance(d, int) for d in shape[1:3]):
        return False
    kernel, strides, dilation = (pair(conv.config.get(key, 1)) for key in ("kernel_size", "strides", "dilation_rate"))
    pads = zero_padding_pairs(pad.config["padding"])
    return all(pads[axis] == _same_pads(shape[1 + axis], kernel[axis], strides[axis], dilation[axis])
               for axis in (0, 1))


def _same_pads(size: int, kernel: int, stride: int, dilation: int) -> list[int]:
    """The zeros TensorFlow's (and TF.js's) padding="same" adds before and after one spatial axis."""
    span = (kernel - 1) * dilation + 1
    total = max((-(-size // stride) - 1) * stride + span - size, 0)
    return [total // 2, total - total // 2]


def _fold_batchnorms(nodes: list[Node], outputs: list[str]) -> tuple[list[Node], list[str], int]:
    consumers = _consumers(nodes, outputs)
    by_name = {n.name: n for n in nodes}
    pairs: dict[str, Node] = {}  # producer name -> the BatchNormalization after it
    for node in nodes:
        if node.class_name == "BatchNormalization" and len(node.inputs) == 1:
            producer = by_name.get(node.inputs[0])
            if producer is not None and _can_fold(producer, node, consumers):
                pairs[producer.name] = node
    folded_away = {bn.name: name for name, bn in pairs.items()}
    folded = {name: _fold(by_name[name], bn) for name, bn in pairs.items()}
    return _replace(nodes, outputs, folded, folded_away) + (len(pairs),)


# Activations fused into the layer before them (relu6: see the module docstring).
FUSED_ACTIVATIONS = ("relu", "relu6")


def _fold_offsets(nodes: list[Node], outputs: list[str]) -> tuple[list[Node], list[str], int]:
    consumers = _consumers(nodes, outputs)
    by_name = {n.name: n for n in nodes}
    plan: dict[str, float] = {}  # producer name -> offset to add to its bias
    folded_away: dict[str, str] = {}
    for node in nodes:
        offset = _constant_offset(node)
        if offset is None or len(node.inputs) != 1:
            continue
        producer = by_name.get(node.inputs[0])
        # A producer with rewritten weights (a folded BatchNorm) keeps its bias where the self-check finds it.
        if (producer is not None and producer.class_name in FOLD_TARGETS and _is_linear(producer)
                and not producer.origins and producer.folded_from is None and _kernel(producer) is not None
                and consumers.get(producer.name) == [node.name]):
            plan[producer.name] = offset
            folded_away[node.name] = producer.name
    biased = {name: _with_offset(by_name[name], offset) for name, offset in plan.items()}
    return _replace(nodes, outputs, biased, folded_away) + (len(plan),)


def _replace(nodes: list[Node], outputs: list[str], rewritten: dict[str, Node],
             folded_away: dict[str, str]) -> tuple[list[Node], list[str]]:
    """``nodes`` with each node named in ``rewritten`` replaced by its rewrite and each node in ``folded_away``
    (name -> the node it was folded into) removed, its consumers rewired (:func:`_rewire`)."""
    out = [rewritten.get(n.name, n) for n in nodes if n.name in rewritten or n.name not in folded_away]
    return _rewire(out, outputs, folded_away)


def _constant_offset(node: Node) -> float | None:
    """``c`` if ``node`` is ``Rescaling(scale=1, offset=c)`` with scalar ``c``, else None."""
    if node.class_name != "Rescaling":
        return None
    scale, offset = node.config.get("scale", 1.0), node.config.get("offset", 0.0)
    if isinstance(scale, (list, tuple, dict)) or isinstance(offset, (list, tuple, dict)) or float(scale) != 1.0:
        return None
    return float(offset)


def _with_offset(producer: Node, offset: float) -> Node:
    kernel_name, kernel = _kernel(producer)
    weights = dict(producer.weights)
    bias = np.asarray(weights["bias"], np.float64) if "bias" in weights else np.zeros(
        _out_channels(producer.class_name, kernel), np.float64)
    new_weights = [(name, value) for name, value in producer.weights if name != "bias"]
    new_weights.append(("bias", (bias + offset).astype(np.float32)))
    return replace(producer, config={**producer.config, "use_bias": True}, weights=new_weights,
                   origins={**producer.origins, "bias": Origin(None, 0)})


def _fuse_activations(nodes: list[Node], outputs: list[str]) -> tuple[list[Node], list[str], int]:
    consumers = _consumers(nodes, outputs)
    by_name = {n.name: n for n in nodes}
    plan: dict[str, str] = {}  # producer name -> TF.js activation to give it
    fused_away: dict[str, str] = {}
    for node in nodes:
        activation = _relu_activation(node)
        if activation not in FUSED_ACTIVATIONS or len(node.inputs) != 1:
            continue
        producer = by_name.get(node.inputs[0])
        if (producer is not None and producer.class_name in FOLD_TARGETS and _is_linear(producer)
                and consumers.get(producer.name) == [node.name]):
            plan[producer.name] = activation
            fused_away[node.name] = producer.name
    out = []
    for node in nodes:
        if node.name in plan:
            out.append(replace(node, config={**node.config, "activation": plan[node.name]}))
        elif node.name not in fused_away:
            out.append(node)
    return _rewire(out, outputs, fused_away) + (len(plan),)


# -- batch norm folding ----------------------------------------------------------

def _can_fold(producer: Node, bn: Node, consumers: dict[str, list[str]]) -> bool:
    if producer.class_name not in FOLD_TARGETS or not _is_linear(producer) or producer.origins:
        return False
    if consumers.get(producer.name) != [bn.name]:  # another reader needs the un-normalised values
        return False
    if producer.layer is None or bn.layer is None or int(producer.config.get("groups", 1) or 1) != 1:
        return False
    if not _channel_axis(bn):
        return False
    weights = dict(bn.weights)
    if "moving_mean" not in weights or "moving_variance" not in weights:
        return False
    kernel = _kernel(producer)
    return kernel is not None and weights["moving_mean"].shape == (_out_channels(producer.class_name, kernel[1]),)


def _fold(producer: Node, bn: Node) -> Node:
    """``producer`` with ``bn`` folded into its kernel and bias (float64 math, float32 result)."""
    bn_weights = dict(bn.weights)
    bn_index = {name: i for i, (name, _) in enumerate(bn.weights)}
    eps = float(bn.config.get("epsilon", 1e-3))
    mean = bn_weights["moving_mean"].astype(np.float64)
    var = bn_weights["moving_variance"].astype(np.float64)
    gamma = bn_weights["gamma"].astype(np.float64) if "gamma" in bn_weights else np.ones_like(mean)
    beta = bn_weights["beta"].astype(np.float64) if "beta" in bn_weights else np.zeros_like(mean)
    scale = gamma / np.sqrt(var + eps)

    kernel_name, kernel = _kernel(producer)
    kernel64 = kernel.astype(np.float64)
    if producer.class_name == "DepthwiseConv2D":
        # Kernel (kh, kw, in, multiplier); output channel c = i * multiplier + m.
        folded_kernel = kernel64 * scale.reshape(kernel.shape[-2], kernel.shape[-1])
    else:  # Conv2D (kh, kw, in, out) and Dense (in, out): output channel is the last axis
        folded_kernel = kernel64 * scale
    own = dict(producer.weights)
    bias = own["bias"].astype(np.float64) if "bias" in own else np.zeros_like(mean)
    folded_bias = (bias - mean) * scale + beta

    producer_index = {name: i for i, (name, _) in enumerate(producer.weights)}
    channels = mean.shape
    # Pinned so that, in Keras, BN(conv(x)) = conv(x; kernel') + bias' (see the module docstring).
    pinned: list[tuple[Any, int, np.ndarray]] = [
        (bn.layer, bn_index["moving_variance"], np.full(channels, 1.0 - eps, np.float32))]
    if "gamma" in bn_index:
        pinned.append((bn.layer, bn_index["gamma"], np.ones(channels, np.float32)))
    if "beta" in bn_index:
        pinned.append((bn.layer, bn_index["beta"], np.zeros(channels, np.float32)))
    if "bias" in producer_index:
        pinned.append((producer.layer, producer_index["bias"], np.zeros(channels, np.float32)))
    origins = {
        kernel_name: Origin(producer.layer, producer_index[kernel_name], 1.0, tuple(pinned)),
        "bias": Origin(bn.layer, bn_index["moving_mean"], -1.0),
    }
    return replace(
        producer,
        config={**producer.config, "use_bias": True},
        weights=[(kernel_name, folded_kernel.astype(np.float32)), ("bias", folded_bias.astype(np.float32))],
        output_shape=bn.output_shape or producer.output_shape,
        origins=origins,
        folded_from=(producer, bn),
    )


def _kernel(node: Node) -> tuple[str, np.ndarray] | None:
    for name, value in node.weights:
        if name in _KERNEL_NAMES:
            return name, value
    return None


def _out_channels(class_name: str, kernel: np.ndarray) -> int:
    if class_name == "DepthwiseConv2D":
        return int(kernel.shape[-2] * kernel.shape[-1])
    return int(kernel.shape[-1])


def _channel_axis(bn: Node) -> bool:
    axis = bn.config.get("axis", -1)
    if isinstance(axis, (list, tuple)):
        if len(axis) != 1:
            return False
        axis = axis[0]
    rank = len(bn.output_shape) if bn.output_shape else None
    return axis == -1 or (rank is not None and axis == rank - 1)


# -- activations -------------------------------------------------------------------

def _activation_name(value: Any) -> str:
    if value is None:
        return "linear"
    if isinstance(value, dict):  # a serialized function object
        value = value.get("config", value.get("class_name"))
    return str(value)


def _is_linear(node: Node) -> bool:
    return _activation_name(node.config.get("activation")) == "linear"


def _relu_activation(node: Node) -> str | None:
    """``"relu"`` or ``"relu6"`` if ``node`` is exactly that function of its input, else None."""
    if node.class_name == "Activation":
        name = _activation_name(node.config.get("activation"))
        return name if name in ("relu", "relu6") else None
    if node.class_name != "ReLU":
        return None
    cfg = node.config
    if float(cfg.get("negative_slope") or 0.0) != 0.0 or float(cfg.get("threshold") or 0.0) != 0.0:
        return None
    max_value = cfg.get("max_value")
    if max_value is None:
        return "relu"
    return "relu6" if float(max_value) == 6.0 else None


def _is_no_op(node: Node) -> bool:
    if node.class_name in NO_OP_CLASSES:
        return True
    return node.class_name == "Activation" and _activation_name(node.config.get("activation")) == "linear"


# -- wiring ------------------------------------------------------------------------

def _consumers(nodes: list[Node], outputs: list[str]) -> dict[str, list[str]]:
    """Node name -> the nodes reading it, once per use; a model output counts as a reader."""
    readers: dict[str, list[str]] = {}
    for node in nodes:
        for source in node.inputs:
            readers.setdefault(source, []).append(node.name)
    for name in outputs:
        readers.setdefault(name, []).append("<output>")
    return readers


def _resolve(name: str, alias: dict[str, str]) -> str:
    while name in alias:
        name = alias[name]
    return name


def _rewire(nodes: list[Node], outputs: list[str], alias: dict[str, str]) -> tuple[list[Node], list[str]]:
    if not alias:
        return nodes, outputs
    for node in nodes:
        node.inputs = [_resolve(name, alias) for name in node.inputs]
    return nodes, [_resolve(name, alias) for name in outputs]


# -- lowering: what every graph needs before TF.js can run it (with or without --optimize) -------------

# Identity at inference (Keras applies them only when training=True): the data augmentation that
# TensorFlow's tutorials put inside the model. RandomCrop is not among them: at inference it centre-crops
# or resizes (tf-keras, older Keras 3), so it is refused by name instead (TRAINING_ONLY_REFUSED).
TRAINING_ONLY = frozenset({
    "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast", "RandomBrightness",
    "RandomHeight", "RandomWidth", "RandomSaturation", "RandomHue", "RandomSharpness", "RandomGrayscale",
    "RandomColorDegeneration", "RandomColorJitter", "RandomShear", "RandomPerspective", "RandomErasing",
    "RandomGaussianBlur", "RandomInvert", "RandomPosterization", "RandomElasticTransform", "AugMix", "CutMix",
    "MixUp", "RandAugment",
})
TRAINING_ONLY_REFUSED = {
    "RandomCrop": "at inference it centre-crops (or resizes) the image to its height and width, which the "
                  "page cannot reproduce; remove it (crop in your data pipeline instead) and save the model again",
}
# Keras's hard activations, by the name each Keras version writes.
HARD_SIGMOID = "hard_sigmoid"
HARD_SWISH = ("hard_silu", "hard_swish")


def lower(graph: Graph) -> Graph:
    """Rewrite ``graph`` (exactly, for inference) into layers that stock TF.js 4.22 runs:

    - training-only layers (:data:`TRAINING_ONLY`, Keras's ``Random*`` augmentation) are dropped;
    - Keras 3's ``hard_sigmoid`` (relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1)) becomes
      ``Rescaling(1/6, 0.5)`` → ``ReLU(max_value=1)``; Keras 2's (clip(0.2x + 0.5, 0, 1)) is TF.js's
      own ``hard_sigmoid`` and stays; ``hard_silu``/``hard_swish`` (x · hard_sigmoid(x)) adds a
      ``Multiply`` with x;
    - ``SeparableConv2D`` becomes ``DepthwiseConv2D`` → 1×1 ``Conv2D`` (so BatchNorm folding and the
      page's fused convolutions apply);
    - ``Conv2D(groups=C)`` with C input and C output channels becomes ``DepthwiseConv2D``;
    - ``Normalization`` and per-channel ``Rescaling`` become a 1×1 ``DepthwiseConv2D`` computing
      x · s + o per channel (Keras 3's Normalization: s = 1 / max(sqrt(var), 1e-7), o = -mean · s);
    - a ``Flatten`` of a tensor that is already (batch, n) is dropped: Keras passes it through, TF.js
      layers refuses it ("expected min_ndim=3").

    ``graph.lowered`` records what was rewritten. Raises :class:`UnsupportedLayerError` for a
    layer with no exact translation (RandomCrop, other group counts), naming it and its class.
    """
    nodes = [replace(n, config=dict(n.config), inputs=list(n.inputs), weights=list(n.weights),
                     origins=dict(n.origins)) for n in graph.nodes]
    outputs = list(graph.outputs)
    notes: dict[str, list[str]] = {}
    nodes, outputs, dropped = _drop_training_only(nodes, outputs, set(graph.inputs))
    if dropped:
        notes["dropped training-only layers"] = dropped
    nodes, outputs, flat = _drop_flatten_of_flat(nodes, outputs, set(graph.inputs))
    if flat:
        notes["dropped Flatten of a tensor already flat (an identity; TF.js layers refuses it)"] = flat
    taken = {n.name for n in nodes}
    for rewrite, label in ((_split_separable, "SeparableConv2D split into depthwise + pointwise"),
                           (_grouped_as_depthwise, "Conv2D(groups=channels) written as DepthwiseConv2D"),
                           (_per_channel_affine, "per-channel scaling written as a 1x1 DepthwiseConv2D")):
        nodes, done = rewrite(nodes, taken)
        if done:
            notes[label] = done
    nodes, outputs, hard = _lower_hard_activations(nodes, outputs, taken, graph.keras_version)
    if hard:
        notes[f"Keras {graph.keras_version} hard-sigmoid/hard-swish written as TF.js layers"] = hard
    return replace(graph, nodes=nodes, outputs=outputs, lowered=notes)


def _drop_training_only(nodes: list[Node], outputs: list[str],
                        graph_inputs: set[str]) -> tuple[list[Node], list[str], list[str]]:
    from builder.errors import UnsupportedLayerError

    for node in nodes:
        if node.class_name in TRAINING_ONLY_REFUSED:
            raise UnsupportedLayerError(f"layer '{node.name}' ({node.class_name}): "
                                        f"{TRAINING_ONLY_REFUSED[node.class_name]}")
    return _drop_identities(nodes, outputs, graph_inputs, lambda node, _: node.class_name in TRAINING_ONLY)


def _drop_flatten_of_flat(nodes: list[Node], outputs: list[str],
                          graph_inputs: set[str]) -> tuple[list[Node], list[str], list[str]]:
    shapes = {node.name: node.output_shape for node in nodes if node.class_name != "InputLayer"}
    return _drop_identities(nodes, outputs, graph_inputs,
                            lambda node, source: node.class_name == "Flatten" and len(shapes.get(source) or ()) == 2)


def _fresh(name: str, taken: set[str]) -> str:
    candidate, i = name, 1
    while candidate in taken:
        i += 1
        candidate = f"{name}_{i}"
    taken.add(candidate)
    return candidate


def _weight_index(node: Node, name: str) -> int:
    return [n for n, _ in node.weights].index(name)


def _split_separable(nodes: list[Node], taken: set[str]) -> tuple[list[Node], list[str]]:
    out, done = [], []
    for node in nodes:
        if node.class_name != "SeparableConv2D":
            out.append(node)
            continue
        cfg, weights = node.config, dict(node.weights)
        depthwise_name = _fresh(f"{node.name}_depthwise", taken)
        depthwise = Node(depthwise_name, "DepthwiseConv2D", {
            "name": depthwise_name, "kernel_size": cfg["kernel_size"], "strides": cfg.get("strides", 1),
            "padding": cfg.get("padding", "valid"), "depth_multiplier": int(cfg.get("depth_multiplier", 1)),
            "data_format": cfg.get("data_format"), "dilation_rate": cfg.get("dilation_rate", 1),
            "activation": "linear", "use_bias": False,
        }, list(node.inputs), [("depthwise_kernel", weights["depthwise_kernel"])], node.layer, None,
            {"depthwise_kernel": Origin(node.layer, _weight_index(node, "depthwise_kernel"))})
        pointwise_weights = [("kernel", weights["pointwise_kernel"])]
        origins = {"kernel": Origin(node.layer, _weight_index(node, "pointwise_kernel"))}
        if "bias" in weights:
            pointwise_weights.append(("bias", weights["bias"]))
            origins["bias"] = Origin(node.layer, _weight_index(node, "bias"))
        pointwise = Node(node.name, "Conv2D", {
            "name": node.name, "filters": int(cfg["filters"]), "kernel_size": [1, 1], "strides": [1, 1],
            "padding": "valid", "data_format": cfg.get("data_format"), "dilation_rate": [1, 1],
            "activation": cfg.get("activation"), "use_bias": "bias" in weights, "groups": 1,
        }, [depthwise_name], pointwise_weights, node.layer, node.output_shape, origins)
        out += [depthwise, pointwise]
        done.append(node.name)
    return out, done


def _grouped_as_depthwise(nodes: list[Node], taken: set[str]) -> tuple[list[Node], list[str]]:
    from builder.errors import UnsupportedLayerError

    out, done = [], []
    for node in nodes:
        groups = int(node.config.get("groups", 1) or 1) if node.class_name == "Conv2D" else 1
        if groups == 1:
            out.append(node)
            continue
        weights = dict(node.weights)
        kernel = weights["kernel"]  # (kh, kw, in / groups, out)
        channels_in, channels_out = int(kernel.shape[2]) * groups, int(kernel.shape[3])
        if not (groups == channels_in == channels_out):
            raise UnsupportedLayerError(
                f"layer '{node.name}' (Conv2D): groups={groups} with {channels_in} input and {channels_out} output "
                "channels is a grouped convolution, which TF.js layers lacks; only groups equal to both channel "
                "counts (a depthwise convolution) is supported")
        cfg = node.config
        config = {"name": node.name, "kernel_size": cfg["kernel_size"], "strides": cfg.get("strides", 1),
                  "padding": cfg.get("padding", "valid"), "depth_multiplier": 1,
                  "data_format": cfg.get("data_format"), "dilation_rate": cfg.get("dilation_rate", 1),
                  "activation": cfg.get("activation"), "use_bias": bool(cfg.get("use_bias", True))}
        # (kh, kw, 1, C) -> (kh, kw, C, 1): the same numbers in the same order, so the Keras layer takes it back
        # by a reshape (self-check), and a BatchNorm after it folds as into any depthwise convolution.
        new_weights = [("kernel", kernel.reshape(kernel.shape[0], kernel.shape[1], channels_in, 1))]
        new_weights += [(name, value) for name, value in node.weights if name != "kernel"]
        out.append(replace(node, class_name="DepthwiseConv2D", config=config, weights=new_weights))
        done.append(node.name)
    return out, done


def _per_channel_affine(nodes: list[Node], taken: set[str]) -> tuple[list[Node], list[str]]:
    from builder.convert.graph import AFFINE_MARK
    from builder.errors import UnsupportedLayerError

    out, done = [], []
    for node in nodes:
        affine = _affine_of(node)
        if affine is None:
            out.append(node)
            continue
        scale, offset = affine
        shape = node.output_shape
        if not shape or len(shape) != 4:
            raise UnsupportedLayerError(f"layer '{node.name}' ({node.class_name}): per-channel scaling is "
                                        "supported on images (batch, height, width, channels) only; on a feature "
                                        "vector, fold it into the Dense layer after it before saving")
        channels = int(shape[-1])
        scale = np.broadcast_to(scale, (channels,)).astype(np.float32)
        offset = np.broadcast_to(offset, (channels,)).astype(np.float32)
        # No Keras weight holds these (layer None): the self-check leaves them alone, so they stay float32.
        origins = {name: Origin(None, 0) for name in ("depthwise_kernel", "bias")}
        out.append(Node(node.name, "DepthwiseConv2D", {
            "name": node.name, "kernel_size": [1, 1], "strides": [1, 1], "padding": "valid", "depth_multiplier": 1,
            "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "linear", "use_bias": True,
            AFFINE_MARK: node.class_name,
        }, list(node.inputs), [("depthwise_kernel", scale.reshape(1, 1, channels, 1)), ("bias", offset)],
            None, node.output_shape, origins))
        done.append(f"{node.name} ({node.class_name})")
    return out, done


def _affine_of(node: Node) -> tuple[np.ndarray, np.ndarray] | None:
    """``(scale, offset)`` (float64, per channel) if ``node`` is a Normalization or a per-channel Rescaling."""
    from builder.errors import UnsupportedLayerError

    cfg = node.config
    if node.class_name == "Rescaling":
        if not any(isinstance(cfg.get(key), (list, tuple)) for key in ("scale", "offset")):
            return None  # TF.js's own Rescaling
        return input_affine(node)
    if node.class_name != "Normalization":
        return None
    axis = cfg.get("axis", -1)
    axis = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
    rank = len(node.output_shape) if node.output_shape else None
    if cfg.get("invert") or axis not in ((-1,),) and not (rank and axis == (rank - 1,)):
        raise UnsupportedLayerError(f"layer '{node.name}' (Normalization): only normalising each channel "
                                    "(axis=-1, invert=False) is supported")
    return input_affine(node)


def _activation_of(node: Node) -> str:
    return _activation_name(node.config.get("activation"))


def _lower_hard_activations(nodes: list[Node], outputs: list[str], taken: set[str],
                            keras_version: int) -> tuple[list[Node], list[str], list[str]]:
    out: list[Node] = []
    moved: dict[str, str] = {}  # a node's old name -> the node that now gives its value
    done = []
    for node in nodes:
        node.inputs = [moved.get(name, name) for name in node.inputs]
        name = _activation_of(node) if "activation" in node.config else "linear"
        swish = name in HARD_SWISH
        sigmoid = name == HARD_SIGMOID and keras_version == 3  # Keras 2's is TF.js's own hard_sigmoid
        if not (swish or sigmoid):
            out.append(node)
            continue
        done.append(node.name)
        if node.class_name == "Activation":
            source, final = node.inputs[0], node.name  # the Activation's own name ends the chain
        else:
            out.append(replace(node, config={**node.config, "activation": "linear"}))
            source, final = node.name, None
        chain = _hard_sigmoid_nodes(source, node, taken, final=None if swish else final)
        if swish:
            end = final or _fresh(f"{node.name}_hard_swish", taken)
            chain.append(Node(end, "Multiply", {"name": end}, [source, chain[-1].name], output_shape=node.output_shape))
        out += chain
        if final is None:
            moved[node.name] = chain[-1].name
    outputs = [moved.get(name, name) for name in outputs]
    return out, outputs, done


def _hard_sigmoid_nodes(source: str, node: Node, taken: set[str], final: str | None) -> list[Node]:
    """Keras 3's hard_sigmoid of ``source``: clip(x / 6 + 0.5, 0, 1), as Rescaling → ReLU(max_value=1)."""
    scaled = _fresh(f"{node.name}_hard_sigmoid_scale", taken)
    clipped = final or _fresh(f"{node.name}_hard_sigmoid", taken)
    return [Node(scaled, "Rescaling", {"name": scaled, "scale": 1.0 / 6.0, "offset": 0.5}, [source],
                 output_shape=node.output_shape),
            Node(clipped, "ReLU", {"name": clipped, "max_value": 1.0}, [scaled], output_shape=node.output_shape)]
