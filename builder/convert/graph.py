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
            if op is not None and any(isinstance(c, list) and c and c[0] == "_CONSTANT_VALUE" for c in call):
                raise _array_constant(spec)  # tf-keras reads an array's numbers back as one input each
            return None
        kwargs = ref[3] if len(ref) > 3 and isinstance(ref[3], dict) else {}
        y = kwargs.get("y")
        if op is None:
            return None
        if ref[0] == "_CONSTANT_VALUE":  # number (op) tensor, e.g. 2.0 * x: tf-keras stores the number as the call's
            # first input and the tensor as y
            c = ref[2]
            if not (isinstance(y, list) and len(y) >= 3 and isinstance(y[0], str)):
                return None
            if not _is_number(c):
                raise _array_constant(spec)
            return _affine(op, float(c), tensor_first=False, history=y[:3], name=spec["name"])
        if isinstance(y, list) and not (y and isinstance(y[0], str)):  # x * [a, b, c]: a constant array, not a tensor
            raise _array_constant(spec)
        if not _is_number(y):
            return None
        return _affine(op, float(y), tensor_first=True, history=ref[:3], name=spec["name"])
    return None


def _array_constant(spec: dict) -> UnsupportedLayerError:
    return UnsupportedLayerError(
        f"layer '{spec['name']}' ({spec['config'].get('function', spec['class_name'])}) computes with a constant "
        "array, which TF.js layers cannot express (a single number is read): scale per channel with a Rescaling or "
        "Normalization layer instead")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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


# Layers whose outputs are still pixel values on their inputs' scale (they move, drop, pad, pool or resize
# pixels, or do nothing at inference): an input scaling after them still sees pixels.
_PIXEL_PRESERVING = frozenset({"Dropout", "GaussianNoise", "GaussianDropout", "Identity", "ZeroPadding2D",
                               "Cropping2D", "Reshape", "Permute", "AveragePooling2D", "MaxPooling2D",
                               "UpSampling2D", "Resizing"})
AFFINE_MARK = "browsernet_input_affine"  # config key of a node that lower() made from a Rescaling/Normalization
# (its value: that layer's class)

# The pixel ranges a model's own input scaling can be made for, by the --preprocess mode that gives them.
PIXEL_RANGES = {"raw": (0.0, 255.0), "unit": (0.0, 1.0), "mobilenet": (-1.0, 1.0)}
# A scaling made for a range maps it to the few units a network computes in, around 0: within +-OUTPUT_BOUND,
# 0 included, and at least OUTPUT_MIN_SPAN wide (x/255: 0..1; x/127.5 - 1: -1..1; ImageNet's mean and std:
# -2.1..2.6 at most in the median channel).
OUTPUT_BOUND = 2.75
OUTPUT_MIN_SPAN = 0.5
# A Normalization adapted on the training images holds their mean and standard deviation, in the units it was
# fed: the range it was made for is one in which they look like photos' statistics, a mean 30-70% of the way
# up it and a standard deviation of 15-55% of its width (photos: 20-30%; ImageNet's: 49% up, 23% wide; at most
# 50%, all pixels at the ends). (x - 0.5) / 0.5 set by hand is read so too: made for 0..1, not -1..1 (75% up).
MEAN_BAND = (0.3, 0.7)
STD_BAND = (0.15, 0.55)


@dataclass(frozen=True)
class InputScaling:
    """A model's own input scaling: the pixel range it was made for (a key of :data:`PIXEL_RANGES`), or None
    when that cannot be told, with ``reason`` saying what was read (one clause, naming the layers)."""

    expects: str | None
    reason: str


