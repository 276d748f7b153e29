"""The MobileNet zoo and user model files: resolve a --model argument to a Keras model.

Stock models are built from ``keras.applications`` with the paper's two shrink
knobs, width ``alpha`` and input resolution. User models are ``.h5`` (Keras 2 or
Keras 3) or ``.keras`` files. Either way the result is a Keras 3 model plus what we
know about it (family, alpha, input size, the preprocessing it expects).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
import re
import sys
import warnings
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, TextIO

from builder.errors import ModelError, OptionError, UnsupportedLayerError, WeightsError
from builder.model import dtype_policy, input_shape

log = logging.getLogger(__name__)

# family -> (keras.applications constructor name, alphas with ImageNet weights, sizes with ImageNet weights)
STOCK: dict[str, tuple[str, tuple[float, ...], tuple[int, ...]]] = {
    "mobilenet_v1": ("MobileNet", (0.25, 0.5, 0.75, 1.0), (128, 160, 192, 224)),
    "mobilenet_v2": ("MobileNetV2", (0.35, 0.5, 0.75, 1.0, 1.3, 1.4), (96, 128, 160, 192, 224)),
    # Keras ships 224-pixel V3 weights and loads them at any input size (all-convolutional); these are
    # the sizes we offer them at, as for V2. Minimalistic weights exist for alpha 1.0 only.
    "mobilenet_v3_small": ("MobileNetV3Small", (0.75, 1.0), (96, 128, 160, 192, 224)),
    "mobilenet_v3_large": ("MobileNetV3Large", (0.75, 1.0), (96, 128, 160, 192, 224)),
}
V3_FAMILIES = ("mobilenet_v3_small", "mobilenet_v3_large")
MODEL_SUFFIXES = (".h5", ".hdf5", ".keras")

RANDOM_SEED = 0  # for --weights none
DEFAULT_INPUT_SIZE = 224  # a stock model's resolution without --input-size
# MobileNet's smallest (Keras refuses less), and a largest that a browser (and the self-check) can still run:
# at 2048 pixels a MobileNetV1's self-check alone took 24 GB.
MIN_INPUT_SIZE, MAX_INPUT_SIZE = 32, 1024

_BASE_NAME = re.compile(r"^mobilenet(v2)?_(\d+\.\d+)_(\d+|None)$")  # keras.applications names; None: any size
_V3_NAME = re.compile(r"^mobilenet_?v3_?(small|large)", re.IGNORECASE)


@dataclass(frozen=True)
class ModelInfo:
    """What the rest of the pipeline needs to know about the model going in."""

    source: str  # "mobilenet_v2" or the user file's path
    family: str  # mobilenet_v1 | mobilenet_v2 | custom
    alpha: float | None
    input_size: tuple[int, int]  # (height, width)
    weights: str  # imagenet | none | a path | "file"
    num_outputs: int
    # The policy a model file was saved with when it computes in 16 bits ("mixed_float16"); the loaded
    # model is then its float32 rebuild (dtype_policy.recast), which the site and the self-check match.
    mixed_precision: str | None = None


def keras_cache_dir() -> Path:
    """Where Keras caches downloaded weights (``$KERAS_HOME/models`` or ``~/.keras/models``)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"


def is_stock(name: str) -> bool:
    return name in STOCK


def stock_only_options(alpha: float, weights: str, minimalistic: bool = False) -> list[str]:
    """The stock-model options (``--alpha``, ``--weights``, ``--minimalistic``) given other than their defaults:
    a model file brings its own width and weights, so with one they would be silently ignored
    (``build-site --model FILE``, ``train --base FILE``). ``--input-size`` is checked against the file by
    :func:`load`: it fixes the size of an input that takes any."""
    return [name for name, value, default in (("--alpha", alpha, 1.0), ("--weights", weights, "imagenet"),
                                              ("--minimalistic", minimalistic, False)) if value != default]


WEIGHTS_ADVICE = "use --weights none or --weights PATH"  # what build-site says when ImageNet weights are missing


def load(model: str, *, alpha: float = 1.0, input_size: int | None = None, weights: str = "imagenet",
         minimalistic: bool = False, advice: str = WEIGHTS_ADVICE,
         note: Callable[[str], None] | None = None) -> tuple[Any, ModelInfo]:
    """Return ``(keras_model, info)`` for a stock family name or a model file path.

    ``input_size`` (pixels, square): a stock model's resolution (default :data:`DEFAULT_INPUT_SIZE`); for a
    model file, the size to fix an input that takes any size to (required for such a model, and refused
    for a model with a fixed input of another size). ``minimalistic`` (MobileNetV3 only): Keras's variant
    without hard-swish, squeeze-and-excite or 5x5 kernels. A model file is read without running any code
    it holds (:func:`check_safe`). ``advice``: what a :class:`WeightsError` about missing ImageNet weights
    suggests instead (the command's own options). ``note``: told once, before Keras prints its download lines
    (to stderr), so that they start on a line of their own. Raises :class:`ModelError` / :class:`WeightsError`
    in one line.
    """
    if minimalistic and model not in V3_FAMILIES:
        raise ModelError(f"--minimalistic is for {' / '.join(V3_FAMILIES)}, not {model}")
    # Keras warns about its own deserialisation details (input_shape on layers, ...); not our users' concern.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if is_stock(model):
            return _build_stock(model, alpha, input_size or DEFAULT_INPUT_SIZE, weights, minimalistic, advice, note)
        return _load_file(Path(model), input_size)


