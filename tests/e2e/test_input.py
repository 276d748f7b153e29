"""Robust input: sizes from 1x1 to 24 megapixels, EXIF rotation, animated GIFs, transparency,
both resize rules against Keras, and a queue of 50 files that leaves no tensors behind."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from tests import helpers
from tests.conftest import SIZE
from tests.helpers import keras

# The page fetches a file from its own origin and classifies it as a File, through the worker.
CLASSIFY_URL = """async ([url, name]) => {
  const blob = await (await fetch(url)).blob();
  const file = new File([blob], name, { type: blob.type });
  return await window.browsernet.classify(file, window.browsernet.labels.length);
}"""


@pytest.fixture(scope="module")
def model(fine_tuned_keras):
    return keras.models.load_model(str(fine_tuned_keras), compile=False)


@pytest.fixture(scope="module")
def inputs(sites):
    folder = sites["keras"].parent / "inputs"
    folder.mkdir(exist_ok=True)
    return folder


def _keras(model, pixels: np.ndarray, rule: str = "squash") -> np.ndarray:
    """Keras's answer for RGB pixels (H, W, 3) in 0..255, resized by `rule` the Keras way."""
    x = np.asarray(pixels, np.float32)[None]
    resized = keras.ops.image.resize(x, (SIZE, SIZE), interpolation="bilinear", crop_to_aspect_ratio=rule == "crop")
    return np.asarray(model(np.asarray(resized) / 127.5 - 1, training=False))[0]


def _probs(results) -> np.ndarray:
    out = np.zeros(len(results))
    out[[r["index"] for r in results]] = [r["probability"] for r in results]
    return out


def _classify(page, served, folder, name):
    return _probs(page.page.evaluate(CLASSIFY_URL, [f"{served}{folder.name}/{name}", name]))


def _open(open_page, served, site="keras"):
    page = open_page(f"{served}{site}/?backend=wasm")
    assert page.ready() == "ready", page.page.text_content("#error")
    return page


@pytest.mark.parametrize("rule, shape", [("squash", (150, 120)), ("crop", (150, 120)), ("crop", (90, 200))])
def test_resize_rule_matches_keras(rule, shape, model, inputs, served, open_page):
    site = "keras" if rule == "squash" else "crop"
    image = helpers.test_images(max(shape), count=1, seed=11)[0][: shape[0], : shape[1]]
    name = f"rule-{shape[0]}x{shape[1]}.png"
    Image.fromarray(image).save(inputs / name)
    page = _open(open_page, served, site)
    got = _classify(page, served, inputs, name)
    np.testing.assert_allclose(got, _keras(model, image, rule), atol=1e-4)
    other = _keras(model, image, "crop" if rule == "squash" else "squash")
    assert np.abs(other - got).max() > 1e-3  # the rules differ on this image, so the check means something


