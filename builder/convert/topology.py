"""Flat layer graph → a TF.js 4.22 layers topology (Keras 2 style JSON) and named weights.

Every supported layer class has one entry in :data:`TRANSLATORS`: it checks the
options TF.js cannot honour (naming the layer when it refuses) and returns the
Keras-2-style config TF.js deserializes. Anything not in the table is refused by
name, so an unsupported layer fails the build instead of failing in the browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from builder.errors import UnsupportedLayerError
from builder.convert.graph import Graph, Node, Origin

# Activations TF.js 4.22 implements with Keras's exact semantics. hard_sigmoid is Keras 2's,
# clip(0.2x + 0.5, 0, 1), as TF.js's hardSigmoid: Keras 3's (relu6(x + 3) / 6) and hard_silu /
# hard_swish never reach this table, inference_rewrites.lower() writes them as other layers.
ACTIVATIONS = {
    "linear": "linear", "relu": "relu", "relu6": "relu6", "sigmoid": "sigmoid", "softmax": "softmax",
    "tanh": "tanh", "elu": "elu", "selu": "selu", "softplus": "softplus", "softsign": "softsign",
    "swish": "swish", "silu": "swish", "hard_sigmoid": "hard_sigmoid",
}
# Keras weight name -> TF.js weight name, per class, in TF.js's order.
WEIGHT_NAMES: dict[str, dict[str, str]] = {
    "Conv2D": {"kernel": "kernel", "bias": "bias"},
    "DepthwiseConv2D": {"kernel": "depthwise_kernel", "depthwise_kernel": "depthwise_kernel", "bias": "bias"},
    "Dense": {"kernel": "kernel", "bias": "bias"},
    "BatchNormalization": {"gamma": "gamma", "beta": "beta", "moving_mean": "moving_mean",
                           "moving_variance": "moving_variance"},
}
_ZEROS = {"class_name": "Zeros", "config": {}}
# What the inference rewrites (builder.convert.inference_rewrites) turn into the layers above before a model
# gets here, so the refusal's list of supported layers names them too (docs/models.md has the whole list).
REWRITTEN_FIRST = ("SeparableConv2D, Normalization, Keras's Random* augmentation and Dropout layers "
                   "(rewritten or dropped first; see docs/models.md)")

Translator = Callable[[Node], dict[str, Any]]


@dataclass(frozen=True)
class Weight:
    """A weight as TF.js names it, and where it lives in the Keras model (for the self-check)."""

    name: str  # "Conv1/kernel"
    data: np.ndarray  # float32, the shape TF.js reads
    origin: Origin  # the Keras layer (and index, sign, pinned values) that holds it


def refusal(node: Node) -> str | None:
    """Why TF.js layers cannot run ``node`` as it is (``"layer 'x' (Sigmoid) is not supported by TF.js layers; ..."``),
    or None: it can, or the inference rewrites turn it into layers that can (:data:`REWRITTEN_FIRST`). For a look at
    one layer before the whole model is translated (:func:`to_tfjs` raises the same)."""
    from builder.convert.inference_rewrites import NO_OP_CLASSES, TRAINING_ONLY

    if node.class_name in {*NO_OP_CLASSES, *TRAINING_ONLY, "SeparableConv2D", "Normalization"}:
        return None
    translate = TRANSLATORS.get(node.class_name)
    if translate is None:
        return (f"layer '{node.name}' ({node.class_name}) is not supported by TF.js layers; "
                f"supported: {', '.join(sorted(TRANSLATORS))}, and {REWRITTEN_FIRST}")
    try:
        for written in _rewrite([node]):  # as to_tfjs writes it (keepdims pooling: pooling and a Reshape)
            TRANSLATORS[written.class_name](written)
    except _Refuse as e:
        return f"layer '{node.name}' ({node.class_name}): {e}"
    except UnsupportedLayerError as e:
        return str(e)
    return None


def to_tfjs(graph: Graph, where: str) -> tuple[dict[str, Any], list[Weight]]:
    """Return ``(model_topology, weights)`` for ``graph``; weights carry the names TF.js looks up.

    ``where`` (the model's source) prefixes error messages.
    """
    nodes = _rewrite(graph.nodes)
    layers, weights = [], []
    for node in nodes:
        translate = TRANSLATORS.get(node.class_name)
        if translate is None:
            raise UnsupportedLayerError(
                f"{where}: layer '{node.name}' ({node.class_name}) is not supported by TF.js layers; "
                f"supported: {', '.join(sorted(TRANSLATORS))}, and {REWRITTEN_FIRST}")
        try:
            config = translate(node)
        except _Refuse as e:
            raise UnsupportedLayerError(f"{where}: layer '{node.name}' ({node.class_name}): {e}") from None
        config["name"] = node.name
        config["trainable"] = False
        config["dtype"] = "float32"
        layers.append({
            "class_name": node.class_name,
            "config": config,
            "name": node.name,
            "inbound_nodes": [[[src, 0, 0, {}] for src in node.inputs]] if node.inputs else [],
        })
        weights.extend(_weights(node, where))
    topology = {
        "class_name": "Functional",
        "config": {
            "name": graph.name,
            "trainable": False,
            "layers": layers,
            "input_layers": [[name, 0, 0] for name in graph.inputs],
            "output_layers": [[name, 0, 0] for name in graph.outputs],
        },
        "keras_version": "2.19.0",  # the dialect written, which is what TF.js 4.22 reads
        "backend": "tensorflow",
    }
    return topology, weights


class _Refuse(Exception):
    """An option TF.js cannot honour; the message says which."""


def _rewrite(nodes: list[Node]) -> list[Node]:
    """Graph rewrites for constructs TF.js 4.22 lacks but can express with two layers.

    GlobalAveragePooling2D(keepdims=True) (Keras 3's MobileNet V1 head) → pooling + Reshape,
    since TF.js ignores ``keepDims``.
    """
    out: list[Node] = []
    for node in nodes:
        if node.class_name in ("GlobalAveragePooling2D", "GlobalMaxPooling2D") and node.config.get("keepdims"):
            pooled = Node(f"{node.name}_pool", node.class_name, {**node.config, "keepdims": False}, node.inputs)
            channels = node.output_shape[-1] if node.output_shape else None
            if channels is None:
                raise UnsupportedLayerError(f"layer '{node.name}': keepdims pooling with unknown channel count")
            reshape = Node(node.name, "Reshape", {"target_shape": [1, 1, int(channels)]}, [pooled.name],
                           output_shape=node.output_shape)
            out += [pooled, reshape]
        else:
            out.append(node)
    return out


def _weights(node: Node, where: str) -> list[Weight]:
    if not node.weights:
        return []
    names = WEIGHT_NAMES.get(node.class_name)
    if names is None:
        raise UnsupportedLayerError(f"{where}: layer '{node.name}' ({node.class_name}) has weights TF.js would ignore")
    out = []
    for index, (keras_name, value) in enumerate(node.weights):
        if keras_name not in names:
            raise UnsupportedLayerError(f"{where}: layer '{node.name}' ({node.class_name}) has an unexpected weight "
                                        f"'{keras_name}'")
        origin = node.origins.get(keras_name) or Origin(node.layer, index)
        out.append(Weight(f"{node.name}/{names[keras_name]}", np.asarray(value, dtype=np.float32), origin))
    return out


def layer_count(graph: Graph) -> int:
    """How many layers :func:`to_tfjs` writes for ``graph`` (it may split some), without translating it."""
    return len(_rewrite(graph.nodes))


# -- config helpers ------------------------------------------------------------

def _activation(value: Any) -> str:
    if value is None:
        return "linear"
    if isinstance(value, dict):  # a serialized function object
        value = value.get("config", value.get("class_name"))
    name = str(value)
    if name not in ACTIVATIONS:
        raise _Refuse(f"activation '{name}' is not supported by TF.js layers; supported: {', '.join(sorted(ACTIVATIONS))}")
    return ACTIVATIONS[name]


def pair(value: Any) -> list[int]:
    """An int or a pair of ints (kernel_size, strides, dilation_rate) as a pair."""
    return [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value), int(value)]


def _channels_last(cfg: dict) -> str:
    fmt = cfg.get("data_format") or "channels_last"
    if fmt != "channels_last":
        raise _Refuse(f"data_format '{fmt}' is not supported (channels_last only)")
    return fmt


def _require(cfg: dict, key: str, allowed: Any, default: Any = None) -> None:
    value = cfg.get(key, default)
    if value != allowed and value is not None and value != default:
        raise _Refuse(f"{key}={value!r} is not supported by TF.js layers")


# -- translators ---------------------------------------------------------------

def _input(node: Node) -> dict:
    cfg = node.config
    shape = cfg.get("batch_shape") or cfg.get("batch_input_shape")
    if shape is None:
        raise _Refuse("input layer without a shape")
    return {"batch_input_shape": [None if d is None else int(d) for d in shape], "sparse": False, "dtype": "float32"}


def _conv(node: Node) -> dict:
    cfg = node.config
    if int(cfg.get("groups", 1) or 1) != 1:
        raise _Refuse(f"groups={cfg['groups']} (grouped convolution) is not supported by TF.js layers")
    out = {
        "filters": int(cfg["filters"]), "kernel_size": pair(cfg["kernel_size"]), "strides": pair(cfg["strides"]),
        "padding": cfg["padding"], "data_format": _channels_last(cfg), "dilation_rate": pair(cfg["dilation_rate"]),
        "activation": _activation(cfg.get("activation")), "use_bias": bool(cfg.get("use_bias", True)),
        "kernel_initializer": _ZEROS, "bias_initializer": _ZEROS,
    }
    _check_padding(out["padding"])
    return out


def _depthwise(node: Node) -> dict:
    cfg = node.config
    out = {
        "kernel_size": pair(cfg["kernel_size"]), "strides": pair(cfg["strides"]), "padding": cfg["padding"],
        "depth_multiplier": int(cfg.get("depth_multiplier", 1)), "data_format": _channels_last(cfg),
        "dilation_rate": pair(cfg.get("dilation_rate", 1)), "activation": _activation(cfg.get("activation")),
        "use_bias": bool(cfg.get("use_bias", True)),
        "depthwise_initializer": _ZEROS, "bias_initializer": _ZEROS,
    }
    _check_padding(out["padding"])
    return out


def _check_padding(padding: str) -> None:
    if padding not in ("same", "valid"):
        raise _Refuse(f"padding '{padding}' is not supported (same or valid)")


def _batchnorm(node: Node) -> dict:
    cfg = node.config
    axis = cfg.get("axis", -1)
    axis = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
    if isinstance(axis, (list, tuple)):
        raise _Refuse(f"axis={axis} (several axes) is not supported")
    rank = len(node.output_shape) if node.output_shape else None
    if axis not in (-1,) and not (rank is not None and axis == rank - 1):
        raise _Refuse(f"axis={axis} is not supported (the channel axis, -1, only)")
    return {"axis": -1, "momentum": float(cfg.get("momentum", 0.99)), "epsilon": float(cfg["epsilon"]),
            "center": bool(cfg.get("center", True)), "scale": bool(cfg.get("scale", True)),
            "beta_initializer": _ZEROS, "gamma_initializer": {"class_name": "Ones", "config": {}},
            "moving_mean_initializer": _ZEROS, "moving_variance_initializer": {"class_name": "Ones", "config": {}}}


def _relu(node: Node) -> dict:
    cfg = node.config
    if float(cfg.get("negative_slope") or 0.0) != 0.0:
        raise _Refuse(f"negative_slope={cfg['negative_slope']} is not supported by TF.js's ReLU (use LeakyReLU)")
    if float(cfg.get("threshold") or 0.0) != 0.0:
        raise _Refuse(f"threshold={cfg['threshold']} is not supported by TF.js's ReLU")
    max_value = cfg.get("max_value")
    return {"max_value": None if max_value is None else float(max_value)}


def _leaky_relu(node: Node) -> dict:
    cfg = node.config
    return {"alpha": float(cfg.get("negative_slope", cfg.get("alpha", 0.3)))}


def _elu(node: Node) -> dict:
    alpha = float(node.config.get("alpha", 1.0))
    if alpha != 1.0:  # tfjs-layers 4.22's ELU throws NotImplementedError for any other alpha
        raise _Refuse(f"alpha={alpha:g} is not supported by TF.js's ELU layer (alpha 1 only)")
    return {"alpha": 1.0}


def _activation_layer(node: Node) -> dict:
    return {"activation": _activation(node.config.get("activation"))}


def _softmax(node: Node) -> dict:
    axis = node.config.get("axis", -1)
    if isinstance(axis, (list, tuple)):
        if len(axis) != 1:
            raise _Refuse(f"axis={axis} is not supported")
        axis = axis[0]
    return {"axis": int(axis)}


def _dense(node: Node) -> dict:
    cfg = node.config
    return {"units": int(cfg["units"]), "activation": _activation(cfg.get("activation")),
            "use_bias": bool(cfg.get("use_bias", True)), "kernel_initializer": _ZEROS, "bias_initializer": _ZEROS}


def zero_padding_pairs(padding: Any) -> list[list[int]]:
    """A ZeroPadding2D's ``padding`` (an int, one per axis, or a pair per axis) as
    ``[[top, bottom], [left, right]]``."""
    if isinstance(padding, int):
        padding = [[padding, padding], [padding, padding]]
    elif isinstance(padding[0], int):
        padding = [[padding[0], padding[0]], [padding[1], padding[1]]]
    return [[int(a), int(b)] for a, b in padding]


def _zero_padding(node: Node) -> dict:
    cfg = node.config
    return {"padding": zero_padding_pairs(cfg["padding"]), "data_format": _channels_last(cfg)}


def _pooling(node: Node) -> dict:
    cfg = node.config
    strides = cfg.get("strides") or cfg["pool_size"]
    out = {"pool_size": pair(cfg["pool_size"]), "strides": pair(strides), "padding": cfg.get("padding", "valid"),
           "data_format": _channels_last(cfg)}
    _check_padding(out["padding"])
    return out


def _global_pooling(node: Node) -> dict:
    if node.config.get("keepdims"):
        raise _Refuse("keepdims=True should have been rewritten")  # _rewrite handles it
    return {"data_format": _channels_last(node.config)}


def _reshape(node: Node) -> dict:
    return {"target_shape": [int(d) for d in node.config["target_shape"]]}


def _flatten(node: Node) -> dict:
    return {"data_format": _channels_last(node.config)}


def _dropout(node: Node) -> dict:
    # Identity at inference; kept so the layer list matches the Keras model one-to-one.
    return {"rate": float(node.config.get("rate", 0.0))}


def _rescaling(node: Node) -> dict:
    cfg = node.config
    scale, offset = cfg.get("scale", 1.0), cfg.get("offset", 0.0)
    if isinstance(scale, (list, tuple)) or isinstance(offset, (list, tuple)):
        raise _Refuse("per-channel scale/offset is not supported by TF.js's Rescaling")
    return {"scale": float(scale), "offset": float(offset)}


def _merge(node: Node) -> dict:
    return {}


def _concatenate(node: Node) -> dict:
    return {"axis": int(node.config.get("axis", -1))}


TRANSLATORS: dict[str, Translator] = {
    "InputLayer": _input,
    "Conv2D": _conv,
    "DepthwiseConv2D": _depthwise,
    "BatchNormalization": _batchnorm,
    "ReLU": _relu,
    "LeakyReLU": _leaky_relu,
    "ELU": _elu,
    "Activation": _activation_layer,
    "Softmax": _softmax,
    "Dense": _dense,
    "ZeroPadding2D": _zero_padding,
    "AveragePooling2D": _pooling,
    "MaxPooling2D": _pooling,
    "GlobalAveragePooling2D": _global_pooling,
    "GlobalMaxPooling2D": _global_pooling,
    "Reshape": _reshape,
    "Flatten": _flatten,
    "Dropout": _dropout,
    "Rescaling": _rescaling,
    "Add": _merge,
    "Multiply": _merge,
    "Average": _merge,
    "Maximum": _merge,
    "Minimum": _merge,
    "Concatenate": _concatenate,
}