def input_scaling(graph: Graph) -> InputScaling | None:
    """The model's own input scaling, or None when it has none: a Rescaling or Normalization (or ``x / 127.5 -
    1`` as operations) that every path from the input reaches before any layer that computes (however many
    layers that keep pixel values come first: padding, pooling, reshaping; training-only augmentation,
    which :func:`from_keras` drops).

    Such a model must not be fed preprocessed pixels (scaled twice: silently wrong predictions), so the range
    its scaling was made for is read from it (:func:`_fitting_ranges`). Where that cannot be told, ``expects``
    is None and the build asks: a scaling that fits no range or several, one that only some paths from the
    input reach, and one that comes after a layer has computed on the pixels.
    """
    readers: dict[str, list[Node]] = {}
    for node in graph.nodes:
        for source in node.inputs:
            readers.setdefault(source, []).append(node)
    frontier, seen, chains, unscaled = list(graph.inputs), set(), [], None
    while frontier:
        name = frontier.pop()
        if name in seen:
            continue
        seen.add(name)
        for node in readers.get(name, []):
            if input_affine(node) is not None:
                chain = [node]  # the whole run of scalings, composed
                while len(readers.get(node.name, [])) == 1 and input_affine(readers[node.name][0]) is not None:
                    node = readers[node.name][0]
                    chain.append(node)
                chains.append(chain)
            elif node.class_name in _PIXEL_PRESERVING:
                frontier.append(node.name)
            else:
                unscaled = unscaled or node
    if not chains:
        late = _late_scaling(graph)
        if late is not None and unscaled is not None:
            return InputScaling(None, f"layer '{late.name}' ({_class_of(late)}) scales pixel values, after layer "
                                      f"'{unscaled.name}' ({unscaled.class_name}) has computed on them")
        return None
    first = ", ".join(f"'{chain[0].name}' ({_class_of(chain[0])})" for chain in chains)
    if unscaled is not None:
        return InputScaling(None, f"the model scales its input in layer {first}, but layer '{unscaled.name}' "
                                  f"({unscaled.class_name}) computes on the pixels unscaled")
    fits = set(PIXEL_RANGES)
    for chain in chains:
        fits &= _fitting_ranges(chain)
    if len(fits) == 1:
        expects = fits.pop()
        return InputScaling(expects, f"its scaling (layer {first}) is made for {expects} pixels")
    said = " and ".join(sorted(fits)) if fits else "none of raw (0-255), unit (0-1) and mobilenet (-1..1)"
    return InputScaling(None, f"the model scales its own input (layer {first}), and the pixel ranges that scaling "
                              f"fits are {said}")


def _fitting_ranges(chain: list[Node]) -> set[str]:
    """The keys of :data:`PIXEL_RANGES` that a run of scalings (Rescaling, Normalization) fits. Where it holds
    an adapted Normalization, that one's statistics, taken back through the scalings before it, must look like
    photos' in the range (:data:`MEAN_BAND`, :data:`STD_BAND`; every channel that varies); else the whole run
    must map the range to a few units around 0 (:data:`OUTPUT_BOUND`, :data:`OUTPUT_MIN_SPAN`; the median
    channel)."""
    scale, offset = np.ones(1), np.zeros(1)
    for node in chain:
        s, o = input_affine(node)
        if _class_of(node) == "Normalization" and not (np.all(s == 1) and np.all(o == 0)):  # not left unadapted
            return _photo_statistics_in(s, o, scale, offset)
        scale, offset = s * scale, s * offset + o
    fits = set()
    for key, (low, high) in PIXEL_RANGES.items():
        ends = np.sort(np.stack(np.broadcast_arrays(low * scale + offset, high * scale + offset)), axis=0)
        bottom, top = float(np.median(ends[0])), float(np.median(ends[1]))
        if -OUTPUT_BOUND <= bottom <= 0 <= top <= OUTPUT_BOUND and top - bottom >= OUTPUT_MIN_SPAN:
            fits.add(key)
    return fits


def _photo_statistics_in(s: np.ndarray, o: np.ndarray, scale: np.ndarray, offset: np.ndarray) -> set[str]:
    """The ranges in which a Normalization's statistics (``s`` = 1/std, ``o`` = -mean/std), after scalings
    that make ``scale * x + offset`` of the model's input, are those of photos; a channel adapted on a
    constant (variance 0) says nothing."""
    mean, std = np.broadcast_arrays((-o / s - offset) / scale, 1 / np.abs(s * scale))
    varied = std > 1e-6
    mean, std = mean[varied], std[varied]
    fits = set()
    for key, (low, high) in PIXEL_RANGES.items():
        where, spread = (mean - low) / (high - low), std / (high - low)
        if len(mean) and np.all((MEAN_BAND[0] <= where) & (where <= MEAN_BAND[1])
                                & (STD_BAND[0] <= spread) & (spread <= STD_BAND[1])):
            fits.add(key)
    return fits


def _late_scaling(graph: Graph) -> Node | None:
    """A scaling of image pixels (a Rescaling or Normalization on a tensor with the few channels of an image)
    that the input reaches only through a layer that computes."""
    for node in graph.nodes:
        shape = node.output_shape
        if input_affine(node) is not None and shape and len(shape) == 4 and shape[-1] in (1, 3, 4):
            return node
    return None


def _class_of(node: Node) -> str:
    """The Keras class a node stands for (what lower() rewrote it from, where it did)."""
    mark = node.config.get(AFFINE_MARK)
    return mark if isinstance(mark, str) else node.class_name


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
