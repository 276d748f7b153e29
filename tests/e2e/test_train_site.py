"""photos → `browsernet train` → `browsernet build-site` → Chromium: the page gives Keras's probabilities
on the held-out photos, with the labels and the test figures the training wrote."""

from __future__ import annotations

import json

import numpy as np
import pytest

from builder.model import page_input
from builder.train import report as records
from tests.conftest import PHOTOS
from tests.e2e.classify import page_probabilities


@pytest.fixture(scope="module")
def trained_site(trained, tmp_path_factory):
    """The trained model's site, weights float32 (so the page must match Keras to 1e-4); no --labels given."""
    from builder.build import BuildOptions, build

    out = tmp_path_factory.mktemp("trained-site") / "site"
    build(BuildOptions(model=str(trained / records.MODEL_FILE), quantize=("none",), out=out))
    return out


@pytest.mark.parametrize("backend", ["wasm", "cpu"])
def test_the_page_gives_keras_probabilities_on_the_held_out_photos(backend, trained, trained_site, served_dir,
                                                                    open_page):
    import keras

    train_report = json.loads((trained / records.REPORT_FILE).read_text())
    page = open_page(f"{served_dir(trained_site)}?backend={backend}")
    assert page.ready() == "ready", page.page.text_content("#error")
    labels = page.page.evaluate("window.browsernet.labels")
    assert labels == train_report["classes"]  # labels.txt, found beside the model
    model = keras.models.load_model(trained / records.MODEL_FILE, compile=False)
    size = model.input_shape[1]
    held_out = train_report["data"]["splits"]["validation"] + train_report["data"]["splits"]["test"]
    images = np.stack([np.round(page_input.resize_to_input(page_input.decode(PHOTOS / f), (size, size)))
                       for f in held_out]).astype(np.uint8)
    expected = np.asarray(model.predict(images.astype(np.float32), verbose=0))
    got = page_probabilities(page.page, images)
    assert np.max(np.abs(got - expected)) <= 1e-4
    assert len(set(expected.argmax(-1))) >= 3  # the photos are told apart: parity that means something
    card = page.page.text_content("#model-card")
    accuracy = train_report["test"]["accuracy"]
    low, high = (int(x * 100 + 0.5) for x in train_report["test"]["accuracy_95ci"])  # as Math.round
    assert (f"{accuracy * 100:.1f}".removesuffix(".0") + f"% (95% confidence interval {low}–{high}%) on" in card
            and "Class “birds”" in card)
