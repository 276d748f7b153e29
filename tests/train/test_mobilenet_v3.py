"""`browsernet train` on MobileNetV3: the stock architecture (`--model mobilenet_v3_small`, with a weights file made
here, as ImageNet's cannot be downloaded) and a V3 model file (`--base`). MobileNetV3 rescales its own input, so the
trained model must not rescale it again, and build-site must feed it raw pixels without being told."""

from __future__ import annotations

import json

import numpy as np
import pytest

from builder.train import report as records
from tests.train import saved_models as saved
from tests.conftest import PHOTOS

SIZE = 96  # small enough to train in seconds; V3 has ImageNet weights from 96 px up
ALPHA = 0.75


def _stock_v3(keras):
    """The stock MobileNetV3Small as `--model mobilenet_v3_small --alpha 0.75 --input-size 96` builds it."""
    return keras.applications.MobileNetV3Small(alpha=ALPHA, input_shape=(SIZE, SIZE, 3), weights=None, classes=1000)


def _check_trained(out, report, keras, pooling_channels: int) -> None:
    assert report["base"]["preprocess"] == "raw"  # V3's own Rescaling does MobileNet's x/127.5 - 1
    assert report["base"]["features"] == pooling_channels and report["base"]["input_size"] == [SIZE, SIZE]
    model = keras.models.load_model(out / records.MODEL_FILE, compile=False)
    kinds = [type(layer).__name__ for layer in saved.leaves(model)]
    assert kinds.count("Rescaling") == 1, kinds  # the base's own, not a second one in front of it
    assert kinds[0] == "Rescaling" and kinds[-2:] == ["Dropout", "Dense"]
    assert model.input_shape == (None, SIZE, SIZE, 3) and model.output_shape == (None, 4)
    # The saved model is the one evaluated: its probabilities on the test photos are the report's.
    predictions = report["test"]["predictions"]
    probabilities = saved.probabilities(model, PHOTOS, [p["file"] for p in predictions])
    np.testing.assert_allclose(probabilities.max(-1), [p["probability"] for p in predictions], atol=1e-4)
    assert [report["classes"][i] for i in probabilities.argmax(-1)] == [p["predicted"] for p in predictions]


def test_train_on_stock_mobilenet_v3_small_cuts_at_its_pooling_and_keeps_its_own_rescaling(tmp_path):
    from builder.build import BuildOptions, build
    from builder.train.pipeline import TrainOptions, train
    from tests import helpers

    keras = saved.keras()
    weights = helpers.stock_weights(tmp_path / "v3_small.weights.h5", "mobilenet_v3_small", ALPHA, SIZE)
    out = tmp_path / "out"
    report = train(TrainOptions(data=PHOTOS, out=out, model="mobilenet_v3_small", alpha=ALPHA, input_size=SIZE,
                                weights=str(weights), cache_dir=tmp_path / "cache", epochs=10)).report
    stock = _stock_v3(keras)
    pooling = [layer for layer in stock.layers if type(layer).__name__ == "GlobalAveragePooling2D"][-1]
    # Everything before the head: Keras's include_top=False with pooling="avg" (Conv_2 and the logits are the head).
    assert report["base"]["identity"]["cut_at"] == f"GlobalAveragePooling2D (layer {stock.layers.index(pooling)})"
    assert [type(layer).__name__ for layer in stock.layers[stock.layers.index(pooling) + 1:]] == \
        ["Conv2D", "Activation", "Dropout", "Conv2D", "Flatten", "Activation"]
    assert report["base"]["family"] == "mobilenet_v3_small" and report["base"]["identity"]["alpha"] == ALPHA
    _check_trained(out, report, keras, int(pooling.output.shape[-1]))

    # build-site picks the preprocessing up from the model: raw pixels, and the page matches Keras (self-check).
    site = build(BuildOptions(model=str(out / records.MODEL_FILE), out=tmp_path / "site", quantize=("none",)))
    assert site.preprocess == "raw" and site.classes == 4
    assert site.family == "mobilenet_v3_small"  # the trained model is still known as its base's family
    assert site.labels == str(out / records.LABELS_FILE)
    written = json.loads((tmp_path / "site" / "report.json").read_text())
    assert written["training"]["test_accuracy"] == report["test"]["accuracy"]


@pytest.mark.parametrize("kind", ["whole", "nested"])
def test_train_on_a_mobilenet_v3_model_file_as_base(kind, tmp_path):
    """A V3 classifier file: the stock one with its top (pooling keeps dims), or the transfer-learning layout
    (V3 without top nested, then pooling, Dropout and Dense)."""
    from builder.train.pipeline import TrainOptions, train
    from tests import helpers

    keras = saved.keras()
    if kind == "whole":
        model = helpers.mobilenet_v3("small", size=SIZE, alpha=ALPHA, classes=5)
    else:
        model = helpers.v3_fine_tuned(size=SIZE, classes=3)
    base = tmp_path / f"v3_{kind}.keras"
    model.save(base)
    pooling = [layer for layer in model.layers if type(layer).__name__ == "GlobalAveragePooling2D"][-1]
    out = tmp_path / "out"
    report = train(TrainOptions(data=PHOTOS, out=out, base=base, cache_dir=tmp_path / "cache", epochs=10)).report
    assert report["base"]["identity"]["cut_at"] == pooling.name  # a file's layer names are its own
    if kind == "whole":
        assert report["base"]["family"] == "mobilenet_v3_small"  # recognised from its layers, as build-site does
    _check_trained(out, report, keras, int(pooling.output.shape[-1]))
