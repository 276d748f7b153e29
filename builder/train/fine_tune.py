"""``--fine-tune N``: unfreeze the top N layers of the base and train them with the head, on images.

Runs after the head has been trained on cached features (so fine-tuning starts from a
good head, as the Keras transfer-learning guide does it), at a hundredth of the head's
learning rate. BatchNormalization layers stay in inference mode (the extractor is called
with ``training=False``), and stay frozen. Augmentation (horizontal flip, random zoom-in
crop, brightness), on by default, sits in front of the inference model in a training-only
wrapper, so the saved model has none of it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from builder.errors import TrainError
from builder.model.dtype_policy import leaf_layers
from builder.train import head as heads

log = logging.getLogger(__name__)

LEARNING_RATE_FACTOR = 0.01  # fine-tuning runs at this fraction of --learning-rate
ZOOM = 0.2  # random zoom-in up to 20% (a random crop of 80-100% of each side, resized back)
BRIGHTNESS = 0.2  # +-20% of the 0..255 range


@dataclass
class FineTuning:
    history: list[dict[str, float]]
    best_epoch: int
    stopped_early: bool
    unfrozen: list[str]  # layer names, base order
    learning_rate: float
    augment: bool
    images_per_second: float | None  # training images per second (head.images_per_second)
    epoch_seconds: list[float]


def tunable(extractor: Any) -> list[Any]:
    """The layers of ``extractor`` that fine-tuning can train, bottom to top: those with weights, but
    BatchNormalization (its statistics and scale stay as pretrained, in inference mode, as Keras's
    transfer-learning guide keeps them). A ReLU or a pooling layer has nothing to train: counting it would
    make ``--fine-tune 3`` on a MobileNetV2 train nothing at all."""
    return [layer for layer in leaf_layers(extractor)
            if layer.weights and type(layer).__name__ != "BatchNormalization"]


def check_count(extractor: Any, count: int) -> list[Any]:
    """:func:`tunable`'s layers of ``extractor``, which must be at least ``count`` (``--fine-tune``); else
    :class:`~builder.errors.TrainError`. Cheap: the run checks it before any training time."""
    layers = tunable(extractor)
    if count > len(layers):
        raise TrainError(f"--fine-tune {count}: the base has only {len(layers)} layers with weights to train")
    return layers


def unfreeze(extractor: Any, count: int) -> list[str]:
    """Make the top ``count`` of :func:`tunable`'s layers of ``extractor`` trainable, and no other; return their
    names. Raises :class:`~builder.errors.TrainError` when it has fewer (:func:`check_count`)."""
    layers = check_count(extractor, count)
    extractor.trainable = True
    for layer in leaf_layers(extractor):
        layer.trainable = False
    top = layers[len(layers) - count:]
    for layer in top:
        layer.trainable = True
    return [layer.name for layer in top]


def augmentation(seed: int) -> list[Any]:
    """The training-time augmentation, as ``retrain.py`` offered it: flips, random scale/crop, brightness."""
    import keras

    return [
        keras.layers.RandomFlip("horizontal", seed=seed, name="augment_flip"),
        keras.layers.RandomZoom((-ZOOM, 0.0), fill_mode="reflect", seed=seed + 1, name="augment_zoom"),
        keras.layers.RandomBrightness(BRIGHTNESS, value_range=(0.0, 255.0), seed=seed + 2, name="augment_brightness"),
    ]


def run(model: Any, extractor: Any, images: dict[str, np.ndarray], labels: dict[str, np.ndarray], count: int,
        augment: bool, settings: heads.Settings) -> FineTuning:
    """Fine-tune ``model`` (the inference model, raw pixels in) on ``images["train"]`` (N, H, W, 3) float32
    0..255, validated on ``images["validation"]``. ``model``'s weights are updated in place."""
    import keras

    unfrozen = unfreeze(extractor, count)
    rate = settings.learning_rate * LEARNING_RATE_FACTOR
    with heads.strategy().scope():
        if augment:
            inputs = keras.Input(model.input_shape[1:], name="image")
            x = inputs
            for layer in augmentation(settings.seed):
                x = layer(x)
            trainer = keras.Model(inputs, model(x), name="fine_tuning")
        else:
            trainer = model
        history, best, early, seconds = heads.fit(
            trainer,
            heads.dataset(images["train"], labels["train"], settings.batch_size, shuffle_seed=settings.seed),
            heads.dataset(images["validation"], labels["validation"], settings.batch_size, shuffle_seed=None),
            settings, rate)
    extractor.trainable = False
    return FineTuning(history, best, early, unfrozen, rate, augment,
                      heads.images_per_second(len(images["train"]), seconds), seconds)