class _Announced(io.TextIOBase):
    """``stream``, with ``announce()`` called before the first thing written to it."""

    def __init__(self, stream: TextIO, announce: Callable[[], None]) -> None:
        self._stream, self._announce = stream, announce

    def write(self, text: str) -> int:
        if self._announce is not None and text:
            announce, self._announce = self._announce, None
            announce()
        return self._stream.write(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:  # Keras's progress bar redraws one line on a terminal
        return self._stream.isatty()


def _build_stock(family: str, alpha: float, size: int, weights: str, minimalistic: bool = False,
                 advice: str = WEIGHTS_ADVICE, note: Callable[[str], None] | None = None) -> tuple[Any, ModelInfo]:
    ctor_name, alphas, sizes = STOCK[family]
    if minimalistic:
        alphas = (1.0,)
    if not 0 < alpha < math.inf:  # nan and inf too: "cannot convert float NaN to integer" inside Keras
        raise OptionError(f"--alpha must be a positive number, got {alpha}")
    check_input_size(size)
    if weights == "imagenet" and (alpha not in alphas or size not in sizes):
        raise WeightsError(
            f"{family}: ImageNet weights exist only for alpha in {list(alphas)} and input size in {list(sizes)}, "
            f"not alpha {alpha} at {size}; {advice}"
        )
    import keras

    ctor = getattr(keras.applications, ctor_name)
    keras_weights = "imagenet" if weights == "imagenet" else None
    if weights == "none":
        keras.utils.set_random_seed(RANDOM_SEED)  # random, but the same on every build
    try:
        extra = {"minimalistic": minimalistic} if family in V3_FAMILIES else {}
        # Keras's download prints its URL and progress bar to stdout, which holds the command's result (the build
        # summary): they go to stderr with the other steps, and nowhere under -q (errors only: a failed download
        # is one, raised below).
        shown: TextIO = sys.stderr if logging.getLogger().isEnabledFor(logging.WARNING) else io.StringIO()
        if note is not None and shown is sys.stderr:
            shown = _Announced(shown, lambda: note(f"downloading ImageNet weights into the Keras cache "
                                                   f"{keras_cache_dir()} (once)"))
        with contextlib.redirect_stdout(shown):
            model = ctor(alpha=alpha, input_shape=(size, size, 3), weights=keras_weights, classes=1000, **extra)
    except Exception as e:  # urllib / OSError / Keras's own "URL fetch failure"
        if weights == "imagenet":
            raise WeightsError(
                f"{family}: could not get ImageNet weights (alpha {alpha}, size {size}) into the Keras cache "
                f"{keras_cache_dir()}: {_first_line(e)}. Offline? Put the weights file there, or {advice}"
            ) from e
        raise ModelError(f"{family}: could not build the model: {_first_line(e)}") from e
    if weights not in ("imagenet", "none"):
        path = Path(weights)
        if not path.is_file():
            raise WeightsError(f"{path}: weights file not found")
        check_hdf5(path)
        try:
            model.load_weights(str(path))
        except Exception as e:
            raise WeightsError(f"{path}: cannot load these weights into {family} (alpha {alpha}, size {size}): "
                               f"{_weights_mismatch(e)}") from e
    info = ModelInfo(source=family, family=family, alpha=alpha, input_size=(size, size),
                     weights=weights if weights in ("imagenet", "none") else str(Path(weights)),
                     num_outputs=int(model.output_shape[-1]))
    return model, info


_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def check_file(path: Path, stock: str | None = None) -> None:
    """Fail fast (before TensorFlow loads) on a --model path that cannot be a Keras model file. ``stock``: how
    the command takes a stock model instead (default: the same option, by name), for the hints."""
    stock = stock or f"use {' / '.join(STOCK)}"
    if path.is_dir():
        raise ModelError(f"{path}: a folder, not a Keras model file ({', '.join(MODEL_SUFFIXES)}); a TensorFlow "
                         "SavedModel folder is not read: save the model with model.save('model.keras')")
    if not path.is_file():
        raise ModelError(f"{path}: no such model file (or {stock})")
    if path.suffix.lower() not in MODEL_SUFFIXES:
        raise ModelError(f"{path}: expected a Keras model file ({', '.join(MODEL_SUFFIXES)}); or {stock}")
    if path.suffix != path.suffix.lower():  # Keras tells the format by the exact, lower-case suffix
        raise ModelError(f"{path}: Keras reads only lower-case file suffixes; rename it to "
                         f"{path.with_suffix(path.suffix.lower()).name}")
    with open(path, "rb") as f:
        head = f.read(8)
    if not head:
        raise ModelError(f"{path}: empty (0 bytes): a save or a download that did not finish; save the model "
                         "again, or download it again")
    # Keras tells the format by the suffix too: a file named for the other one fails deep in h5py or zipfile.
    if path.suffix == ".keras" and head == _HDF5_SIGNATURE:
        raise ModelError(f"{path}: an HDF5 file (Keras's .h5 format) named .keras; rename it to "
                         f"{path.with_suffix('.h5').name}")
    if path.suffix != ".keras" and head.startswith(b"PK\x03\x04"):
        raise ModelError(f"{path}: a zip archive (Keras's .keras format) named {path.suffix}; rename it to "
                         f"{path.with_suffix('.keras').name}")


def _load_file(path: Path, input_size: int | None = None) -> tuple[Any, ModelInfo]:
    model, info = _read_file(path)
    return _fixed_input(model, info, path, input_size)


def _fixed_input(model: Any, info: ModelInfo | None, path: Path, input_size: int | None) -> tuple[Any, ModelInfo]:
    """``model`` with an input of one size: as it is, or (an input that takes any size) rebuilt at
    ``input_size`` (:mod:`builder.model.input_shape`). ``info`` is None for the latter."""
    if info is not None:
        if input_size is not None and info.input_size != (input_size, input_size):
            raise ModelError(f"{path}: the model's input is {info.input_size[0]}x{info.input_size[1]}; --input-size "
                             "is for a stock model, or a model whose input takes any size")
        if input_shape.has_free_inner_shapes(model):  # a base of any size inside a fixed-size model
            try:
                model = input_shape.fixed(model, info.input_size)
            except Exception as e:
                raise ModelError(f"{path}: a model inside it takes images of any size, and it could not be rebuilt "
                                 f"at the model's {info.input_size[0]}x{info.input_size[1]}: {_keras_reason(e)}") from e
            log.info("%s: a model inside it takes images of any size; rebuilt at the model's %dx%d", path,
                     *info.input_size)
        return model, info
    shape = tuple(model.inputs[0].shape)
    if input_size is None:
        raise ModelError(f"{path}: the input takes images of any size {shape}, and browsernet resizes every image "
                         "to one size: give it with --input-size N (the size the model was trained at, e.g. 224)")
    check_input_size(input_size)
    try:
        model = input_shape.fixed(model, input_size)
    except Exception as e:
        raise ModelError(f"{path}: could not rebuild the model with a {input_size}x{input_size} input: "
                         f"{_keras_reason(e)}") from e
    log.info("%s: its input takes any size; rebuilt at %dx%d (--input-size)", path, input_size, input_size)
    return model, _describe(model, path)


def _read_file(path: Path) -> tuple[Any, ModelInfo | None]:
    """The model in ``path`` computing in float32, and its :class:`ModelInfo` (None when its input takes
    images of any size: :func:`_fixed_input` fixes one first)."""
    check_file(path)
    check_hdf5(path)
    config = read_config(path)
    if config is None and path.suffix.lower() == ".h5":
        raise ModelError(f"{path}: holds weights only, no model (written by save_weights); for a stock "
                         f"MobileNet's weights pass --model mobilenet_v2 (or its family) --weights {path}, with "
                         "the --alpha and --input-size it was made with; for your own model, save it whole: "
                         "model.save('model.keras')")
    if config is not None:
        check_safe(config, path)
    keras2 = _saved_by_keras2(path)
    if keras2 and config is not None and _mentions(config, "hard_sigmoid"):
        # Keras 3 would read Keras 2's hard_sigmoid (clip(0.2x + 0.5, 0, 1)) as its own, relu6(x + 3) / 6:
        # a different model. tf-keras reads it as trained.
        log.info("%s: Keras 2 file using hard_sigmoid; reading it with tf-keras to keep Keras 2's definition", path)
        model = _load_keras2(path, None, config)
        return _in_float32(model, path)
    import keras

    try:
        model = keras.models.load_model(str(path), compile=False, safe_mode=True)
    except Exception as e:
        # Keras 3 cannot read every Keras 2 .h5 (e.g. DepthwiseConv2D's old 'groups' key);
        # tf-keras, Keras 2 itself, can. The rest of the pipeline reads either.
        if keras2:
            model = _load_keras2(path, e, config)
        elif path.suffix.lower() != ".keras" and config is not None:
            model = _load_keras3_h5(path, config, e)
        else:
            raise ModelError(f"{path}: not a readable Keras model: {_keras_reason(e, config)}") from e
    return _in_float32(model, path)


def _in_float32(model: Any, path: Path) -> tuple[Any, ModelInfo | None]:
    """A model saved with mixed precision, rebuilt to compute in float32 as the site does
    (builder/model/dtype_policy.py); any other model as it is."""
    policy = dtype_policy.mixed_precision_policy(model)
    if policy is None:
        return model, _described(model, path)
    try:
        model = dtype_policy.recast(model, "float32")
    except Exception as e:
        raise ModelError(f"{path}: saved with mixed precision ({policy}) and cannot be rebuilt in float32, "
                         f"which the site computes in: {_keras_reason(e)}") from e
    log.info("%s: saved with mixed precision (%s); rebuilt to compute in float32", path, policy)
    info = _described(model, path)
    return model, info and replace(info, mixed_precision=policy)


def _described(model: Any, path: Path) -> ModelInfo | None:
    """:func:`_describe`, or None for a model with one image input that takes any size."""
    if len(model.inputs) == 1 and input_shape.is_free(tuple(model.inputs[0].shape)):
        return None
    return _describe(model, path)


def _load_keras3_h5(path: Path, config: dict, keras3_error: Exception) -> Any:
    """Keras 3's own legacy ``.h5``, which Keras 3 cannot always read back: its ``.h5`` config names each
    object by class only (no ``module``), so the tensor arithmetic that ``x + 3.0`` and ``x * (1/6)`` record
    (``keras.ops`` ``Add`` and ``Multiply``, as in MobileNetV3's hard-sigmoid) is read back as the merge
    *layers* of the same names, which refuse a float argument ("Only input tensors may be passed as
    positional arguments"). This names each object's module as the ``.keras`` format does
    (:func:`_with_modules`), rebuilds the model from that config in safe mode and loads the weights from
    the file: no code from the file runs (no Lambda is deserialized, and :func:`check_safe` has passed)."""
    import copy

    import keras

    try:
        model = keras.saving.deserialize_keras_object(_with_modules(copy.deepcopy(config)), safe_mode=True)
        model.load_weights(str(path))
    except Exception as e:
        first, again = _keras_reason(keras3_error, config), _keras_reason(e, config)
        also = "" if again == first else f" (rebuilt from its config: {again})"
        raise ModelError(f"{path}: not a readable Keras model: {first}{also}") from e
    log.info("%s: Keras 3 .h5 rebuilt from its config (tensor arithmetic read as keras.ops), weights from the file",
             path)
    return model


def _with_modules(spec: Any) -> Any:
    """A Keras 3 ``.h5`` model config with the ``module`` each object would have in a ``.keras`` file.

    Layers get ``keras.layers``; a nested model ``Functional`` or ``Sequential``; an object whose config is
    only a name (no ``trainable``: an operation, not a layer) and whose class is one of ``keras.ops``'s
    NumPy operations gets ``keras.src.ops.numpy``. Objects that already name a module are left alone."""
    if not isinstance(spec, dict) or "class_name" not in spec:
        return spec
    cls, inner = str(spec["class_name"]), spec.get("config")
    if "module" not in spec:
        if cls in ("Functional", "Model"):
            spec["module"], spec["class_name"] = "keras.src.models.functional", "Functional"
        elif cls == "Sequential":
            spec["module"] = "keras"
        elif _is_numpy_op(spec):
            spec["module"] = "keras.src.ops.numpy"
        else:
            spec["module"] = "keras.layers"
        spec.setdefault("registered_name", None)
    if isinstance(inner, dict):
        for layer in inner.get("layers") or []:
            _with_modules(layer)
    return spec


def _is_numpy_op(spec: dict) -> bool:
    """Whether a module-less object of a Keras 3 ``.h5`` config is one of ``keras.ops``'s NumPy operations
    (``x / 127.5``, ``x - 1`` record ``TrueDivide``, ``Subtract``): its config is only a name (no
    ``trainable``: an operation, not a layer) and its class is one of ``keras.src.ops.numpy``'s."""
    import importlib

    numpy_ops = importlib.import_module("keras.src.ops.numpy")
    cls, inner = str(spec.get("class_name")), spec.get("config")
    return (isinstance(inner, dict) and "trainable" not in inner and cls != "InputLayer"
            and isinstance(getattr(numpy_ops, cls, None), type))


# The most a .keras archive's config.json or metadata.json may unpack to: a MobileNet's config is about 100 KB,
# and a small archive can otherwise claim gigabytes (a decompression bomb) before Keras's own checks run.
MAX_CONFIG_BYTES = 64 << 20


def _archive_member(archive: zipfile.ZipFile, name: str, path: Path) -> bytes:
    """``name`` from a ``.keras`` archive, refused when it would unpack to more than :data:`MAX_CONFIG_BYTES`."""
    size = archive.getinfo(name).file_size
    if size > MAX_CONFIG_BYTES:
        raise ModelError(f"{path}: its {name} unpacks to {size:,} bytes, more than any model's "
                         f"({MAX_CONFIG_BYTES >> 20} MB): not read")
    return archive.read(name)


# What an HDF5 file's datasets may declare in all: a MobileNet's weights are 2-25 MB, stored as they are (about
# 1x). Datasets that declare over 1 GiB and a hundred times what the file stores are a decompression bomb.
_H5_BOMB_FLOOR_BYTES = 1 << 30
_H5_MAX_EXPANSION = 100
# What a .keras archive holds: Keras's three files (weights as HDF5, never tf-keras's pickle-capable .npz).
_KERAS_MEMBERS = frozenset({"metadata.json", "config.json", "model.weights.h5"})
_IN_MEMORY_BYTES = 256 << 20  # a .keras archive's weights read into memory to be checked, up to this size


def check_hdf5(path: Path) -> None:
    """Refuse an HDF5 file (a ``.h5`` model or weights file, or the weights inside a ``.keras`` archive) whose
    data is not all in the file: a dataset stored in an external file or virtual (mapped from other files),
    or a soft or external link. Loading such a file would read other files of this machine (a key, or
    /proc/self/environ) into the model's weights, and so into the published site. Datasets declaring more
    than 1 GiB in all and a hundred times what they store (a bomb) are refused too, and a ``.keras`` archive
    holding anything but Keras's config, metadata and HDF5 weights (tf-keras reads ``model.weights.npz``
    with pickle allowed). tf-keras checks none of this; Keras 3 checks part of it. Raises :class:`ModelError`."""
    import h5py

    declared, stored = 0, 0

    def visit(name: str, link) -> str | None:  # every link once (HDF5 visits a hard-linked group once)
        """What is wrong with this link (which stops the visit; h5py cannot raise through it), else None."""
        nonlocal declared, stored
        if isinstance(link, (h5py.SoftLink, h5py.ExternalLink)):
            return f"'{where}{name}' is a link ({type(link).__name__}) to other data"
        item = file.get(name)
        if isinstance(item, h5py.Dataset):
            if item.external or item.is_virtual:
                return (f"dataset '{where}{name}' is stored outside the file "
                        f"({'virtual' if item.is_virtual else 'external storage'})")
            declared += math.prod(item.shape or ()) * item.dtype.itemsize
            stored += item.id.get_storage_size()
        return None

    try:
        if path.suffix.lower() == ".keras":
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
                other = sorted(n for n in names - _KERAS_MEMBERS if not n.startswith("assets/"))
                if other or "model.weights.h5" not in names:
                    what = f"holds {', '.join(other[:3])}" if other else "has no model.weights.h5"
                    raise ModelError(f"{path}: {what}; a .keras model holds config.json, metadata.json and "
                                     "model.weights.h5: not read")
                where = "model.weights.h5:/"
                member = archive.getinfo("model.weights.h5")
                # In memory when it fits: h5py reading through the archive's file object seeks and reads in small
                # pieces, in Python, 5x slower (0.33 s against 0.07 s for a 2 MB MobileNetV2's weights).
                source = (io.BytesIO(archive.read(member)) if member.file_size <= _IN_MEMORY_BYTES
                          else archive.open(member))
                with source, h5py.File(source, "r") as file:
                    problem = file.visititems_links(visit)
        else:
            where = "/"
            with h5py.File(path, "r") as file:
                problem = file.visititems_links(visit)
    except ModelError:
        raise
    except (OSError, KeyError, ValueError, RuntimeError, zipfile.BadZipFile) as e:
        raise ModelError(f"{path}: not a readable Keras model file: {_first_line(e)}") from e
    if problem:
        raise ModelError(f"{path}: {problem}; a model file must hold its own weights: not read")
    if declared > _H5_BOMB_FLOOR_BYTES and declared > _H5_MAX_EXPANSION * stored:
        raise ModelError(f"{path}: its datasets declare {declared:,} bytes but store {stored:,} (a decompression "
                         "bomb): not read")


def read_config(path: Path) -> dict | None:
    """The model's architecture as saved (``config.json`` of a ``.keras``, ``model_config`` of an
    ``.h5``), read as JSON without Keras; None when the file has none (Keras then says why)."""
    try:
        if path.suffix.lower() == ".keras":
            with zipfile.ZipFile(path) as archive:
                return json.loads(_archive_member(archive, "config.json", path))
        import h5py

        with h5py.File(path, "r") as f:
            raw = f.attrs.get("model_config")
    except RecursionError as e:  # JSON nested deeper than Python's parser goes: no model's config is
        raise ModelError(f"{path}: not a readable Keras model file: its config.json is nested too deep") from e
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
        raise ModelError(f"{path}: not a readable Keras model file: {_first_line(e)}") from e
    if raw is None:
        return None
    try:
        return json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
    except RecursionError as e:
        raise ModelError(f"{path}: its model_config is nested too deep to be a model's") from e
    except ValueError as e:
        raise ModelError(f"{path}: its model_config is not JSON: {_first_line(e)}") from e


# TensorFlow functions a Keras 2 TFOpLambda layer may name: the scalar arithmetic of preprocess_input and
# MobileNetV3's hard-sigmoid (builder.convert.graph reads exactly these). tf-keras calls any other
# TensorFlow function a file names while it rebuilds the model (tf.io.write_file, ...).
SAFE_TF_OPS = frozenset({"math.truediv", "math.divide", "math.multiply", "__operators__.add", "math.add",
                         "math.subtract"})
# tf-keras's layers that call a TensorFlow function the file names (TFOpLambda: tf.math.*, SlicingOpLambda:
# tensor[...]); only SAFE_TF_OPS may be named.
_TF_OP_LAYERS = frozenset({"TFOpLambda", "SlicingOpLambda"})
_KERAS2_EXTRA_CLASSES = frozenset({"Functional", "Model", "Sequential"})
# tf-keras's other layers that look up and call what the file names (any TensorFlow API symbol or method, or a
# raw TensorFlow op from a stored NodeDef), and Keras's layer that loads a SavedModel from a path.
_CALLS_WHAT_THE_FILE_NAMES = frozenset({"ClassMethod", "InstanceMethod", "InstanceProperty", "TensorFlowOpLayer",
                                        "TFSMLayer"})
# Where a layer's config holds other layers: a model's list, a wrapper's layer (TimeDistributed, Bidirectional
# and its backward_layer), an RNN's cell or cells (a cell wrapper holds a cell too).
_NESTED_LAYER_KEYS = ("layers", "layer", "forward_layer", "backward_layer", "cell", "cells")


# Serialized values that are data, not classes: a layer's call arguments, arrays, bytes, slices.
_DATA_MARKERS = frozenset({"__keras_tensor__", "__tensor__", "__numpy__", "__bytes__", "__ellipsis__", "__slice__"})
# Where the classes a model is built from live, in Keras 3 and in tf-keras: layers, their initializers, regularizers,
# constraints and dtype policies, and (for a nested model saved compiled) losses, metrics and optimizers.
_MODEL_NAMESPACES = ("layers", "initializers", "regularizers", "constraints", "dtype_policies", "mixed_precision",
                     "losses", "metrics", "optimizers")


def check_safe(config: dict, path: Path) -> None:
    """Refuse, before Keras sees the file, a model that would run code from it while loading: a
    ``Lambda`` (its Python function is stored in the file) anywhere in the saved config, a layer class that
    is not Keras's own (Keras would need that code), a tf-keras ``TFOpLambda``/``SlicingOpLambda`` calling
    a TensorFlow function other than :data:`SAFE_TF_OPS`, or any other object that is not one of the classes
    a model is built from (:func:`_is_model_object`: a Keras class that loads a SavedModel from a path the file
    names, for one, is Keras's own too). One line naming the layer and its class; raises :class:`ModelError`.
    (tf-keras also loads in its safe mode, :func:`_load_keras2`: a second guard.) The top level's training
    settings (``compile_config``: a custom loss or metric) are not checked: the model is loaded without them."""
    unused = {key: value for key, value in config.items() if key != "compile_config"}
    for spec, host in _objects(unused):  # code can hide in any object of the config, not only in the layer tree
        cls, inner = str(spec.get("class_name")), spec.get("config")
        name = inner.get("name") if isinstance(inner, dict) else None
        # An object without a name of its own (an activation, an initializer) is named by the layer holding it.
        what = f"{path}: layer '{name}' ({cls})" if name else f"{path}: layer '{host or '?'}' holds {cls}, which"
        if cls in ("Lambda", "__lambda__") or _stores_a_lambda(spec) or _stores_a_lambda(inner):
            raise UnsupportedLayerError(
                f"{what} holds Python code, and browsernet never runs code from a model file; rebuild the "
                "model without it, or with built-in Keras layers")
        if cls in _CALLS_WHAT_THE_FILE_NAMES:
            raise UnsupportedLayerError(
                f"{what} calls whatever TensorFlow function or method the file names while Keras rebuilds the "
                "model; browsernet does not run it: rebuild the model with built-in Keras layers")
        module = spec.get("module")
        if module is not None and str(module).split(".")[0] not in ("keras", "tf_keras"):
            # tf-keras imports the module a .keras file names for any object (an import runs its code).
            raise UnsupportedLayerError(f"{what} is a custom class (module {module!r}), not one of Keras's; "
                                        "browsernet imports and runs no code from outside Keras, so rebuild the "
                                        "model with built-in Keras layers")
        if cls in _TF_OP_LAYERS:
            function = str(inner.get("function", "") if isinstance(inner, dict) else "").removeprefix("tf.")
            if function not in SAFE_TF_OPS:
                raise UnsupportedLayerError(
                    f"{what} calls TensorFlow's {function or '(unnamed function)'}, which browsernet does not run "
                    "or convert; rebuild the model with built-in Keras layers")
    try:
        specs = list(_layer_specs(config))
    except ModelError as e:
        raise ModelError(f"{path}: {e}") from e
    for name, cls, spec in specs:
        if cls not in _TF_OP_LAYERS and not _is_builtin_layer(cls, spec):
            raise UnsupportedLayerError(
                f"{path}: layer '{name}' ({cls}) is a custom layer class, not one of Keras's; browsernet runs no "
                "code from outside Keras, so rebuild the model with built-in Keras layers")
    layers = {id(spec) for _, _, spec in specs}
    for spec, host in _objects(unused):  # what the layers hold: initializers, policies, activations, ...
        if id(spec) not in layers and not _is_model_object(spec):
            cls, inner, module = str(spec.get("class_name")), spec.get("config"), spec.get("module")
            shown = f"the function {inner!r}" if cls == "function" else f"{cls} (module {module!r})"
            raise UnsupportedLayerError(f"{path}: layer '{host or '?'}' holds {shown}, which is not one of the Keras "
                                        "classes and functions a model is built from; browsernet loads nothing "
                                        "else from a model file, so rebuild the model with built-in Keras layers")


def _is_model_object(spec: dict) -> bool:
    """Whether the config object ``spec`` is data (:data:`_DATA_MARKERS`), a public Keras 3 or tf-keras class of
    :data:`_MODEL_NAMESPACES` (layers, initializers, ...; not one that calls what the file names), a model or
    an operation (:func:`_is_builtin_layer`), or a function Keras ships by that name (an activation, a loss)."""
    cls, inner = str(spec.get("class_name")), spec.get("config")
    if cls in _DATA_MARKERS:
        return True
    if cls in _CALLS_WHAT_THE_FILE_NAMES or ">" in str(spec.get("registered_name") or ""):
        return False
    # Dtype policies: Keras 3's, tf-keras's, and PolicyV1 (TF 2.4's mixed_precision.experimental), which it reads.
    if cls in ("DTypePolicy", "FloatDTypePolicy", "Policy", "PolicyV1"):
        return True
    if cls == "function":  # by name; Keras resolves it among its own (module 'builtins': searched there too)
        return isinstance(inner, str) and _in_keras(inner, ("activations", "losses", "metrics"), function=True)
    return _is_builtin_layer(cls, spec) or _in_keras(cls, _MODEL_NAMESPACES)


def _in_keras(name: str, namespaces: tuple[str, ...], function: bool = False) -> bool:
    """Whether Keras 3's, or else tf-keras's, public ``namespaces`` (``layers``, ``initializers``, ...) have a
    class named ``name`` (a function, with ``function``). tf-keras is imported only when Keras 3 has none."""
    import importlib

    for package in ("keras", "tf_keras"):
        module = importlib.import_module(package)
        for space in namespaces:
            found = getattr(getattr(module, space, None), name, None)
            if (callable(found) and not isinstance(found, type)) if function else isinstance(found, type):
                return True
    return False


def _is_builtin_layer(cls: str, spec: dict) -> bool:
    """Whether ``spec`` is one of Keras's own layer classes or ``keras.ops`` operations, by its class name
    whatever ``module`` the file claims for it (tf-keras resolves some names through the module it is given):
    a layer of ``keras.layers`` or tf-keras's public ``tf_keras.layers``, a model, or an operation of Keras 3's
    ``keras.src.ops`` modules. Names outside Keras are refused by :func:`check_safe` first."""
    import importlib

    import keras

    if ">" in str(spec.get("registered_name") or ""):  # package>Class: a class registered by someone's code
        return False
    if hasattr(keras.layers, cls) or cls in _KERAS2_EXTRA_CLASSES or _is_numpy_op(spec):
        return True
    module = str(spec.get("module") or "")
    if module.startswith("keras.src.ops."):  # Keras 3's own operations (x * 2 in a functional model)
        try:
            found = getattr(importlib.import_module(module), cls, None)
        except ImportError:
            return False
        return isinstance(found, type) and issubclass(found, keras.Operation)
    import tf_keras

    return isinstance(getattr(tf_keras.layers, cls, None), type)


def _stores_a_lambda(config: Any) -> bool:
    """Whether a config holds a function's bytecode as tf-keras stores it: ``<name>_type: "lambda"`` beside
    it (a Lambda's ``function_type``, a cell wrapper's ``residual_fn_type``, ...)."""
    return isinstance(config, dict) and any(
        str(key).endswith("_type") and value == "lambda" for key, value in config.items())


def _objects(value: Any, host: str | None = None):
    """``(object, host)`` for every dict with a ``class_name`` anywhere in a JSON structure (layers, wrappers'
    inner layers, cells, initializers, activations, shared objects); ``host``: the name of the nearest object
    around it that has one (the layer holding an activation or initializer)."""
    if isinstance(value, dict):
        if isinstance(value.get("class_name"), str):
            yield value, host
            inner = value.get("config")
            if isinstance(inner, dict) and isinstance(inner.get("name"), str):
                host = inner["name"]
        for v in value.values():
            yield from _objects(v, host)
    elif isinstance(value, list):
        for v in value:
            yield from _objects(v, host)


def _layer_specs(config: dict):
    """``(name, class_name, spec)`` of the model and every layer in it: nested models (also a Keras 2
    Sequential whose config is its list of layers), wrappers' layers and RNN cells."""
    if not isinstance(config, dict) or "class_name" not in config:
        return
    inner = config.get("config")
    name = inner.get("name", "?") if isinstance(inner, dict) else "?"
    yield name, str(config["class_name"]), config
    if isinstance(inner, list):  # an old Keras 2 Sequential: its config is the list of its layers
        inner = {"layers": inner}
    if not isinstance(inner, dict):
        return
    layers = inner.get("layers") or []
    if not isinstance(layers, list):
        raise ModelError(f"layer '{name}' ({config['class_name']}): its saved config lists no layers "
                         f"('layers' is {type(layers).__name__}); the file is damaged")
    for key in _NESTED_LAYER_KEYS:
        nested = inner.get(key)
        for layer in nested if isinstance(nested, list) else [nested]:
            yield from _layer_specs(layer)


def _mentions(value: Any, needle: str) -> bool:
    """Whether ``needle`` is a key or a string value anywhere in a JSON structure."""
    if isinstance(value, dict):
        return needle in value or any(_mentions(v, needle) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, needle) for v in value)
    return value == needle


