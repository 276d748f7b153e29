"""The base model's feature extractor, and its features cached on disk.

The extractor is the base model up to and including its last global pooling layer
(``GlobalAveragePooling2D`` or ``GlobalMaxPooling2D``): everything before the
classification head. It takes preprocessed images (N, H, W, 3) float32 and gives
(N, D) float32 features.

Features are cached as one ``.npy`` file per image, under a folder named by a hash of
the base's identity (its weights file's SHA-256 or the stock model's settings, the layer
cut at, the input size, the preprocessing and the resize rule), so a second run with
other head settings, or with more photos, computes only what is new. Each cache file is
written to a temporary name and renamed, so an interrupted run leaves no half-written one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from builder.errors import TrainError
from builder.model import page_input
from builder.model import preprocessing
from builder.model.preprocessing import apply as preprocessed
from builder.report import sha256_of

log = logging.getLogger(__name__)

FEATURES_VERSION = 2  # bump when the way features are computed changes (2: a WebP's EXIF orientation ignored)
RESIZE = "squash"  # the page's default resize rule (build-site --resize squash)
BATCH = 32
# Tracing the extractor into a graph costs several seconds (MobileNetV2 on two cores) and then runs
# each batch about twice as fast as eager execution: worth it only for more images than this.
EAGER_MAX = 96
POOLING = ("GlobalAveragePooling2D", "GlobalMaxPooling2D")


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/browsernet/features`` (``~/.cache/browsernet/features``)."""
    from builder import user_cache

    return user_cache.folder("features")


@dataclass
class Base:
    """A base model cut before its classification head."""

    extractor: Any  # keras.Model: preprocessed (N, H, W, 3) -> (N, D); None when described from the cache
    input_size: tuple[int, int]  # (height, width)
    preprocess: str  # what the extractor expects: mobilenet (x/127.5 - 1), unit (x/255) or raw
    identity: dict[str, Any]  # what the features depend on; recorded in the report
    family: str  # mobilenet_v1 | mobilenet_v2 | mobilenet_v3_small | mobilenet_v3_large | custom
    dimension: int  # D, the feature vector's length
    notes: tuple[str, ...] = ()  # what loading it said (repeated when it is described from the cache)

    @property
    def key(self) -> str:
        """The cache key: SHA-256 of :attr:`identity`."""
        return hashlib.sha256(json.dumps(self.identity, sort_keys=True).encode()).hexdigest()

    @property
    def loaded(self) -> bool:
        return self.extractor is not None


def request(model: str | None, base_file: Path | None, *, alpha: float, input_size: int | None, weights: str,
            preprocess: str | None) -> dict[str, Any]:
    """What the command asked for as a base, by content (the base file's SHA-256, not its name's alone):
    the key under which :func:`remember` records the :class:`Base` it gave, so a later run whose features
    are all cached can describe the base without loading it."""
    from builder.model import zoo

    asked: dict[str, Any] = {"features_version": FEATURES_VERSION, "preprocess": preprocess}
    if base_file is not None:  # by content alone: a moved or renamed base file keeps its cached features
        asked.update(sha256=sha256_of(base_file))
        if input_size is not None:  # the size a base whose input takes any size is built at
            asked.update(input_size=input_size)
    else:
        asked.update(model=model or "mobilenet_v2", alpha=alpha, input_size=input_size or zoo.DEFAULT_INPUT_SIZE,
                     weights=weights)
        asked.update(_weights_identity(weights))
    return asked


def _weights_identity(weights: str) -> dict[str, str]:
    """What a stock base's weights are, beyond their name: a weights file's SHA-256; for ``imagenet``, the
    Keras version, whose release fixes which file Keras downloads (a Keras upgrade that ships other ImageNet
    weights then computes the features again, instead of reusing ones of the old weights)."""
    if weights == "none":
        return {}
    if weights == "imagenet":
        from importlib.metadata import version

        return {"keras": version("keras")}
    return {"weights_sha256": sha256_of(Path(weights))}


