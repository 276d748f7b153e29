"""The MobileNet zoo and user model files: resolve a --model argument to a Keras model.

Stock models are built from ``keras.applications`` with the paper's two shrink
knobs, width ``alpha`` and input resolution. User models are ``.h5`` (Keras 2 or
Keras 3) or ``.keras`` files. Either way the result is a Keras 3 model plus what we
know about it (family, alpha, input size, the preprocessing it expects).
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builder.errors import ModelError, WeightsError

log = logging.getLogger(__name__)

# family -> (keras.applications constructor name, alphas with ImageNet weights, sizes with ImageNet weights)
STOCK: dict[str, tuple[str, tuple[float, ...], tuple[int, ...]]] = {
    "mobilenet_v1": ("MobileNet", (0.25, 0.5, 0.75, 1.0), (128, 160, 192, 224)),
    "mobilenet_v2": ("MobileNetV2", (0.35, 0.5, 0.75, 1.0, 1.3, 1.4), (96, 128, 160, 192, 224)),
}
MODEL_SUFFIXES = (".h5", ".hdf5", ".keras")

RANDOM_SEED = 0  # for --weights none

_BASE_NAME = re.compile(r"^mobilenet(v2)?_(\d+\.\d+)_(\d+)$")


@dataclass(frozen=True)
class ModelInfo:
    """What the rest of the pipeline needs to know about the model going in."""

    source: str  # "mobilenet_v2" or the user file's path
    family: str  # mobilenet_v1 | mobilenet_v2 | custom
    alpha: float | None
    input_size: tuple[int, int]  # (height, width)
    weights: str  # imagenet | none | a path | "file"
    num_outputs: int


def keras_cache_dir() -> Path:
    """Where Keras caches downloaded weights (``$KERAS_HOME/models`` or ``~/.keras/models``)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"


def is_stock(name: str) -> bool:
    return name in STOCK


def load(model: str, *, alpha: float = 1.0, input_size: int = 224, weights: str = "imagenet") -> tuple[Any, ModelInfo]:
    """Return ``(keras_model, info)`` for a stock family name or a model file path."""
    # Keras warns about its own deserialisation details (input_shape on layers, ...); not our users' concern.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if is_stock(model):
            return _build_stock(model, alpha, input_size, weights)
        return _load_file(Path(model))


def _build_stock(family: str, alpha: float, size: int, weights: str) -> tuple[Any, ModelInfo]:
    ctor_name, alphas, sizes = STOCK[family]
    if alpha <= 0:
        raise ModelError(f"--alpha must be positive, got {alpha}")
    if size < 32:
        raise ModelError(f"--input-size must be at least 32, got {size}")
    if weights == "imagenet" and (alpha not in alphas or size not in sizes):
        raise WeightsError(
            f"{family}: ImageNet weights exist only for alpha in {list(alphas)} and input size in {list(sizes)}, "
            f"not alpha {alpha} at {size}; use --weights none or --weights PATH"
        )
    import keras

    ctor = getattr(keras.applications, ctor_name)
    keras_weights = "imagenet" if weights == "imagenet" else None
    if weights == "none":
        keras.utils.set_random_seed(RANDOM_SEED)  # random, but the same on every build
    try:
        model = ctor(alpha=alpha, input_shape=(size, size, 3), weights=keras_weights, classes=1000)
    except Exception as e:  # urllib / OSError / Keras's own "URL fetch failure"
        if weights == "imagenet":
            raise WeightsError(
                f"{family}: could not get ImageNet weights (alpha {alpha}, size {size}) into the Keras cache "
                f"{keras_cache_dir()}: {_first_line(e)}. Offline? Put the weights file there, or use "
                "--weights none or --weights PATH"
            ) from e
        raise ModelError(f"{family}: could not build the model: {_first_line(e)}") from e
    if weights not in ("imagenet", "none"):
        path = Path(weights)
        if not path.is_file():
            raise WeightsError(f"{path}: weights file not found")
        try:
            model.load_weights(str(path))
        except Exception as e:
            raise WeightsError(f"{path}: cannot load these weights into {family} (alpha {alpha}, size {size}): "
                               f"{_first_line(e)}") from e
    info = ModelInfo(source=family, family=family, alpha=alpha, input_size=(size, size),
                     weights=weights if weights in ("imagenet", "none") else str(Path(weights)),
                     num_outputs=int(model.output_shape[-1]))
    return model, info


def check_file(path: Path) -> None:
    """Fail fast (before TensorFlow loads) on a --model path that cannot be a Keras model file."""
    if not path.is_file():
        raise ModelError(f"{path}: no such model file (or use mobilenet_v1 / mobilenet_v2)")
    if path.suffix.lower() not in MODEL_SUFFIXES:
        raise ModelError(f"{path}: expected a Keras model file ({', '.join(MODEL_SUFFIXES)}) or mobilenet_v1 / mobilenet_v2")


def _load_file(path: Path) -> tuple[Any, ModelInfo]:
    check_file(path)
    import keras

    try:
        model = keras.models.load_model(str(path), compile=False)
    except Exception as e:
        # Keras 3 cannot read every Keras 2 .h5 (e.g. DepthwiseConv2D's old 'groups' key);
        # tf-keras, Keras 2 itself, can. The rest of the pipeline reads either.
        if _saved_by_keras2(path):
            model = _load_keras2(path, e)
        else:
            raise ModelError(f"{path}: not a readable Keras model: {_first_line(e)}") from e
    return model, _describe(model, path)


def _saved_by_keras2(path: Path) -> bool:
    if path.suffix.lower() not in (".h5", ".hdf5"):
        return False
    try:
        import h5py

        with h5py.File(path, "r") as f:
            version = f.attrs.get("keras_version", b"")
    except Exception:  # not HDF5 at all: the Keras 3 error is the one to report
        return False
    version = version.decode() if isinstance(version, bytes) else str(version)
    return version.startswith("2.")


def _load_keras2(path: Path, keras3_error: Exception) -> Any:
    try:
        import tf_keras

        return tf_keras.models.load_model(str(path), compile=False)
    except Exception as e:
        raise ModelError(f"{path}: not a readable Keras 2 model: {_first_line(e)} "
                         f"(Keras 3 said: {_first_line(keras3_error)})") from e


def _describe(model: Any, path: Path) -> ModelInfo:
    inputs = model.inputs
    if len(inputs) != 1 or len(model.outputs) != 1:
        raise ModelError(f"{path}: expected one image input and one output, found {len(inputs)} and {len(model.outputs)}")
    shape = tuple(inputs[0].shape)
    if len(shape) != 4 or shape[3] != 3 or shape[1] is None or shape[2] is None:
        raise ModelError(f"{path}: expected an input of shape (None, height, width, 3), found {shape}")
    out_shape = tuple(model.outputs[0].shape)
    if len(out_shape) != 2 or out_shape[1] is None:
        raise ModelError(f"{path}: expected an output of shape (None, classes), found {out_shape}")
    family, alpha = "custom", None
    for layer in _all_layers(model):
        m = _BASE_NAME.match(layer.name)
        if m:
            family, alpha = ("mobilenet_v2" if m.group(1) else "mobilenet_v1"), float(m.group(2))
            break
    return ModelInfo(source=str(path), family=family, alpha=alpha, input_size=(int(shape[1]), int(shape[2])),
                     weights="file", num_outputs=int(out_shape[1]))


def _all_layers(model: Any):
    yield model
    for layer in getattr(model, "layers", []):
        yield from _all_layers(layer) if hasattr(layer, "layers") else (layer,)


def _first_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0][:300]