def _keras_reason(e: BaseException, config: dict | None = None) -> str:
    """Keras's reason in one line. Its deserialization errors start with a generic line ("Functional
    could not be deserialized ...") and name the real cause (the missing class) further down. A layer
    whose weights the file lacks is named with its class (``config``: the file's saved architecture, which
    names the class when Keras's error gives only the layer's name)."""
    missing = _missing_weights(e, config)
    if missing:
        return missing
    lines = [line.strip() for line in str(e).strip().splitlines() if line.strip()]
    for line in lines:
        if "Could not locate class" in line or "Unknown layer" in line or "not found" in line.lower():
            return _cut(line)
    return _first_line(e)


def _missing_weights(e: BaseException, config: dict | None) -> str | None:
    """"layer 'dense' (Dense) has 0 of its 2 weights in the file ..." when Keras failed because the file
    lacks a layer's weights: a ``.keras`` file says how many it expected, an ``.h5`` file's loader raises
    a KeyError with the layer's name. None for any other error."""
    text = str(e)
    found = re.search(r"object <(\w+) name=([^,>]+)[^>]*>:\s*Layer '[^']*' expected (\d+) variables?, "
                      r"but received (\d+)", text)
    if found:
        cls, name, expected, received = found.groups()
        return (f"layer '{name}' ({cls}) has {received} of its {expected} weights in the file: "
                "the file is incomplete, or its weights were saved from another model")
    if isinstance(e, KeyError) and e.args and config is not None:
        name = str(e.args[0]).strip("'\"")
        h5py_says = re.search(r"object '([^']+)' doesn't exist", name)  # tf-keras: h5py's own KeyError
        name = h5py_says.group(1) if h5py_says else name
        classes = {n: c for n, c, _ in _layer_specs(config)}
        if name in classes:
            return (f"layer '{name}' ({classes[name]}) has no weights in the file: "
                    "the file is incomplete, or its weights were saved from another model")
    return None


