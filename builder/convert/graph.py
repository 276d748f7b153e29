"""Keras 3 model → a flat graph of layers, nested models inlined.

TF.js 4.22 cannot read Keras 3's serialization (``batch_shape``, DTypePolicy dicts,
args/kwargs inbound nodes), and its handling of nested models is fragile. So we read
the Keras 3 model once into a small, neutral structure: every layer call becomes a
:class:`Node` whose inputs name other nodes. Nested ``Functional`` and ``Sequential``
models (how people fine-tune: Input → base MobileNet → pooling → Dense) are inlined,
so the TF.js topology is always a single flat functional model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from builder.errors import ModelError, UnsupportedLayerError

MODEL_CLASSES = ("Functional", "Model", "Sequential")
# Call kwargs that change nothing at inference time.
_IGNORED_CALL_KWARGS = {"training", "mask"}


@dataclass(frozen=True)
class Origin:
    """Where a weight rewritten by :mod:`builder.convert.inference_rewrites` lives in the original Keras model.

    ``layer.get_weights()[index] = sign * value``, with the ``pinned`` weights
    ``(layer, index, value)`` set too, makes the original Keras layers compute what
    the rewritten layer computes (so the self-check can load quantized weights there).
    ``layer`` None: no Keras weight holds it (a step the rewrites add, computed by Keras with its own weights).
    """

    layer: Any
    index: int
    sign: float = 1.0
    pinned: tuple[tuple[Any, int, np.ndarray], ...] = ()


@dataclass
class Node:
    """One layer call. ``inputs`` are names of the nodes feeding it, in argument order."""

    name: str
    class_name: str
    config: dict[str, Any]
    inputs: list[str]
    weights: list[tuple[str, np.ndarray]] = field(default_factory=list)
    layer: Any = None  # the Keras layer object (for weights and shapes); None for synthetic nodes
    output_shape: tuple | None = None  # batch first; None only for nodes the rewrites make (no Keras layer)
    # Weight name -> its Origin, for weights that are not simply layer.get_weights()[i] (the inference rewrites).
    origins: dict[str, Origin] = field(default_factory=dict)
    # (producer, BatchNormalization) for a layer the inference rewrites folded a BatchNorm into; the
    # per-channel quantization pass (builder.convert.per_channel) rewrites it from these when it is stored as uint8.
    folded_from: "tuple[Node, Node] | None" = None


@dataclass
class Graph:
    nodes: list[Node]  # topological order
    inputs: list[str]
    outputs: list[str]
    name: str
    # The Keras that made the model: 2 (tf-keras) or 3. Activations named alike differ between them
    # (Keras 2's hard_sigmoid is clip(0.2x + 0.5, 0, 1), Keras 3's is relu6(x + 3) / 6).
    keras_version: int = 3
    # What from_keras rewrote so TF.js can run it (inference_rewrites.lower): description -> layer names.
    lowered: dict[str, list[str]] = field(default_factory=dict)

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)


def from_keras(model: Any) -> Graph:
    """Flatten a Keras model (Functional or Sequential, arbitrarily nested; Keras 3 or tf-keras) into a
    :class:`Graph`, lowered for TF.js (:func:`builder.convert.inference_rewrites.lower`: training-only
    layers dropped, hard-sigmoid/hard-swish, SeparableConv2D, depthwise ``groups`` and per-channel
    scaling written as layers TF.js 4.22 has).

    Raises :class:`UnsupportedLayerError` naming a layer that cannot be expressed.
    """
    from builder.convert.inference_rewrites import lower

    return lower(_flatten(model))


def append(graph: Graph, layer: Any) -> Graph:
    """``graph`` with the Keras ``layer`` called on its one output, for a layer that needs no lowering
    (the ``Softmax`` or ``Dense`` a build adds as the model's head, :func:`builder.convert.heads.apply`), so the
    model is not read again. ``layer`` must already have been called on the model's output (so its output
    shape can be read). A name the graph has already is prefixed with the model's, as nested layers' are.
    Raises :class:`ModelError` for a graph with several outputs."""
    if len(graph.outputs) != 1:
        raise ModelError(f"model '{graph.name}' has {len(graph.outputs)} outputs; a head goes after one")
    builder = _Flattener()
    builder.taken = {n.name for n in graph.nodes}
    spec = {"name": layer.name, "class_name": type(layer).__name__, "config": layer.get_config()}
    name = builder.add_layer(spec, layer, list(graph.outputs), graph.name)
    return Graph(nodes=[*graph.nodes, *builder.nodes], inputs=list(graph.inputs), outputs=[name], name=graph.name,
                 keras_version=graph.keras_version, lowered=dict(graph.lowered))


def _flatten(model: Any) -> Graph:
    builder = _Flattener()
    config = model.get_config()
    if type(model).__name__ == "Sequential":
        outputs = builder.sequential(config, model, binding=None)
        inputs = [n.name for n in builder.nodes if n.class_name == "InputLayer"]
    else:
        outputs = builder.functional(config, model, bindings=None)
        inputs = builder.top_inputs
    keras_version = 2 if type(model).__module__.startswith("tf_keras") else 3
    return Graph(nodes=builder.nodes, inputs=inputs, outputs=outputs, name=model.name, keras_version=keras_version)


class _Flattener:
    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.taken: set[str] = set()
        # (scope id, layer name, tensor index) -> flat node name; one scope per model body. Node
        # indices are ignored: every layer is called once (enforced), and Keras 2 numbers a
        # nested model's call 1 where Keras 3 numbers it 0.
        self.tensors: dict[tuple, str] = {}
        self.scopes = 0
        self.top_inputs: list[str] = []

    # -- name bookkeeping ------------------------------------------------
    def unique(self, name: str, prefix: str) -> str:
        if name not in self.taken:
            self.taken.add(name)
            return name
        candidate, i = f"{prefix}_{name}", 1
        while candidate in self.taken:
            i += 1
            candidate = f"{prefix}_{name}_{i}"
        self.taken.add(candidate)
        return candidate

    def resolve(self, ref: tuple, scope: int) -> str:
        key = (scope, ref[0], ref[2])
        if key not in self.tensors:
            raise ModelError(f"model graph refers to unknown tensor {list(ref)}")
        return self.tensors[key]

    # -- functional ------------------------------------------------------
    def functional(self, config: dict, model: Any, bindings: list[str] | None) -> list[str]:
        self.scopes += 1
        scope = self.scopes
        input_refs = _refs(config["input_layers"])
        if bindings is not None:
            if len(bindings) != len(input_refs):
                raise ModelError(f"nested model '{config['name']}' takes {len(input_refs)} inputs, called with {len(bindings)}")
            for ref, bound in zip(input_refs, bindings):
                self.tensors[(scope, ref[0], ref[2])] = bound
        for spec in config["layers"]:
            name, cls = spec["name"], spec["class_name"]
            calls = spec.get("inbound_nodes") or []
            if cls == "InputLayer":
                if bindings is None:
                    self.tensors[(scope, name, 0)] = self.add_input(spec["config"], name, model.name)
                continue
            if not calls:
                continue  # a layer the graph never calls
            if len(calls) > 1:
                raise UnsupportedLayerError(
                    f"layer '{name}' ({cls}) is called {len(calls)} times; a layer or model called more than once "
                    "(shared weights, e.g. a base run on an image and on its flip) is not supported: save a model "
                    "that calls each once")
            scalar_op = _scalar_op(spec, calls[0])
            if scalar_op is not None:
                args = [self.resolve(tuple(scalar_op.pop("tensor")), scope)]
                self.tensors[(scope, name, 0)] = self.add_rescaling(name, scalar_op, args, model.name)
                continue
            args = self.call_inputs(calls[0], name, scope)
            if cls in MODEL_CLASSES:
                inner = model.get_layer(name)
                if cls == "Sequential":
                    if len(args) != 1:
                        raise ModelError(f"nested Sequential '{name}' called with {len(args)} inputs")
                    outs = self.sequential(spec["config"], inner, binding=args[0])
                else:
                    outs = self.functional(spec["config"], inner, bindings=args)
                for i, out in enumerate(outs):
                    self.tensors[(scope, name, i)] = out
                continue
            flat = self.add_layer(spec, _get_layer(model, name), args, model.name)
            self.tensors[(scope, name, 0)] = flat
        if bindings is None:
            self.top_inputs = [self.resolve(ref, scope) for ref in input_refs]
        return [self.resolve(ref, scope) for ref in _refs(config["output_layers"])]

    def call_inputs(self, call: Any, name: str, scope: int) -> list[str]:
        if isinstance(call, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
            unknown = {k for k, v in call.get("kwargs", {}).items() if k not in _IGNORED_CALL_KWARGS and v is not None}
            if unknown:
                raise UnsupportedLayerError(f"layer '{name}' is called with arguments {sorted(unknown)}, "
                                            "which TF.js layers cannot express")
            return [self.resolve(tuple(h), scope) for h in _histories(call.get("args", []))]
        # Keras 2 style: [[name, node, tensor, kwargs], ...], or one bare ref for TFOpLambda layers.
        if call and isinstance(call[0], str):
            call = [call]
        for c in call:
            kwargs = c[3] if len(c) > 3 and isinstance(c[3], dict) else {}
            unknown = {k for k, v in kwargs.items() if k not in _IGNORED_CALL_KWARGS and v is not None}
            if unknown:
                raise UnsupportedLayerError(f"layer '{name}' is called with arguments {sorted(unknown)}, "
                                            "which TF.js layers cannot express")
        return [self.resolve((c[0], c[1], c[2]), scope) for c in call]

    # -- sequential ------------------------------------------------------
    def sequential(self, config: dict, model: Any, binding: str | None) -> list[str]:
        specs = list(config["layers"])
        prev = binding
        if specs and specs[0]["class_name"] == "InputLayer":
            first = specs.pop(0)
            if prev is None:
                prev = self.add_input(first["config"], first["config"].get("name", f"{model.name}_input"), model.name)
        if prev is None:
            shape = config.get("build_input_shape") or getattr(model, "input_shape", None)
            if shape is None:
                raise ModelError(f"Sequential model '{model.name}' has no input shape; build it before saving")
            prev = self.add_input({"batch_shape": list(shape), "dtype": "float32"}, f"{model.name}_input", model.name)
        by_name = {layer.name: layer for layer in model.layers}
        for spec in specs:
            cls = spec["class_name"]
            name = spec["config"]["name"]
            layer = by_name.get(name)
            if layer is None:
                raise ModelError(f"Sequential '{model.name}': no layer named '{name}'")
            if cls in MODEL_CLASSES:
                outs = (self.sequential(spec["config"], layer, prev) if cls == "Sequential"
                        else self.functional(spec["config"], layer, [prev]))
                prev = outs[0]
            else:
                prev = self.add_layer({"class_name": cls, "config": spec["config"], "name": name}, layer, [prev], model.name)
        return [prev]

    # -- nodes -----------------------------------------------------------
    def add_input(self, config: dict, name: str, scope_name: str) -> str:
        flat = self.unique(name, scope_name)
        cfg = dict(config, name=flat)
        self.nodes.append(Node(flat, "InputLayer", cfg, []))
        return flat

    def add_rescaling(self, name: str, op: dict, inputs: list[str], scope_name: str) -> str:
        flat = self.unique(name, scope_name)
        self.nodes.append(Node(flat, "Rescaling", {"name": flat, **op}, inputs))
        return flat

    def add_layer(self, spec: dict, layer: Any, inputs: list[str], scope_name: str) -> str:
        flat = self.unique(spec["name"], scope_name)
        cfg = dict(spec["config"], name=flat)
        weights = [(_short_name(v), np.asarray(v.numpy())) for v in layer.weights] if layer is not None else []
        self.nodes.append(Node(flat, spec["class_name"], cfg, inputs, weights, layer,
                               _output_shape(layer, spec["name"], spec["class_name"])))
        return flat


def _output_shape(layer: Any, name: str, class_name: str) -> tuple | None:
    """The layer's output shape, batch first (``(None, 112, 112, 32)``). The padding fold, the keepdims rewrite,
    the BatchNorm axis check and the multiply-add count read it, so a shape that cannot be read is an error naming
    the layer, never a silent None. Every layer here is called once (shared layers are refused), so its first
    call's output is the one in the graph. None only for an op that is no Keras layer (``keras.ops.sqrt``):
    the topology writer refuses those by name, and the rewrites leave a node without a shape alone."""
    if layer is None:
        return None
    try:
        output = layer.output
    except (AttributeError, ValueError) as e:
        raise ModelError(f"layer '{name}' ({class_name}): its output shape cannot be read ({e}); "
                         "save the model after building it on an input (model.build or a call)") from e
    if isinstance(output, (list, tuple)):
        raise UnsupportedLayerError(f"layer '{name}' ({class_name}) has {len(output)} outputs; "
                                    "TF.js layers models here take layers with one output")
    return tuple(output.shape)


# Scalar arithmetic recorded as graph operations: Keras 3 ops layers (module keras.src.ops.numpy)
# and Keras 2 TFOpLambda layers. `x = preprocess_input(inputs)` inside a model, as in TensorFlow's
# transfer-learning tutorial, produces exactly these; each is an affine map, i.e. a Rescaling.
_KERAS3_OPS = {"TrueDivide": "divide", "Divide": "divide", "Multiply": "multiply", "Add": "add",
               "Subtract": "subtract"}
_KERAS2_OPS = {"math.truediv": "divide", "math.divide": "divide", "math.multiply": "multiply",
               "__operators__.add": "add", "math.add": "add", "math.subtract": "subtract"}


def _scalar_op(spec: dict, call: Any) -> dict | None:
    """``{"tensor": history, "scale": s, "offset": o}`` if this layer is ``tensor (op) number``; else None."""
    cls = spec["class_name"]
    if isinstance(call, dict) and str(spec.get("module", "")).startswith("keras.src.ops") and cls in _KERAS3_OPS:
        op, args = _KERAS3_OPS[cls], call.get("args", [])
        if len(args) != 2 or call.get("kwargs"):
            return None
        tensors = [i for i, a in enumerate(args) if isinstance(a, dict) and a.get("class_name") == "__keras_tensor__"]
        numbers = [i for i, a in enumerate(args) if isinstance(a, (int, float)) and not isinstance(a, bool)]
        if len(tensors) != 1 or len(numbers) != 1:
            return None
        history = args[tensors[0]]["config"]["keras_history"]
        return _affine(op, float(args[numbers[0]]), tensor_first=tensors[0] == 0, history=history, name=spec["name"])
    if cls == "TFOpLambda" and isinstance(call, list) and call:
        op = _KERAS2_OPS.get(str(spec["config"].get("function", "")).removeprefix("tf."))
        ref = call if isinstance(call[0], str) else call[0]
        if not isinstance(call[0], str) and len(call) != 1:
            return None
        kwargs = ref[3] if len(ref) > 3 and isinstance(ref[3], dict) else {}
        y = kwargs.get("y")
        if op is None or not isinstance(y, (int, float)) or isinstance(y, bool):
            return None
        return _affine(op, float(y), tensor_first=True, history=ref[:3], name=spec["name"])
    return None


def _affine(op: str, c: float, *, tensor_first: bool, history: Any, name: str) -> dict:
    if op == "divide" and not tensor_first:
        raise UnsupportedLayerError(f"layer '{name}' computes {c} / x, which TF.js layers cannot express")
    if op == "divide" and c == 0:
        raise ModelError(f"layer '{name}' divides by zero")
    scale, offset = {
        "divide": (1.0 / c, 0.0),
        "multiply": (c, 0.0),
        "add": (1.0, c),
        "subtract": (1.0, -c) if tensor_first else (-1.0, c),
    }[op]
    return {"tensor": list(history), "scale": scale, "offset": offset}


# Layers that neither compute on pixel values nor mix them: input scaling after them still sees pixels.
_PIXEL_PRESERVING = frozenset({"Dropout", "GaussianNoise", "GaussianDropout", "Identity", "ZeroPadding2D",
                               "Cropping2D", "Reshape", "Permute"})
AFFINE_MARK = "browsernet_input_affine"  # config key of a node that lower() made from Rescaling/Normalization


# What 0..255 pixels may span after a model's own input scaling (in its median channel) for the model to be
# read as taking 0..255 pixels (x/255: 1, x/127.5 - 1: 2, ImageNet's mean and std on 0..1 after x/255: 4.4,
# a Normalization adapted on 0..255 photos: about 4, 40 for a channel with a standard deviation of 6), and what
# they must span at least for it to take 0..1 (Rescaling(2, offset=-1): 510; ImageNet's mean and std for 0..1
# pixels: 1,100; a Normalization adapted on 0..1 photos: about 1,000).
RAW_SPAN = 64.0
UNIT_SPAN = 128.0


@dataclass(frozen=True)
class InputScaling:
    """A model's own input scaling: the pixel range it expects, told from what 0..255 would span after it."""

    expects: str | None  # "raw" (0..255 pixels) or "unit" (0..1); None: neither reading is clear
    span: float  # the range 0..255 pixels map to (255 x |scale|) in the median channel (a constant one aside)