@pytest.mark.parametrize("shape", [(4000, 6000), (1, 1)])
def test_huge_and_tiny_images_classify_like_keras(shape, model, inputs, served, open_page):
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    image = np.stack([(xx * 255 // max(w - 1, 1)), (yy * 255 // max(h - 1, 1)),
                      ((xx // 97 + yy // 89) % 2) * 200 + 20], axis=-1).astype(np.uint8)
    name = f"size-{w}x{h}.png"
    Image.fromarray(image).save(inputs / name, compress_level=1)
    page = _open(open_page, served)
    got = _classify(page, served, inputs, name)
    np.testing.assert_allclose(got, _keras(model, image), atol=1e-4)
    assert page.page.evaluate("document.body.dataset.state") == "ready"


def test_an_image_past_the_browsers_canvas_limits_is_refused_not_classified_as_white(inputs, served, open_page):
    """Chromium's canvas draws nothing past its limits (a side over 65,535 pixels, or about 268 million pixels)
    and reads back transparent black without an error: the page classified a blank white image instead."""
    Image.new("RGB", (100_000, 4), (128, 128, 128)).save(inputs / "strip.png")
    page = _open(open_page, served)
    with pytest.raises(Exception, match=r"strip\.png: the image \(100000×4\) is too large for this browser to "
                                        r"read; scale it down"):
        _classify(page, served, inputs, "strip.png")
    assert page.page.evaluate("document.body.dataset.state") == "ready"
    Image.new("RGB", (8, 8), (128, 128, 128)).save(inputs / "grey.png")
    assert abs(_classify(page, served, inputs, "grey.png").sum() - 1) < 1e-4  # the next image still classifies


# The page hands an <img> to the worker as its decoded pixels: the same pixels as a Blob of its file.
CLASSIFY_IMG_AND_BLOB = """async ([url, name]) => {
  const n = window.browsernet.labels.length;
  const blob = await (await fetch(url)).blob();
  const img = new Image();
  img.src = url;
  await img.decode();
  return [await window.browsernet.classify(img, n), await window.browsernet.classify(new File([blob], name), n)];
}"""


def _swapped_primaries_profile() -> bytes:
    """An ICC profile that is sRGB with its red and blue primaries swapped: colour management changes the
    pixels a lot, so a path that applies it cannot pass for one that does not."""
    import struct

    from PIL import ImageCms

    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    entries = {bytes(profile[132 + 12 * i:136 + 12 * i]): 132 + 12 * i
               for i in range(struct.unpack(">I", profile[128:132])[0])}
    red, blue = entries[b"rXYZ"], entries[b"bXYZ"]
    profile[red + 4:red + 12], profile[blue + 4:blue + 12] = profile[blue + 4:blue + 12], profile[red + 4:red + 12]
    return bytes(profile)


@pytest.mark.parametrize("kind", ["alpha ramp", "colour profile"])
def test_an_img_element_is_classified_as_its_file_is(kind, inputs, served, open_page):
    """classify(<img>) read the element's colour-managed, premultiplied bitmap: 2e-3 off the same file as a Blob
    for a transparent PNG, 0.1 for a JPEG with a colour profile (phones embed Display P3)."""
    rgb = helpers.test_images(SIZE, count=1, seed=21)[0]
    if kind == "alpha ramp":
        name = "ramp.png"
        alpha = np.tile(np.linspace(20, 255, SIZE).astype(np.uint8), (SIZE, 1))
        Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(inputs / name)
    else:
        name = "profiled.jpg"
        Image.fromarray(rgb).save(inputs / name, quality=95, icc_profile=_swapped_primaries_profile())
    page = _open(open_page, served)
    from_img, from_file = page.page.evaluate(CLASSIFY_IMG_AND_BLOB, [f"{served}{inputs.name}/{name}", name])
    np.testing.assert_allclose(_probs(from_img), _probs(from_file), atol=1e-5)


def test_exif_rotated_jpeg_is_classified_upright(model, inputs, served, open_page):
    upright = helpers.test_images(160, count=1, seed=4)[0][:, :120]  # 160 tall, 120 wide
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)  # as a sideways camera stores it
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    stored.save(inputs / "sideways.jpg", quality=100, subsampling=0, exif=exif.tobytes())
    decoded = ImageOps.exif_transpose(Image.open(inputs / "sideways.jpg")).convert("RGB")
    assert decoded.size == (120, 160)
    page = _open(open_page, served)
    got = _classify(page, served, inputs, "sideways.jpg")
    expected = _keras(model, np.asarray(decoded))
    # Chromium and Pillow decode JPEG with their own builds of libjpeg-turbo.
    np.testing.assert_allclose(got, expected, atol=2e-3)
    sideways = _keras(model, np.asarray(Image.open(inputs / "sideways.jpg").convert("RGB")))
    assert np.abs(sideways - got).max() > 2e-2, "rotation makes no difference on this image"


def test_animated_gif_uses_its_first_frame(model, inputs, served, open_page):
    frames = [Image.fromarray(img).convert("P", palette=Image.Palette.ADAPTIVE)
              for img in helpers.test_images(SIZE, count=2, seed=9)]
    frames[0].save(inputs / "anim.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    gif = Image.open(inputs / "anim.gif")
    first = np.asarray(gif.convert("RGB"))
    gif.seek(1)
    second = np.asarray(gif.convert("RGB"))
    page = _open(open_page, served)
    got = _classify(page, served, inputs, "anim.gif")
    np.testing.assert_allclose(got, _keras(model, first), atol=1e-4)
    assert np.abs(_keras(model, second) - got).max() > 1e-2


def test_transparent_png_is_composited_on_white(model, inputs, served, open_page):
    rgb = helpers.test_images(SIZE, count=1, seed=13)[0]
    alpha = np.full((SIZE, SIZE), 255, np.uint8)
    alpha[:, : SIZE // 2] = 0  # the left half is transparent (its stored colours are not white)
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(inputs / "logo.png")
    on_white = rgb.copy()
    on_white[:, : SIZE // 2] = 255
    page = _open(open_page, served)
    got = _classify(page, served, inputs, "logo.png")
    np.testing.assert_allclose(got, _keras(model, on_white), atol=1e-4)
    assert np.abs(_keras(model, rgb) - got).max() > 1e-2  # ignoring alpha would have been caught


def test_fifty_files_are_classified_in_order_without_leaking_tensors(served, open_page, tmp_path):
    page = _open(open_page, served)
    files = []
    for i, image in enumerate(helpers.test_images(80, count=50, seed=100)):
        files.append(tmp_path / f"photo-{i:02d}.png")
        Image.fromarray(image).save(files[-1])
    before = page.page.evaluate("async () => window.browsernet.memory()")
    page.page.set_input_files("#file-input", [str(f) for f in files])
    page.page.wait_for_function(
        "() => [...document.querySelectorAll('#results .card')].every(c => c.dataset.state === 'done')",
        timeout=120_000)
    names = page.page.locator("#results .card .card-name").all_text_contents()
    assert names == [f.name for f in files]
    after = page.page.evaluate("async () => window.browsernet.memory()")
    assert after == before and before["numTensors"] > 0  # the model's weights, and nothing more
    assert "50 images classified" in page.page.text_content("#queue")
    # Every card got its thumbnail (the order the cards are listed in is checked above).
    assert page.page.locator("#results .card canvas.thumb").count() == 50


# A file handed to the page as a visitor's drop or paste does it: a File in a DataTransfer, on `target`.
HAND_OVER = """async ([url, name, how, target]) => {
  const blob = await (await fetch(url)).blob();
  const data = new DataTransfer();
  data.items.add(new File([blob], name, { type: blob.type }));
  const state = document.body.dataset.state;
  const event = how === 'paste' ? new ClipboardEvent('paste', { clipboardData: data, bubbles: true })
    : new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true });
  document.querySelector(target).dispatchEvent(event);
  return state;
}"""


@pytest.mark.parametrize("how, target", [("drop", "#model-card"), ("paste", "body"), ("paste", "#file-input")])
def test_a_file_dropped_anywhere_or_pasted_is_classified_and_its_answer_announced(how, target, inputs, served,
                                                                                 open_page):
    Image.new("RGB", (40, 30), (20, 120, 200)).save(inputs / "blue.png")
    page = _open(open_page, served)
    state = page.page.evaluate(HAND_OVER, [f"{served}{inputs.name}/blue.png", "blue.png", how, target])
    assert state == "ready"
    page.page.wait_for_function("() => document.querySelector('#results .card')?.dataset.state === 'done'")
    label = page.page.locator("#results .card .prediction-label").first.text_content()
    assert page.page.text_content("#queue").startswith(f"Done. blue.png: {label}, ")


def test_a_dropped_link_says_it_is_not_a_file(inputs, served, open_page):
    """A picture dragged from another site comes as its address: nothing happened, without a word. The page never
    fetches it (it loads nothing from other sites), and says to save the file."""
    page = _open(open_page, served)
    requested = []
    page.page.on("request", lambda request: requested.append(request.url))
    page.page.evaluate("""() => {
      const data = new DataTransfer();
      data.setData('text/uri-list', 'https://example.com/cat.jpg');
      data.setData('text/plain', 'https://example.com/cat.jpg');
      document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    }""")
    assert page.page.text_content("#queue").startswith("Nothing to classify: that was a link, not a file.")
    assert page.page.locator("#results .card").count() == 0 and not any("example.com" in u for u in requested)


DROP_AT_ONCE = """async ([b64, name]) => {
  // As soon as the page's scripts listen (window.browsernet is set with them), in the same task: the model is
  // still loading then (the worker has not even started TF.js).
  while (window.browsernet === undefined) await new Promise((r) => requestAnimationFrame(r));
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, { type: 'image/png' }));
  const state = document.body.dataset.state;
  document.querySelector('#dropzone').dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true,
                                                                          cancelable: true }));
  return state;
}"""


def test_a_file_dropped_while_the_model_loads_is_classified_once_it_has(served, open_page):
    """Dropped before the model was ready, a file used to vanish: no card, no word."""
    import base64

    png = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 20)).save(png, "PNG")
    page = open_page(f"{served}keras/?backend=wasm")
    state = page.page.evaluate(DROP_AT_ONCE, [base64.b64encode(png.getvalue()).decode(), "orange.png"])
    assert state == "loading", "the premise: dropped before the model was ready"
    assert page.ready() == "ready"
    page.page.wait_for_function("() => document.querySelector('#results .card')?.dataset.state === 'done'")
    assert page.page.locator("#results .card .card-name").all_text_contents() == ["orange.png"]


def test_a_long_file_name_wraps_instead_of_widening_a_phones_page(inputs, served, open_page, tmp_path):
    """The queue line ("Done. Last: NAME: label, 93.6%.") did not wrap: a 200-character name made a 320-pixel
    page 2,000 pixels wide."""
    name = tmp_path / ("a" * 200 + ".png")
    Image.fromarray(helpers.test_images(64, count=1, seed=3)[0]).save(name)
    page = open_page(f"{served}keras/?backend=cpu", viewport={"width": 320, "height": 640})
    assert page.ready() == "ready", page.page.text_content("#error")
    page.page.set_input_files("#file-input", str(name))
    page.page.wait_for_function("() => document.querySelector('#results .card')?.dataset.state === 'done'")
    assert "a" * 200 in page.page.text_content("#queue")  # the name is shown, wrapped
    assert page.page.evaluate("() => document.documentElement.scrollWidth") <= 320
