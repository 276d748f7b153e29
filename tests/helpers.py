"""Small, real Keras models for the tests, made here (nothing is downloaded).

Random weights alone give nearly the same output for every image, which would make
parity checks meaningless, so :func:`calibrate` gives every BatchNormalization the
statistics of real activations (one training-mode pass with momentum 0) and
spreads gamma/beta, and the classifier head is scaled so that different images get
clearly different top classes.
"""

from __future__ import annotations

import gc
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from builder.model import tf_runtime

tf_runtime.load()

import keras  # noqa: E402

# Keras makes and drops many small objects per layer; the garbage collector's full passes then walk every
# object TensorFlow's import made, again and again. Frozen, they are skipped, and collections are rarer
# (measured: 5-7% of the time of the tests that build models). Nothing a test checks depends on it.
gc.collect()
gc.freeze()
gc.set_threshold(50_000, 20, 100)


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


def photos(size: int, count: int = 16, seed: int = 1) -> np.ndarray:
    """Real photos (scikit-image's, shipped in its wheel; augmented crops), ``size`` pixels square, 0..255."""
    from builder.convert import calibration

    return np.asarray(calibration.builtin((size, size), count=count, seed=seed).images, np.float32)


def calibrate(model: keras.Model, size: int, seed: int = 1, preprocess: str = "mobilenet",
              images: np.ndarray | None = None) -> keras.Model:
    """Give BatchNorm layers the statistics of ``images`` (default: :func:`test_images`) and the head
    enough spread to separate images. Keras 3 or tf-keras models."""
    k = keras
    if type(model).__module__.startswith("tf_keras"):
        import tf_keras as k
    rng = np.random.default_rng(seed)
    bns = [layer for layer in _layers(model) if isinstance(layer, k.layers.BatchNormalization)]
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

    x = apply(test_images(size, count=16, seed=seed + 100) if images is None else images, preprocess)
    model(x, training=True)  # momentum 0: moving statistics := this batch's statistics
    for bn in bns:
        bn.momentum = 0.99
    # Spread and centre the classifier's logits over the batch, so each class wins on some images.
    # The classifier: the last layer with a kernel and a bias (a Dense, or MobileNetV3's 1x1 'logits' Conv2D).
    head = next(layer for layer in reversed(model.layers) if len(layer.get_weights()) == 2)
    features = np.asarray(k.Model(model.inputs[0], head.input)(x, training=False)).reshape(len(x), -1)
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
    ctor = {"mobilenet_v1": keras.applications.MobileNet, "mobilenet_v2": keras.applications.MobileNetV2,
            "mobilenet_v3_small": keras.applications.MobileNetV3Small,
            "mobilenet_v3_large": keras.applications.MobileNetV3Large}[family]
    model = ctor(alpha=alpha, input_shape=(size, size, 3), weights=None, classes=1000)
    if family.startswith("mobilenet_v3"):  # its own preprocessing inside: raw pixels, real photos
        model = calibrate(model, size, preprocess="raw", images=photos(size))
    else:
        model = calibrate(model, size)
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


def any_size_fine_tuned(size: int = 64, classes: int = 3, keras2: bool = False):
    """:func:`fine_tuned`'s layout with an input that takes images of any size, (None, None, None, 3), as
    ``MobileNetV2(include_top=False)`` without ``input_shape`` gives; with :func:`fine_tuned` (size, classes)'s
    calibrated weights, which is returned too: the same function at ``size`` pixels. ``keras2``: built by
    tf-keras."""
    fixed = fine_tuned(size, classes)
    k = keras
    if keras2:
        import tf_keras as k
    base = k.applications.MobileNetV2(alpha=0.35, input_shape=(None, None, 3), include_top=False, weights=None)
    inputs = k.Input((None, None, 3))
    x = k.layers.GlobalAveragePooling2D()(base(inputs, training=False))
    outputs = k.layers.Dense(classes, activation="softmax")(k.layers.Dropout(0.2)(x))
    model = k.Model(inputs, outputs, name="any_size")
    model.set_weights(fixed.get_weights())
    return model, fixed


def fixed_outside(height: int = 64, width: int = 48, keras2: bool = False):
    """The common fine-tuning layout: :func:`any_size_fine_tuned` (a MobileNetV2 base without ``input_shape``,
    which takes images of any size) called on ``Input((height, width, 3))``, so the model's input is fixed
    and not square while the base inside keeps its (None, None) shapes. ``keras2``: built by tf-keras."""
    any_size, _ = any_size_fine_tuned(64, keras2=keras2)
    k = keras
    if keras2:
        import tf_keras as k
    inputs = k.Input((height, width, 3))
    return k.Model(inputs, any_size(inputs), name="fixed_outside")


def teachable_machine(size: int = 64, classes: int = 4):
    """Teachable Machine's layout, built by tf-keras: Sequential([Sequential([MobileNetV2 base, pooling]),
    Dense(softmax)]), with :func:`fine_tuned` (size, classes)'s calibrated weights (BatchNorm statistics from
    real photos). It takes x/127.5 - 1, scaled outside the model."""
    import tf_keras

    base = tf_keras.applications.MobileNetV2(alpha=0.35, input_shape=(size, size, 3), include_top=False, weights=None)
    model = tf_keras.Sequential([tf_keras.Input((size, size, 3)),
                                 tf_keras.Sequential([base, tf_keras.layers.GlobalAveragePooling2D()]),
                                 tf_keras.layers.Dense(classes, activation="softmax")])
    model.set_weights(fine_tuned(size, classes=classes).get_weights())
    return model


