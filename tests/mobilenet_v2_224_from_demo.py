"""Make a MobileNetV2 1.0 @ 224, 1,000-class weights file from the demo model (for measurements offline).

The demo (models/dog_breed_mobilenetv2.h5) is MobileNetV2 1.0 fine-tuned at 160x160; its
convolution and BatchNorm weights are ImageNet-derived and resolution-independent, so they
drop into a 224x224 MobileNetV2. ImageNet's 1,000-class head cannot be downloaded here, so
the head is random (seeded), scaled so that its logits on natural photos spread like a
trained head's (std 3) and centred per class. Usage:

    .venv/bin/python tests/mobilenet_v2_224_from_demo.py OUT.weights.h5
    browsernet build-site --model mobilenet_v2 --weights OUT.weights.h5 --quantize auto
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from builder.model import tf_runtime

tf_runtime.load()

import keras  # noqa: E402

from builder.convert import calibration as calibrate
from builder.model import zoo as models
from builder.model import preprocessing as preprocess


def main(out: Path) -> None:
    demo, _ = models.load("models/dog_breed_mobilenetv2.h5")
    base = next(layer for layer in demo.layers if isinstance(layer, keras.Model))
    model = keras.applications.MobileNetV2(alpha=1.0, input_shape=(224, 224, 3), weights=None, classes=1000)
    copied = 0
    for layer in model.layers:
        if layer.weights and layer.name != "predictions":
            layer.set_weights(base.get_layer(layer.name).get_weights())
            copied += 1
    x = preprocess.apply(calibrate.builtin((224, 224), count=64, seed=7).images, "mobilenet")
    features = np.asarray(keras.Model(model.inputs, model.get_layer("predictions").input)(x, training=False))
    kernel = np.random.default_rng(1000).normal(0, 1, (features.shape[-1], 1000)).astype("float32")
    logits = features @ kernel
    scale = 3.0 / float(logits.std())
    model.get_layer("predictions").set_weights([kernel * scale, (-(logits * scale).mean(axis=0)).astype("float32")])
    model.save_weights(str(out))
    print(f"{out}: {copied} layers from the demo, random 1000-class head")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