def input_scaling(graph: Graph) -> InputScaling | None:
    """The model's own input scaling, or None when it has none: every path from the input must reach a
    Rescaling or Normalization (however many layers that leave pixel values alone come first: training-only
    augmentation, which :func:`from_keras` drops, padding, reshaping) before any layer that computes.

    Such a model must not be fed preprocessed pixels (scaling them twice gives silently wrong predictions);
    which range it takes is read from its scaling (the whole chain of such layers, composed): one that maps
    0..255 to a few units takes 0..255 pixels, one that would stretch them to hundreds (``Rescaling(2,
    offset=-1)``, ImageNet's mean and std for 0..1 inputs) takes 0..1 (pixels / 255).
    """
    readers: dict[str, list[Node]] = {}
    for node in graph.nodes:
        for source in node.inputs:
            readers.setdefault(source, []).append(node)
    frontier, seen, spans = list(graph.inputs), set(), []
    while frontier:
        name = frontier.pop()
        if name in seen:
            continue
        seen.add(name)
        nexts = readers.get(name, [])
        if not nexts:
            return None  # an output reached without scaling
        for node in nexts:
            affine = input_affine(node)
            if affine is not None:
                scale = affine[0]
                while len(readers.get(node.name, [])) == 1 and (after := input_affine(readers[node.name][0])):
                    node, scale = readers[node.name][0], scale * after[0]  # the offsets do not change the span
                spans.append(float(255 * np.median(np.abs(scale))))
            elif node.class_name in _PIXEL_PRESERVING:
                frontier.append(node.name)
            else:
                return None
    if not spans:
        return None
    span = max(spans)
    expects = "raw" if span <= RAW_SPAN else "unit" if min(spans) >= UNIT_SPAN else None
    return InputScaling(expects, span)  # paths that disagree: neither