def scaled_for_unit_pixels(size: int = 64, classes: int = 3):
    """:func:`fine_tuned`'s MobileNetV2 behind ``Rescaling(2, offset=-1)``: made for pixels/255, as a training
    pipeline that divides by 255 first feeds them (0..255 pixels would be 255 times too large)."""
    mobilenet = fine_tuned(size, classes=classes)
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_plus_minus_1")(inputs)
    return keras.Model(inputs, mobilenet(x), name="unit_pixels")


def adapted_to_preprocessed(size: int = 64, classes: int = 3) -> keras.Model:
    """:func:`fine_tuned`'s MobileNetV2 behind a Normalization adapted on real photos already through
    ``preprocess_input`` (x/127.5 - 1), as a pipeline that calls it before the model feeds them: made for -1..1
    pixels, so the page must feed x/127.5 - 1 (x/255, which the Normalization's spread alone suggests, is wrong)."""
    mobilenet = fine_tuned(size, classes=classes)
    standardize = keras.layers.Normalization(name="standardize")
    standardize.adapt(photos(size) / 127.5 - 1)
    inputs = keras.Input((size, size, 3))
    return keras.Model(inputs, mobilenet(standardize(inputs)), name="adapted_to_preprocessed")


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


# -- the models people bring (issue 15): MobileNetV3, the transfer-learning tutorial, logit heads ---------

def mobilenet_v3(kind: str = "small", size: int = 96, alpha: float = 0.75, classes: int = 5, keras2: bool = False,
                 minimalistic: bool = False, seed: int = 7):
    """Keras's MobileNetV3 (its own preprocessing inside; softmax head), BatchNorm statistics measured on
    real photos; ``keras2``: built by tf-keras instead of Keras 3."""
    k = keras
    if keras2:
        import tf_keras as k
    k.utils.set_random_seed(seed)
    ctor = k.applications.MobileNetV3Small if kind == "small" else k.applications.MobileNetV3Large
    model = ctor(alpha=alpha, input_shape=(size, size, 3), weights=None, classes=classes, minimalistic=minimalistic)
    return calibrate(model, size, preprocess="raw", images=photos(size))


def v3_fine_tuned(size: int = 96, classes: int = 4) -> keras.Model:
    """Input → Functional(MobileNetV3Small base, include_top=False) → pooling → Dropout → Dense(softmax)."""
    keras.utils.set_random_seed(classes + 10)
    base = keras.applications.MobileNetV3Small(alpha=0.75, input_shape=(size, size, 3), include_top=False,
                                               weights=None)
    inputs = keras.Input((size, size, 3))
    x = keras.layers.GlobalAveragePooling2D()(base(inputs, training=False))
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(classes, activation="softmax")(x)
    return calibrate(keras.Model(inputs, outputs, name="v3_fine_tuned"), size, preprocess="raw", images=photos(size))


def tutorial(size: int = 96) -> keras.Model:
    """TensorFlow's "Transfer learning and fine-tuning" model: augmentation inside the model, then
    preprocess_input, a MobileNetV2 base, pooling, Dropout and Dense(1): one logit for two classes."""
    keras.utils.set_random_seed(21)
    augmentation = keras.Sequential([keras.layers.RandomFlip("horizontal"), keras.layers.RandomRotation(0.2)],
                                    name="data_augmentation")
    base = keras.applications.MobileNetV2(alpha=0.35, input_shape=(size, size, 3), include_top=False, weights=None)
    inputs = keras.Input((size, size, 3))
    x = keras.applications.mobilenet_v2.preprocess_input(augmentation(inputs))
    x = keras.layers.GlobalAveragePooling2D()(base(x, training=False))
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(1)(x)
    return calibrate(keras.Model(inputs, outputs, name="tutorial"), size, preprocess="raw", images=photos(size))


def logits_head(size: int = 96, classes: int = 3) -> keras.Model:
    """A fine-tuned MobileNetV2 whose Dense head has no softmax (trained from_logits=True)."""
    keras.utils.set_random_seed(31)
    base = keras.applications.MobileNetV2(alpha=0.35, input_shape=(size, size, 3), include_top=False, weights=None)
    inputs = keras.Input((size, size, 3))
    x = keras.layers.GlobalAveragePooling2D()(base(inputs, training=False))
    outputs = keras.layers.Dense(classes)(x)
    return calibrate(keras.Model(inputs, outputs, name="logits_head"), size, images=photos(size))


def separable(size: int = 64, classes: int = 4) -> keras.Model:
    """A small network of SeparableConv2D blocks (Xception's kind) with BatchNorms and a softmax head."""
    keras.utils.set_random_seed(41)
    L = keras.layers
    inputs = keras.Input((size, size, 3))
    x = L.Rescaling(1 / 255)(inputs)
    x = L.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(x)
    x = L.ReLU()(L.BatchNormalization()(x))
    for filters in (16, 24):
        x = L.SeparableConv2D(filters, 3, strides=2, padding="same", use_bias=False)(x)
        x = L.ReLU()(L.BatchNormalization()(x))
    x = L.GlobalAveragePooling2D()(x)
    outputs = L.Dense(classes, activation="softmax")(x)
    return calibrate(keras.Model(inputs, outputs, name="separable"), size, preprocess="raw", images=photos(size))
