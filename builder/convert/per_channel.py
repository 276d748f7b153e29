"""Per-channel uint8 quantization inside TF.js's per-tensor format: channel-scaled kernels.

uint8 has one scale per tensor, and a folded MobileNetV2 depthwise kernel's widest channel spans up to 49x its
median one, so per tensor the narrow channels keep a handful of the 256 levels. A folded kernel (a convolution
with a BatchNormalization folded in, :mod:`builder.convert.inference_rewrites`) that will be stored as uint8 is
therefore written **channel-scaled**: the kernel with each output channel divided by its largest magnitude (so
every channel spans [-1, 1]) and no bias, followed by a BatchNormalization that multiplies the scales back and
adds the folded bias (``gamma`` = the scales, ``beta`` = the folded bias, mean 0, variance 1 - epsilon; kept
float32). Stock TF.js loads it as it is.

This pass runs after the weight dtypes are chosen (by ``--quantize`` or the ``auto`` search), on the optimized
graph the choice was made for. Only folds whose BatchNormalization has both ``gamma`` and ``beta`` (where the
self-check can put the scales back into Keras) are scaled.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from builder.convert.graph import Graph, Node, Origin
from builder.convert.quantization import channel_scaled
from builder.convert.topology import WEIGHT_NAMES

_KERNEL_NAMES = ("kernel", "depthwise_kernel")


@dataclass(frozen=True)
class Scaled:
    """What :func:`scale` did."""

    graph: Graph
    kernels: int = 0  # folded kernels written channel-scaled
    unfused: int = 0  # of those, how many had an activation fused in, now applied after the scales
    # The weights it added, by TF.js name: the folded model's weight whose dtype each takes (the bias moved
    # into the BatchNorm after a scaled kernel), or None: always float32 (the scales, and that BatchNorm's
    # mean and variance).
    dtype_from: dict[str, str | None] = field(default_factory=dict)


def kernel_axes(graph: Graph) -> dict[str, tuple[int, ...]]:
    """Each folded kernel that :func:`scale` can write channel-scaled, by TF.js name (``Conv1/kernel``), with
    the axes its per-output-channel scales reduce over: (0, 1) for a depthwise kernel (kh, kw, in, multiplier),
    all but the last for a convolution or dense kernel. A fold whose BatchNormalization lacks ``gamma`` or
    ``beta`` (nowhere for the self-check to put the scales back into Keras) is not listed."""
    out = {}
    for node in graph.nodes:
        kernel_name = _kernel_name(node)
        if node.folded_from is None or kernel_name is None:
            continue
        producer, bn = node.folded_from
        if not {"gamma", "beta"} <= {name for name, _ in bn.weights}:
            continue
        ndim = dict(node.weights)[kernel_name].ndim
        axes = (0, 1) if producer.class_name == "DepthwiseConv2D" else tuple(range(ndim - 1))
        out[_tfjs_name(node, kernel_name)] = axes
    return out


def scale(graph: Graph, stored_as_uint8: Callable[[str], bool]) -> Scaled:
    """``graph`` with every folded kernel that is stored as uint8 written channel-scaled.

    ``stored_as_uint8(name)`` is asked with the TF.js name of each folded kernel (``Conv1/kernel``), as the
    dtype map names it. An activation fused into such a layer must act after the scales, so it becomes an
    ``Activation`` layer after the BatchNormalization. ``graph`` is not modified.
    """
    axes = kernel_axes(graph)
    nodes: list[Node] = []
    alias: dict[str, str] = {}  # a scaled layer's name -> the last node of what replaced it
    dtype_from: dict[str, str | None] = {}
    kernels = unfused = 0
    for node in graph.nodes:
        node = replace(node, inputs=[alias.get(name, name) for name in node.inputs])
        kernel_name = _kernel_name(node)
        tfjs_name = kernel_name and _tfjs_name(node, kernel_name)
        if tfjs_name in axes and stored_as_uint8(tfjs_name):
            chain = _channel_scaled(node, *node.folded_from, axes[tfjs_name])
            scaler = chain[1]
            for name, _ in scaler.weights:
                dtype_from[_tfjs_name(scaler, name)] = (_tfjs_name(node, "bias") if name == "beta" else None)
            nodes.extend(chain)
            alias[node.name] = chain[-1].name
            kernels += 1
            unfused += len(chain) == 3
        else:
            nodes.append(node)
    if not kernels:
        return Scaled(graph)
    outputs = [alias.get(name, name) for name in graph.outputs]
    return Scaled(replace(graph, nodes=nodes, outputs=outputs), kernels, unfused, dtype_from)


def _channel_scaled(folded: Node, producer: Node, bn: Node, axes: tuple[int, ...]) -> list[Node]:
    """``folded`` (``producer`` with ``bn`` folded in) as a convolution whose output channels each span
    [-1, 1] (scales reduced over ``axes``), with no bias, then ``bn`` rewritten to multiply the scales back
    and add the folded bias."""
    kernel_name = _kernel_name(folded)
    kernel = dict(folded.weights)[kernel_name]
    folded_origin = folded.origins[kernel_name]
    normalized, scales = channel_scaled(kernel, axes)
    bias = dict(folded.weights)["bias"]
    channels = bias.shape
    # The conv's own Keras bias (if any) stays pinned to zero, as in the fold; the BatchNorm is no longer pinned.
    conv_pins = tuple(pin for pin in folded_origin.pinned if pin[0] is producer.layer)
    activation = folded.config.get("activation") or "linear"
    conv = replace(folded, config={**folded.config, "use_bias": False, "activation": "linear"},
                   weights=[(kernel_name, normalized)],
                   output_shape=producer.output_shape, folded_from=None,
                   origins={kernel_name: Origin(producer.layer, folded_origin.index, pinned=conv_pins)})
    eps = float(bn.config.get("epsilon", 1e-3))
    values = {"gamma": scales.reshape(-1), "beta": bias, "moving_mean": np.zeros(channels, np.float32),
              "moving_variance": np.full(channels, 1.0 - eps, np.float32)}
    bn_index = {name: i for i, (name, _) in enumerate(bn.weights)}
    scaler = replace(bn, inputs=[conv.name], weights=[(name, values[name]) for name, _ in bn.weights],
                     origins={name: Origin(bn.layer, bn_index[name]) for name in values})
    if activation == "linear":
        return [conv, scaler]
    name = f"{bn.name}_{activation}"
    return [conv, scaler, Node(name, "Activation", {"name": name, "activation": activation}, [scaler.name],
                               output_shape=bn.output_shape)]


def _kernel_name(node: Node) -> str | None:
    return next((name for name, _ in node.weights if name in _KERNEL_NAMES), None)


def _tfjs_name(node: Node, weight: str) -> str:
    """``weight`` of ``node`` as TF.js (and so a dtype map) names it: ``Conv1/kernel``."""
    return f"{node.name}/{WEIGHT_NAMES[node.class_name][weight]}"
