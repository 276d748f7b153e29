"""Small, real Keras models for the tests, made here (nothing is downloaded).

Random weights alone give nearly the same output for every image, which would make
parity checks meaningless, so :func:`calibrate` gives every BatchNormalization the
statistics of real activations (one training-mode pass with momentum 0) and
spreads gamma/beta, and the classifier head is scaled so that different images get
clearly different top classes.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from builder.model import tf_runtime

tf_runtime.load()

import keras  # noqa: E402


def test_images(size: int, count: int = 6, seed: int = 0) -> np.ndarray:
    """Varied RGB images in 0..255 (uint8): colour fields, stripes, checkers, noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = []
    for i in range(count):
        colour = rng.uniform(0, 255, 3)
        kind = i % 3
        if kind == 0:
            pattern = np.sin((xx * rng.uniform(2, 12) + yy * rng.uniform(0, 4)) * np.pi)
        elif kind == 1:
            pattern = ((np.floor(xx * rng.integers(2, 9)) + np.floor(yy * rng.integers(2, 9))) % 2) * 2 - 1
        else:
            pattern = rng.normal(0, 1, (size, size))
        img = colour[None, None, :] * (0.6 + 0.4 * pattern[..., None]) + rng.normal(0, 8, (size, size, 3))
        out.append(np.clip(img, 0, 255))
    return np.round(np.stack(out)).astype(np.uint8)


def calibrate(model: keras.Model, size: int, seed: int = 1, preprocess: str = "mobilenet") -> keras.Model:
    """Give BatchNorm layers real statistics and the head enough spread to separate images."""
    rng = np.random.default_rng(seed)
    bns = [layer for layer in _layers(model) if isinstance(layer, keras.layers.BatchNormalization)]
    for bn in bns:
        bn.momentum = 0.0
        values = []
        for variable, value in zip(bn.weights, bn.get_weights()):  # gamma, beta (if any), mean, variance
            name = variable.name.split("/")[-1]
            if name == "gamma":
                value = rng.uniform(0.5, 1.5, value.shape).astype("float32")
            elif name == "beta":
                value = rng.normal(0, 0.2, value.shape).astype("float32")
            values.append(value)
        bn.set_weights(values)
    from builder.model.preprocessing import apply

    x = apply(test_images(size, count=16, seed=seed + 100), preprocess)
    model(x, training=True)  # momentum 0: moving statistics := this batch's statistics
    for bn in bns:
        bn.momentum = 0.99
    # Spread and centre the classifier's logits over the batch, so each class wins on some images.
    # The classifier: the last layer with a kernel and a bias (a Dense, or MobileNetV3's 1x1 'logits' Conv2D).
    head = next(layer for layer in reversed(model.layers) if len(layer.get_weights()) == 2)
    features = np.asarray(keras.Model(model.inputs[0], head.input)(x, training=False)).reshape(len(x), -1)
    kernel, bias = head.get_weights()
    logits = features @ kernel.reshape(-1, kernel.shape[-1])
    scale = 3.0 / float(logits.std() + 1e-6)
    head.set_weights([kernel * scale, (-(logits * scale).mean(axis=0)).astype("float32")])
    return model


def _layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers"):
            yield from _layers(layer)
        else:
            yield layer


def stock_weights(path: Path, family: str, alpha: float, size: int) -> Path:
    """A weights file for a stock architecture, calibrated (what ``--weights PATH`` takes)."""
    keras.utils.set_random_seed(3)
    ctor = {"mobilenet_v1": keras.applications.MobileNet, "mobilenet_v2": keras.applications.MobileNetV2}[family]
    model = calibrate(ctor(alpha=alpha, input_shape=(size, size, 3), weights=None, classes=1000), size)
    model.save_weights(str(path))
    return path


def fine_tuned(size: int = 96, classes: int = 5, preprocess_inside: bool = False) -> keras.Model:
    """Input → Functional(MobileNetV2 base) → pooling → Dropout → Dense(softmax): how people fine-tune.

    ``preprocess_inside`` puts ``preprocess_input`` in the model, as TF's transfer-learning tutorial does.
    """
    keras.utils.set_random_seed(classes)
    base = keras.applications.MobileNetV2(alpha=0.35, input_shape=(size, size, 3), include_top=False, weights=None)
    inputs = keras.Input((size, size, 3))
    x = keras.applications.mobilenet_v2.preprocess_input(inputs) if preprocess_inside else inputs
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(classes, activation="softmax")(x)
    return calibrate(keras.Model(inputs, outputs, name="fine_tuned"), size,
                     preprocess="raw" if preprocess_inside else "mobilenet")


def sequential(size: int = 64, classes: int = 4, preprocess: str = "mobilenet") -> keras.Model:
    keras.utils.set_random_seed(size)
    model = keras.Sequential([
        keras.Input((size, size, 3)),
        keras.layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.ReLU(6.0),
        keras.layers.DepthwiseConv2D(3, padding="same"),
        keras.layers.BatchNormalization(),
        keras.layers.ReLU(),
        keras.layers.Conv2D(16, 1),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(classes, activation="softmax"),
    ], name="tiny_sequential")
    return calibrate(model, size, preprocess=preprocess)


def keras_probs(model_or_path, images: np.ndarray, preprocess: str = "mobilenet") -> np.ndarray:
    from builder.model.preprocessing import apply

    model = model_or_path if isinstance(model_or_path, keras.Model) else keras.models.load_model(str(model_or_path),
                                                                                                  compile=False)
    return np.asarray(model(apply(images, preprocess), training=False))