def _saved_by_keras2(path: Path) -> bool:
    """Whether tf-keras (Keras 2) wrote ``path``: the ``keras_version`` of a ``.h5``'s attributes, or of a
    ``.keras`` archive's metadata.json (tf-keras 2.13+ writes that format too, naming its own modules)."""
    try:
        if path.suffix.lower() == ".keras":
            with zipfile.ZipFile(path) as archive:
                version = json.loads(_archive_member(archive, "metadata.json", path)).get("keras_version", "")
        elif path.suffix.lower() in (".h5", ".hdf5"):
            import h5py

            with h5py.File(path, "r") as f:
                version = f.attrs.get("keras_version", b"")
        else:
            return False
    except ModelError:
        raise
    except Exception:  # not HDF5 or a .keras archive at all: the Keras 3 error is the one to report
        return False
    version = version.decode() if isinstance(version, bytes) else str(version)
    return version.startswith("2.")


def _load_keras2(path: Path, keras3_error: Exception | None, config: dict | None = None) -> Any:
    """tf-keras's reading of a Keras 2 .h5 (which :func:`check_safe` has cleared: it names no code to run),
    in tf-keras's safe mode, which refuses a Lambda's stored function wherever it is: ``load_model``'s
    ``safe_mode`` reaches only the ``.keras`` reader, so the scope sets it for a ``.h5`` too."""
    try:
        import tf_keras
        from tf_keras.src.saving.serialization_lib import SafeModeScope

        with SafeModeScope(True):
            return tf_keras.models.load_model(str(path), compile=False, safe_mode=True)
    except Exception as e:
        reason = _keras_reason(e, config)
        said = "" if keras3_error is None or _keras_reason(keras3_error, config) == reason else (
            f" (Keras 3 said: {_keras_reason(keras3_error, config)})")
        raise ModelError(f"{path}: not a readable Keras 2 model: {reason}{said}") from e


