"""The built site in a real Chromium: fidelity to Keras, privacy, bad input, the JS API."""

from __future__ import annotations

import base64
import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from builder.site import vendor
from tests import helpers
from tests.conftest import SIZE
from tests.helpers import keras

TOLERANCE = {"wasm": 1e-4, "cpu": 1e-4, "webgl": 1e-3}

CLASSIFY_ALL = """async ([pixels, size, kind]) => {
  const rgba = new Uint8ClampedArray(size * size * 4);
  for (let i = 0; i < size * size; i++) {
    rgba.set(pixels.slice(i * 3, i * 3 + 3), i * 4);
    rgba[i * 4 + 3] = 255;
  }
  let source = new ImageData(rgba, size, size);
  if (kind === 'canvas' || kind === 'bitmap') {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = size;
    canvas.getContext('2d').putImageData(source, 0, 0);
    source = kind === 'canvas' ? canvas : await createImageBitmap(canvas);
  }
  const n = window.browsernet.labels.length;
  return await window.browsernet.classify(source, n);
}"""

CLASSIFY_BLOB = """async ([b64, type, imageUrl]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  let source = new Blob([bytes], { type });
  if (imageUrl) {
    // The page's CSP allows same-origin images only (img-src 'self'), not blob: URLs.
    source = new Image();
    source.src = imageUrl;
    await source.decode();
  }
  return await window.browsernet.classify(source, window.browsernet.labels.length);
}"""


PREPROCESS = {"stock": "mobilenet", "keras": "mobilenet", "h5": "mobilenet", "seq": "unit", "raw": "raw"}


@pytest.fixture(scope="module")
def keras_models(stock_v2_weights, fine_tuned_keras, fine_tuned_h5, sequential_keras, self_preprocessing_keras):
    stock = keras.applications.MobileNetV2(alpha=0.35, input_shape=(SIZE, SIZE, 3), weights=None)
    stock.load_weights(str(stock_v2_weights))
    return {"stock": stock,
            "keras": keras.models.load_model(str(fine_tuned_keras), compile=False),
            "h5": keras.models.load_model(str(fine_tuned_h5), compile=False),
            "seq": keras.models.load_model(str(sequential_keras), compile=False),
            "raw": keras.models.load_model(str(self_preprocessing_keras), compile=False)}


def _vector(results: list[dict], n: int) -> np.ndarray:
    assert len(results) == n
    probs = [r["probability"] for r in results]
    assert probs == sorted(probs, reverse=True)
    out = np.zeros(n)
    out[[r["index"] for r in results]] = probs
    return out


@pytest.mark.parametrize("backend", ["wasm", "cpu", "webgl"])
@pytest.mark.parametrize("site", ["stock", "keras", "h5", "seq", "raw"])
def test_browser_matches_keras(site, backend, served, open_page, keras_models):
    page = open_page(f"{served}{site}/?backend={backend}")
    assert page.ready() == "ready", page.page.text_content("#error")
    assert page.page.evaluate("window.browsernet.backend") == backend
    assert backend in page.page.text_content("#backend")
    size = page.page.evaluate("window.browsernet.inputSize")[0]
    images = helpers.test_images(size, count=4, seed=7)
    expected = helpers.keras_probs(keras_models[site], images, PREPROCESS[site])
    labels = page.page.evaluate("window.browsernet.labels")
    got = np.stack([_vector(page.page.evaluate(CLASSIFY_ALL, [img.reshape(-1).tolist(), size, "imagedata"]),
                            len(labels)) for img in images])
    assert np.max(np.abs(got - expected)) <= TOLERANCE[backend]
    # Meaningful parity: the images are told apart, not all given the same answer.
    assert len(set(expected.argmax(axis=1))) >= 2 and np.ptp(expected, axis=0).max() > 0.2
    assert list(got.argmax(axis=1)) == list(expected.argmax(axis=1))
    assert page.foreign_requests(served) == []