def input_affine(node: Node) -> tuple[np.ndarray, np.ndarray] | None:
    """``(scale, offset)`` (float64, one value or one per channel) of a node that scales pixel values as
    x * scale + offset: a Rescaling, a Normalization ((x - mean) / sqrt(variance)), or the 1x1 DepthwiseConv2D
    the lowering makes from one; None for any other node."""
    cfg = node.config
    if node.class_name == "Rescaling":
        return (np.asarray(cfg.get("scale", 1.0), np.float64).reshape(-1),
                np.asarray(cfg.get("offset", 0.0), np.float64).reshape(-1))
    if cfg.get(AFFINE_MARK):
        weights = dict(node.weights)
        return (np.asarray(weights["depthwise_kernel"], np.float64).reshape(-1),
                np.asarray(weights["bias"], np.float64).reshape(-1))
    if node.class_name != "Normalization":
        return None
    layer = node.layer
    mean = np.asarray(getattr(layer, "mean", None) if layer is not None else cfg.get("mean"), np.float64).reshape(-1)
    var = np.asarray(getattr(layer, "variance", None) if layer is not None else cfg.get("variance"),
                     np.float64).reshape(-1)
    # Keras 3: (x - mean) / max(sqrt(var), epsilon); tf-keras: (x - mean) / max(sqrt(var), epsilon) too.
    scale = 1.0 / np.maximum(np.sqrt(var), 1e-7)
    return scale, -mean * scale


def _get_layer(model: Any, name: str) -> Any:
    """The layer object, or None for graph operations (Keras 3 ops are not layers)."""
    try:
        return model.get_layer(name)
    except ValueError:
        return None


def _refs(value: Any) -> list[tuple]:
    """``input_layers``/``output_layers`` are ``[name, 0, 0]`` or a list of those."""
    if value and isinstance(value[0], str):
        return [tuple(value)]
    return [tuple(v) for v in value]


def _histories(value: Any):
    """Every ``keras_history`` in a Keras 3 call's args, in order."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            yield value["config"]["keras_history"]
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from _histories(item)


def _short_name(variable: Any) -> str:
    name = getattr(variable, "name", "")
    return name.split("/")[-1].split(":")[0]