def _describe(model: Any, path: Path) -> ModelInfo:
    inputs = model.inputs
    if len(inputs) != 1 or len(model.outputs) != 1:
        raise ModelError(f"{path}: expected one image input and one output, found {len(inputs)} and {len(model.outputs)}")
    shape = tuple(inputs[0].shape)
    if len(shape) == 4 and shape[3] == 3 and (shape[1] is None or shape[2] is None):  # one of the two: rare
        raise ModelError(f"{path}: the input has no fixed size {shape}, and the site resizes every image to one; "
                         "save the model with a fixed input, e.g. keras.Input((224, 224, 3)), and its weights set "
                         "from this one (model.set_weights)")
    if len(shape) == 4 and shape[3] in (1, 4) and shape[1] is not None and shape[2] is not None:
        raise ModelError(f"{path}: expected an input of shape (None, height, width, 3), found {shape}; the page "
                         "feeds the model RGB images, so train and save it with 3 input channels (a grayscale "
                         "model: repeat the gray channel in all three)")
    if len(shape) != 4 or shape[3] != 3 or shape[1] is None or shape[2] is None:
        raise ModelError(f"{path}: expected an input of shape (None, height, width, 3), found {shape}")
    out_shape = tuple(model.outputs[0].shape)
    if len(out_shape) > 2 and all(n == 1 for n in out_shape[1:-1]) and out_shape[-1] is not None:
        raise ModelError(f"{path}: expected an output of shape (None, classes), found {out_shape}; end the model "
                         f"in keras.layers.Flatten() (or Reshape(({out_shape[-1]},))) and save it again")
    if len(out_shape) != 2 or out_shape[1] is None:
        raise ModelError(f"{path}: expected an output of shape (None, classes), found {out_shape}")
    family, alpha = "custom", None
    for layer in _all_layers(model):
        m = _BASE_NAME.match(layer.name)
        if m:
            family, alpha = ("mobilenet_v2" if m.group(1) else "mobilenet_v1"), float(m.group(2))
            break
        m = _V3_NAME.match(layer.name)
        if m:
            family = f"mobilenet_v3_{m.group(1).lower()}"
            break
    return ModelInfo(source=str(path), family=family, alpha=alpha, input_size=(int(shape[1]), int(shape[2])),
                     weights="file", num_outputs=int(out_shape[1]))