@pytest.mark.parametrize("kind", ["canvas", "bitmap", "png-blob", "png-image"])
def test_every_source_kind_gives_keras_numbers(kind, served, open_page, keras_models, sites):
    page = open_page(f"{served}keras/?backend=wasm")
    assert page.ready() == "ready"
    image = helpers.test_images(SIZE, count=1, seed=3)[0]
    expected = helpers.keras_probs(keras_models["keras"], image[None])[0]
    if kind.startswith("png"):
        buf = io.BytesIO()
        Image.fromarray(image).save(buf, format="PNG")
        url = None
        if kind == "png-image":
            (sites["keras"].parent / "inputs").mkdir(exist_ok=True)
            (sites["keras"].parent / "inputs" / "source-kind.png").write_bytes(buf.getvalue())
            url = f"{served}inputs/source-kind.png"
        results = page.page.evaluate(CLASSIFY_BLOB, [base64.b64encode(buf.getvalue()).decode(), "image/png", url])
    else:
        results = page.page.evaluate(CLASSIFY_ALL, [image.reshape(-1).tolist(), SIZE, kind])
    np.testing.assert_allclose(_vector(results, 5), expected, atol=1e-4)


@pytest.mark.parametrize("backend", ["wasm", "cpu"])
def test_stock_model_with_random_weights(backend, served, open_page):
    """--weights none: the stock V1 (whose keepdims pooling head TF.js lacks) still gives Keras's numbers."""
    from builder.model import zoo as models

    model, _ = models.load("mobilenet_v1", alpha=0.25, input_size=64, weights="none")  # seeded: same as the build
    page = open_page(f"{served}v1-none/?backend={backend}")
    assert page.ready() == "ready", page.page.text_content("#error")
    images = helpers.test_images(64, count=2, seed=5)
    expected = helpers.keras_probs(model, images)
    got = np.stack([_vector(page.page.evaluate(CLASSIFY_ALL, [img.reshape(-1).tolist(), 64, "imagedata"]), 1000)
                    for img in images])
    assert np.max(np.abs(got - expected)) <= 1e-4
    assert page.page.evaluate("window.browsernet.labels[1]") == "goldfish"


def test_other_sizes_are_squashed_like_tf_image_resize(served, open_page, keras_models):
    """An image not at the input size is resized bilinearly without cropping, as tf.image.resize does."""
    import tensorflow as tf

    page = open_page(f"{served}keras/?backend=wasm")
    assert page.ready() == "ready"
    image = helpers.test_images(150, count=1, seed=11)[0][:, :120]  # 150 x 120, not square
    resized = tf.image.resize(image[None].astype(np.float32), (SIZE, SIZE), method="bilinear").numpy()
    expected = np.asarray(keras_models["keras"](resized / 127.5 - 1, training=False))[0]
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    results = page.page.evaluate(CLASSIFY_BLOB, [base64.b64encode(buf.getvalue()).decode(), "image/png", None])
    np.testing.assert_allclose(_vector(results, 5), expected, atol=1e-4)


def test_api_shape_and_top_k(served, open_page):
    page = open_page(f"{served}h5/?backend=cpu")
    assert page.ready() == "ready"
    api = page.page.evaluate("""async () => {
      const b = window.browsernet;
      await b.ready;
      const img = new ImageData(new Uint8ClampedArray(40 * 30 * 4).fill(200), 40, 30);
      return {labels: b.labels, inputSize: b.inputSize, backend: b.backend,
              top2: await b.classify(img, 2), dflt: await b.classify(img),
              all: await b.classify(img, b.labels.length)};
    }""")
    assert api["labels"] == list("abcdefg") and api["inputSize"] == [SIZE, SIZE] and api["backend"] == "cpu"
    assert len(api["top2"]) == 2 and len(api["dflt"]) == 3  # config topK (--top-k 3)
    assert sorted(r["index"] for r in api["all"]) == list(range(7))
    assert sum(r["probability"] for r in api["all"]) == pytest.approx(1, abs=1e-5)
    assert set(api["all"][0]) == {"label", "index", "probability"}


