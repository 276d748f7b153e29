"""Model size figures for the report: parameters and multiply-adds, read off the flat graph."""

from __future__ import annotations

import math

from builder.convert.graph import Graph, Node


def parameters(graph: Graph) -> int:
    return sum(int(w.size) for node in graph.nodes for _, w in node.weights)


def multiply_adds(graph: Graph) -> int:
    """Multiply-accumulates for one image, counted as in Howard et al. (convolutions and dense layers)."""
    return sum(_macs(node) for node in graph.nodes)


def _macs(node: Node) -> int:
    weights = dict(node.weights)
    kernel = weights.get("kernel", weights.get("depthwise_kernel"))
    if kernel is None:
        return 0
    if node.class_name in ("Conv2D", "DepthwiseConv2D") and node.output_shape:
        # Each output position applies the whole kernel; for depthwise that is one filter per channel,
        # which is exactly the 8-9x saving the MobileNet paper counts.
        return int(node.output_shape[1]) * int(node.output_shape[2]) * int(kernel.size)
    if node.class_name == "Dense":
        return int(math.prod(kernel.shape))
    return 0