def _request_file(cache_dir: Path, asked: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()
    return cache_dir / "bases" / f"{digest[:32]}.json"


def remember(cache_dir: Path | None, asked: dict[str, Any], base: Base) -> None:
    """Record ``base``'s description (all but the extractor) under the request ``asked``."""
    if cache_dir is None:
        return
    about = {"identity": base.identity, "input_size": list(base.input_size), "preprocess": base.preprocess,
             "family": base.family, "dimension": base.dimension, "notes": list(base.notes)}
    path = _request_file(cache_dir, asked)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(path, lambda f: f.write(json.dumps(about, indent=2, sort_keys=True).encode()))
    except OSError as e:
        raise TrainError(f"{path.parent}: cannot write the feature cache ({e}); pass --cache-dir DIR or --no-cache") \
            from e


def recall(cache_dir: Path | None, asked: dict[str, Any]) -> Base | None:
    """The :class:`Base` (without its extractor) that the request ``asked`` gave before, or None."""
    if cache_dir is None:
        return None
    try:
        about = json.loads(_request_file(cache_dir, asked).read_text())
        return Base(None, tuple(about["input_size"]), about["preprocess"], about["identity"], about["family"],
                    int(about["dimension"]), tuple(about["notes"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def all_cached(base: Base, digests: list[str], cache_dir: Path | None) -> bool:
    """Whether every image's features (by content hash ``digests``) are in the cache for ``base``, each one
    readable and of the base's length: an entry damaged on disk is computed again, which needs the base."""
    if cache_dir is None:
        return False
    folder = cache_dir / base.key[:32]
    return all(_cached(folder, digest, base.dimension) is not None for digest in digests)


# Random features (--weights none) learn next to nothing: a train without ImageNet weights suggests a base that has
# learnt features, a model file or a weights file.
WEIGHTS_ADVICE = ("train on a Keras model file with learnt features (--base FILE, e.g. a fine-tuned MobileNet) or "
                  "give the weights file (--weights PATH)")


def load_base(model: str | None, base_file: Path | None, *, alpha: float, input_size: int | None, weights: str,
              preprocess: str | None, note: Callable[[str], None]) -> Base:
    """The feature extractor of a stock MobileNet (``model``) or of a Keras model file (``base_file``).

    Raises :class:`~builder.errors.ModelError` / :class:`~builder.errors.WeightsError` (from the zoo) for a
    model that cannot be loaded, :class:`~builder.errors.TrainError` for one without a global pooling layer.
    """
    import keras

    from builder.model import zoo

    source = str(base_file) if base_file is not None else (model or "mobilenet_v2")
    full, info = zoo.load(source, alpha=alpha, input_size=input_size, weights=weights, advice=WEIGHTS_ADVICE,
                          note=note)
    if not isinstance(full, keras.Model):
        raise TrainError(f"{source}: a Keras 2 model; training here needs a model Keras 3 can load "
                         "(load it with Keras 3 and save it as .keras)")
    pool = _last_pooling(full)
    if pool is None:
        raise TrainError(f"{source}: no GlobalAveragePooling2D or GlobalMaxPooling2D layer (or nested model ending "
                         "in one) at the top level, so the feature extractor (everything before the classification "
                         "head) cannot be found")
    features = _output_in(full, pool)
    if len(features.shape) != 2:  # keepdims=True (MobileNet V1's head): (N, 1, 1, D)
        features = keras.layers.Flatten(name="features_flat")(features)
    # A stock MobileNet's name (mobilenetv2_1.00_224, MobilenetV3small) is kept, so that the model trained on it
    # is still recognised as that family and width when it is built or trained on again.
    name = full.name if zoo.is_mobilenet_name(full.name) else "feature_extractor"
    extractor = keras.Model(full.inputs, features, name=name)
    extractor.trainable = False
    notes: list[str] = []

    def noted(line: str) -> None:
        notes.append(line)
        note(line)

    chosen = preprocessing.choose(preprocess, _own_input_scaling(full), info.family, source, noted)
    # A stock model's layer names are numbered per process by Keras (global_average_pooling2d_1, ...): name its
    # cut by position, so the cache key is the same in every process.
    cut_at = pool.name if base_file is not None else f"{type(pool).__name__} (layer {full.layers.index(pool)})"
    identity: dict[str, Any] = {"features_version": FEATURES_VERSION, "cut_at": cut_at,
                                "input_size": list(info.input_size), "preprocess": chosen, "resize": RESIZE}
    if base_file is not None:  # by content alone: a moved or renamed base file keeps its cached features
        identity.update(sha256=sha256_of(base_file))
    else:
        identity.update(base=info.family, alpha=info.alpha, weights=info.weights)
        identity.update(_weights_identity(info.weights))
    return Base(extractor, info.input_size, chosen, identity, info.family, int(extractor.output_shape[-1]),
                tuple(notes))


def _last_pooling(model: Any) -> Any:
    """The last top-level layer that gives pooled features: a global pooling layer, or a nested model
    ending in one (as in a model ``browsernet train`` wrote, to continue from it)."""
    for layer in reversed(model.layers):
        if _ends_in_pooling(layer):
            return layer
    return None


def _output_in(model: Any, layer: Any) -> Any:
    """``layer``'s output tensor in ``model``'s graph. (A nested model's ``.output`` is its own inner
    graph's, so take the output of its call in ``model`` instead.)"""
    for node in reversed(getattr(layer, "_inbound_nodes", [])):
        tensors = getattr(node, "output_tensors", None) or getattr(node, "outputs", None) or []
        if len(tensors) == 1 and any(t is tensors[0] for t in _graph_tensors(model)):
            return tensors[0]
    return layer.output


def _graph_tensors(model: Any):
    for node in model._nodes_by_depth.values() if hasattr(model, "_nodes_by_depth") else []:
        for n in node:
            yield from getattr(n, "output_tensors", None) or getattr(n, "outputs", None) or []


def _ends_in_pooling(layer: Any) -> bool:
    if type(layer).__name__ in POOLING:
        return True
    inner = [sub for sub in getattr(layer, "layers", None) or [] if type(sub).__name__ != "InputLayer"]
    if not inner:
        return False
    if type(inner[-1]).__name__ == "Flatten" and len(inner) > 1:
        return _ends_in_pooling(inner[-2])
    return _ends_in_pooling(inner[-1])


def _own_input_scaling(model: Any):
    from builder.convert import graph as graphs

    try:
        return graphs.input_scaling(graphs.from_keras(model))
    except Exception as e:  # a layer the converter does not know: it cannot be one of the rescaling ones
        log.debug("could not read the base's graph (%s); assuming it does not rescale its input", e)
        return None


def page_pixels(path: Path | bytes, size: tuple[int, int]) -> np.ndarray:
    """``path`` (a file, or its bytes) as the site feeds it to the model: (H, W, 3) float32 in 0..255 (see
    :mod:`builder.model.page_input`)."""
    return page_input.resize_to_input(page_input.decode(path), size, RESIZE)


def photo_pixels(path: Path, digest: str, size: tuple[int, int]) -> np.ndarray:
    """:func:`page_pixels` of the photo at ``path``, which must still be the one known by ``digest`` (its
    content hash when the photos were checked), else :class:`~builder.errors.TrainError`."""
    return page_pixels(_photo_bytes(path, digest), size)


def _photo_bytes(path: Path, digest: str) -> bytes:
    """The bytes of ``path``, which must still be the photo the split and the cache know by ``digest``: a file
    changed since the scan would have its features cached under the old photo's hash, for every later run."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise TrainError(f"{path}: cannot be read any more ({e.strerror}; it was checked when the run began); "
                         "run it again") from e
    if hashlib.sha256(data).hexdigest() != digest:
        raise TrainError(f"{path}: changed while training ran (after the photos were checked); run it again")
    return data


@dataclass
class Extraction:
    features: np.ndarray  # (N, D) float32, in the order asked for
    cached: int  # images read from the cache
    computed: int  # images run through the base
    seconds: float  # time spent computing (decode, resize, forward pass); 0 when all were cached

    @property
    def images_per_second(self) -> float | None:
        return self.computed / self.seconds if self.computed and self.seconds > 0 else None


def extract(base: Base, paths: list[Path], digests: list[str], cache_dir: Path | None) -> Extraction:
    """Features of the images at ``paths`` (whose content hashes are ``digests``), from the cache where present.

    ``cache_dir`` None: no cache. Raises :class:`~builder.errors.TrainError` if the cache folder cannot be written.
    """
    folder = None if cache_dir is None else cache_dir / base.key[:32]
    out = np.zeros((len(paths), base.dimension), np.float32)
    missing: list[int] = []
    for i, digest in enumerate(digests):
        vector = _cached(folder, digest, base.dimension)
        if vector is None:
            missing.append(i)
        else:
            out[i] = vector
    started = time.perf_counter()
    predict = _predictor(base.extractor, graph=len(missing) > EAGER_MAX)
    for start in range(0, len(missing), BATCH):
        chunk = missing[start:start + BATCH]
        x = preprocessed(np.stack([photo_pixels(paths[i], digests[i], base.input_size) for i in chunk]),
                         base.preprocess)
        out[chunk] = predict(x)
        broken = [paths[i] for i in chunk if not np.isfinite(out[i]).all()]
        if broken:  # before anything is cached: the next run would read them back
            raise TrainError(f"the base gives NaN or infinite features for {len(broken)} of the {len(chunk)} photo(s) "
                             f"it ran on (e.g. {broken[0]}): "
                             "it holds NaN or infinite weights (a diverged training, or a damaged file); "
                             "choose another base")
        for i in chunk:
            _write(folder, digests[i], out[i], base.identity)
    seconds = time.perf_counter() - started if missing else 0.0
    return Extraction(out, len(paths) - len(missing), len(missing), seconds)


def predict(model: Any, x: np.ndarray) -> np.ndarray:
    """``model`` (inference mode) on ``x`` (N, ...) in batches of :data:`BATCH`, as :func:`extract` runs it."""
    predict_batch = _predictor(model, graph=len(x) > EAGER_MAX)
    return np.concatenate([predict_batch(x[i:i + BATCH]) for i in range(0, len(x), BATCH)])


def _predictor(model: Any, graph: bool) -> Callable[[np.ndarray], np.ndarray]:
    """``x`` (n <= BATCH, H, W, 3) → features (n, D): eagerly, or through one graph traced for a full
    batch (a short last batch is padded, so it is traced once)."""
    import tensorflow as tf

    if not graph:
        return lambda x: np.asarray(model(tf.constant(x), training=False), np.float32)
    fn = tf.function(lambda x: model(x, training=False))

    def run(x: np.ndarray) -> np.ndarray:
        padded = np.concatenate([x, np.zeros((BATCH - len(x), *x.shape[1:]), x.dtype)]) if len(x) < BATCH else x
        return np.asarray(fn(tf.constant(padded)), np.float32)[:len(x)]

    return run


def _cached(folder: Path | None, digest: str, dimension: int) -> np.ndarray | None:
    """The cached features of the image whose content hash is ``digest``: a finite vector of ``dimension``
    floats, or None where there is none or it is damaged (unreadable, cut short by a crash, another length, a NaN
    that would pass for the base's), so that it is computed again."""
    if folder is None:
        return None
    try:
        vector = np.load(folder / f"{digest}.npy", allow_pickle=False)
    except (OSError, ValueError, EOFError):  # absent, unreadable, or empty
        return None
    if vector.dtype.kind != "f" or vector.shape != (dimension,) or not np.isfinite(vector).all():
        return None
    return vector


def _write(folder: Path | None, digest: str, vector: np.ndarray, identity: dict[str, Any]) -> None:
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        about = folder / "base.json"
        if not about.exists():
            _atomic_write(about, lambda f: f.write(json.dumps(identity, indent=2, sort_keys=True).encode()))
        _atomic_write(folder / f"{digest}.npy", lambda f: np.save(f, vector, allow_pickle=False))
    except OSError as e:
        raise TrainError(f"{folder}: cannot write the feature cache ({e}); pass --cache-dir DIR or --no-cache") from e


def _atomic_write(path: Path, write: Callable[[Any], None]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