def check_input_size(size: int | None) -> None:
    """Raise :class:`~builder.errors.OptionError` for an ``--input-size`` outside [:data:`MIN_INPUT_SIZE`,
    :data:`MAX_INPUT_SIZE`] (None: not given)."""
    if size is not None and not MIN_INPUT_SIZE <= size <= MAX_INPUT_SIZE:
        raise OptionError(f"--input-size must be from {MIN_INPUT_SIZE} to {MAX_INPUT_SIZE} pixels, got {size}")


def is_mobilenet_name(name: str) -> bool:
    """Whether ``name`` is the name keras.applications gives a MobileNet (``mobilenetv2_1.00_224``,
    ``MobilenetV3small``), by which :func:`load` tells a model file's family and width."""
    return bool(_BASE_NAME.match(name) or _V3_NAME.match(name))


def _all_layers(model: Any):
    yield model
    for layer in getattr(model, "layers", []):
        yield from _all_layers(layer) if hasattr(layer, "layers") else (layer,)


def _weights_mismatch(e: BaseException) -> str:
    """Keras's error for a weights file that does not fit, in one line: how many layers failed, and the
    first one's name, class and shapes (Keras's own message spans the whole weight's values)."""
    text = str(e)
    layer = re.search(r"object <(\w+) name=([^,>]+)", text)
    shapes = re.search(r"variable\.shape=(\([^)]*\)), Received: value\.shape=(\([^)]*\))", text)
    if layer is None or shapes is None:
        return _first_line(e)
    total = re.search(r"A total of (\d+) objects could not be loaded", text)
    failed = f"{total.group(1)} layers do not fit" if total and total.group(1) != "1" else "a layer does not fit"
    return (f"{failed}, e.g. layer '{layer.group(2)}' ({layer.group(1)}) has a weight of shape {shapes.group(1)}, "
            f"the file {shapes.group(2)}: weights for another model, --alpha or --input-size?")


def _first_line(e: BaseException) -> str:
    """An error's first line, with the next one when it ends in a colon (Keras names the cause there), :func:`_cut`."""
    lines = [line.strip() for line in (str(e).strip() or type(e).__name__).splitlines() if line.strip()]
    text = lines[0]
    if text.endswith(":") and len(lines) > 1:
        text = f"{text} {lines[1]}"
    return _cut(text)


def _cut(text: str, limit: int = 400) -> str:
    """``text`` in at most ``limit`` characters, ending in an ellipsis when cut."""
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"
