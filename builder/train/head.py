"""The new classification head, trained on cached features with ``tf.data`` and Keras's ``fit``.

The head is ``Dropout → Dense(classes, softmax)``. The inference model puts it on the
base's feature extractor (frozen, BatchNorms in inference mode), behind a ``Rescaling``
layer that does the base's preprocessing, so ``model.keras`` takes raw 0..255 pixels and
``build-site`` sees a model that rescales its own input.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

# Keras traces the training and validation steps into graphs in the first epoch: about 1.5 s for the head on
# two idle cores, after which a step is ~13 ms faster than run eagerly. Run the head eagerly when it can take
# no more steps (training and validation batches, over --epochs) than this, where tracing does not pay off.
EAGER_MAX_STEPS = 120

# The Rescaling that does each preprocessing inside the model: (scale, offset), x * scale + offset.
RESCALING = {"mobilenet": (1.0 / 127.5, -1.0), "unit": (1.0 / 255.0, 0.0)}


@dataclass(frozen=True)
class Settings:
    epochs: int
    batch_size: int
    learning_rate: float
    dropout: float
    patience: int  # early stopping: epochs without a lower validation loss
    seed: int
    verbose: bool  # Keras's per-epoch progress bar


@dataclass
class Head:
    dropout: Any  # keras.layers.Dropout
    dense: Any  # keras.layers.Dense, softmax
    history: list[dict[str, float]]  # per epoch: loss, accuracy, val_loss, val_accuracy
    best_epoch: int  # 1-based: the epoch whose weights were kept
    stopped_early: bool
    epoch_seconds: list[float]  # wall time of each epoch, validation included
    model: Any = None  # keras.Model: features (N, D) -> probabilities (N, classes), the two layers above


def strategy() -> Any:
    """``MirroredStrategy`` over every GPU when more than one is visible, else the default strategy."""
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        log.info("training on %d GPUs (MirroredStrategy)", len(gpus))
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def dataset(x: np.ndarray, y: np.ndarray, batch_size: int, *, shuffle_seed: int | None) -> Any:
    """A ``tf.data`` pipeline over in-memory arrays: shuffled each epoch (when seeded), batched, prefetched."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y.astype(np.int32)))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(x), seed=shuffle_seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def fit(model: Any, train: Any, validation: Any, settings: Settings, learning_rate: float,
        eager: bool = False) -> tuple[list[dict], int, bool, list[float]]:
    """Compile and fit ``model`` with Adam at ``learning_rate``, stopping early on the validation loss
    (the best epoch's weights are restored); ``eager``: run each step eagerly instead of tracing it.
    Returns ``(history, best_epoch, stopped_early, epoch_seconds)``."""
    import keras

    model.compile(optimizer=keras.optimizers.Adam(learning_rate), run_eagerly=eager,
                  loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=settings.patience, restore_best_weights=True)
    starts: list[float] = []
    seconds: list[float] = []
    timer = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: starts.append(time.perf_counter()),
                                           on_epoch_end=lambda epoch, logs: seconds.append(
                                               time.perf_counter() - starts[-1]))
    # shuffle=False: the tf.data pipeline shuffles (seeded); Keras would only warn that it cannot.
    # Keras's bar redraws itself with \r, \b and colour codes whenever the OS is POSIX, even into a pipe or a
    # CI log; there, one plain line per epoch (verbose=2) instead. Keras prints to stdout: its epochs go to
    # stderr with the rest of the command's progress, so `train 2> log.txt` keeps them in order with it.
    with contextlib.redirect_stdout(sys.stderr):
        result = model.fit(train, validation_data=validation, epochs=settings.epochs, callbacks=[stop, timer],
                           shuffle=False, verbose=(1 if sys.stderr.isatty() else 2) if settings.verbose else 0)
    names = ("loss", "accuracy", "val_loss", "val_accuracy")
    history = [{name: float(result.history[name][i]) for name in names if name in result.history}
               for i in range(len(result.history["loss"]))]
    losses = [h["val_loss"] for h in history]
    best = int(np.argmin(losses)) + 1 if losses else 0
    return history, best, len(history) < settings.epochs, seconds


def images_per_second(images: int, epoch_seconds: list[float]) -> float | None:
    """Training throughput: ``images`` per epoch over the median epoch after the first (which traces the
    graph), validation included; None before any epoch."""
    steady = epoch_seconds[1:] or epoch_seconds
    return images / float(np.median(steady)) if steady else None


def train(features: dict[str, np.ndarray], labels: dict[str, np.ndarray], classes: int, settings: Settings) -> Head:
    """Train a head on ``features["train"]`` (N, D) → ``labels["train"]`` (N,) class indices, validated on
    ``features["validation"]``."""
    import keras

    dimension = features["train"].shape[1]
    batches = sum(-(-len(features[name]) // settings.batch_size) for name in ("train", "validation"))
    with strategy().scope():
        dropout = keras.layers.Dropout(settings.dropout, seed=settings.seed, name="head_dropout")
        dense = keras.layers.Dense(classes, activation="softmax", name="classifier",
                                   kernel_initializer=keras.initializers.GlorotUniform(seed=settings.seed))
        inputs = keras.Input((dimension,), name="features")
        model = keras.Model(inputs, dense(dropout(inputs)), name="head")
        history, best, early, seconds = fit(
            model,
            dataset(features["train"], labels["train"], settings.batch_size, shuffle_seed=settings.seed),
            dataset(features["validation"], labels["validation"], settings.batch_size, shuffle_seed=None),
            settings, settings.learning_rate, eager=batches * settings.epochs <= EAGER_MAX_STEPS)
    return Head(dropout, dense, history, best, early, seconds, model)


def inference_model(extractor: Any, head: Head, input_size: tuple[int, int], preprocess: str) -> Any:
    """Raw pixels (N, H, W, 3) in 0..255 → class probabilities (N, classes): Rescaling (unless the base
    takes raw pixels), the feature extractor (BatchNorms in inference mode), the head.

    A cached run writes this model from a template (:mod:`builder.train.saving`): changing its layout
    means bumping ``saving.TEMPLATE_VERSION``."""
    import keras

    inputs = keras.Input((*input_size, 3), name="image")
    x = inputs
    if preprocess in RESCALING:
        scale, offset = RESCALING[preprocess]
        x = keras.layers.Rescaling(scale, offset, name="preprocess")(x)
    x = extractor(x, training=False)
    outputs = head.dense(head.dropout(x))
    return keras.Model(inputs, outputs, name="classifier_model")