def test_upload_shows_results_errors_and_literal_labels(served, open_page, tmp_path):
    page = open_page(f"{served}keras/?backend=wasm")
    assert page.ready() == "ready"
    good = tmp_path / "photo.png"
    Image.fromarray(helpers.test_images(120, 1)[0]).save(good)
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    drawing = tmp_path / "logo.svg"
    drawing.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64"/></svg>')
    page.page.set_input_files("#file-input", [str(good), str(text), str(broken), str(drawing)])
    page.page.wait_for_function("() => [...document.querySelectorAll('#results .card')].every(c => c.dataset.state !== 'pending')")
    cards = page.page.locator("#results .card")
    assert cards.count() == 4
    assert cards.nth(0).get_attribute("data-state") == "done"
    assert cards.nth(0).locator(".prediction").count() == 5  # --top-k default 5 = every label here
    shown = cards.nth(0).locator(".prediction-label").all_text_contents()
    assert "<img src=x onerror=alert(1)>" in shown  # markup in a label is shown as text
    assert page.page.locator("#results img:not(.thumb)").count() == 0 and page.dialogs == []
    assert cards.nth(1).get_attribute("data-state") == "error"
    assert "notes.txt" in cards.nth(1).text_content() and "not an image" in cards.nth(1).text_content().lower()
    assert cards.nth(2).get_attribute("data-state") == "error"
    assert "broken.png" in cards.nth(2).text_content() and "decode" in cards.nth(2).text_content().lower()
    assert cards.nth(3).get_attribute("data-state") == "error"
    shown = cards.nth(3).text_content()
    assert "logo.svg" in shown and "An SVG drawing, not a pixel image; save it as PNG or JPEG" in shown, shown
    page.page.wait_for_function("() => document.getElementById('queue').textContent.startsWith('Done')")
    assert page.page.text_content("#queue").startswith("Done: 1 image classified, 3 could not be. Last: ")
    assert page.foreign_requests(served) == []
    # The title is text, not markup: escaped by the template.
    assert page.page.title() == "Fine-tuned <b>test</b>"
    assert page.page.evaluate("() => [document.querySelector('h1').textContent, document.querySelectorAll('b').length]") \
        == ["Fine-tuned <b>test</b>", 0]


def _edit_config(site, change):
    config = json.loads((site / "config.json").read_text())
    change(config)
    (site / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize("damage, needle", [
    (lambda s: (s / "model" / "model.json").write_text("{ not json"), "model.json"),
    (lambda s: [p.unlink() for p in (s / "model").glob("*.bin")], "shard"),
    (lambda s: (s / "config.json").unlink(), "config.json"),
    (lambda s: (s / "vendor" / vendor.BUNDLE).unlink(), vendor.BUNDLE),
    (lambda s: [p.unlink() for p in (s / "js").glob("app-*.js")], "script"),  # the page script's chunk
    # config.json vouches for every shard: one it does not list, or lists with another sha256, is refused
    # (the page reads the shards beside model.json, before it knows model.json's list).
    (lambda s: _edit_config(s, lambda c: c["shardSha256"].pop(next(iter(c["shardSha256"])))), "shardSha256"),
    (lambda s: _edit_config(s, lambda c: c["shardSha256"].update(dict.fromkeys(c["shardSha256"], "0" * 64))),
     "corrupt"),
])
def test_broken_site_shows_an_error_instead_of_loading_forever(damage, needle, sites, served, open_page):
    broken = sites["keras"].parent / f"broken-{abs(hash(needle))}"
    shutil.rmtree(broken, ignore_errors=True)
    shutil.copytree(sites["keras"], broken)
    damage(broken)
    page = open_page(f"{served}{broken.name}/?backend=wasm")
    assert page.ready() == "error"
    message = page.page.text_content("#error")
    assert needle.split(".")[0] in message.lower() or needle in message, message
    rejected = page.page.evaluate("""() => window.browsernet === undefined ? 'no api (page script missing)'
      : window.browsernet.ready.then(() => 'resolved', (e) => 'rejected: ' + e.message)""")
    assert rejected.startswith("rejected") or needle == "script", rejected
    assert page.page.locator("#file-input").is_disabled()


def test_automatic_backend_skips_software_webgl(served, open_page):
    """Headless Chromium renders WebGL with SwiftShader, several times slower than WASM here,
    so without ?backend= the page picks WASM (a real GPU would keep WebGL)."""
    page = open_page(f"{served}keras/")
    assert page.ready() == "ready"
    assert page.page.evaluate("window.browsernet.backend") == "wasm"
    renderer = page.page.evaluate("""() => {
      const gl = document.createElement('canvas').getContext('webgl2');
      const ext = gl && gl.getExtension('WEBGL_debug_renderer_info');
      return gl ? gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER) : 'no webgl';
    }""")
    assert "SwiftShader" in renderer, renderer  # the premise of this test
