"""builder.model.page_input sees what the page sees: EXIF orientation, alpha on white, and tf.image.resize's
bilinear rule (half-pixel centres, no antialiasing), including when it shrinks a striped image."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from builder.model import page_input

# The 8 EXIF orientations and the transform that undoes each (what a viewer shows upright).
ORIENTATIONS = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270,
                7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}


def _photo(h=30, w=44) -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("orientation", sorted(ORIENTATIONS))
def test_every_exif_orientation_decodes_upright(orientation, tmp_path):
    upright = _photo()
    stored = Image.fromarray(upright)
    # Store the pixels so that applying `orientation` shows them upright again.
    inverse = {2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}
    if orientation != 1:
        stored = stored.transpose(ORIENTATIONS[inverse[orientation]])
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(tmp_path / "p.png", exif=exif.tobytes())
    assert np.array_equal(page_input.decode(tmp_path / "p.png"), upright)


def test_transparent_pixels_are_composited_on_white(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 200  # stored red, fully or half transparent
    rgba[:2, :, 3] = 0
    rgba[2:, :, 3] = 128
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    got = page_input.decode(tmp_path / "a.png")
    assert np.array_equal(got[0, 0], [255, 255, 255])  # transparent: white, not black
    half = 128 / 255
    assert np.array_equal(got[3, 3], np.round([200 * half + 255 * (1 - half), 255 * (1 - half), 255 * (1 - half)]))


def test_16_bit_grayscale_keeps_its_levels(tmp_path):
    """Pillow's own conversion of a 16-bit PNG to RGB clips every level above 255: a white image."""
    levels = (np.arange(256, dtype=np.uint16) * 256 + 200).reshape(16, 16)  # 8-bit grey 0-255, low bytes 200
    Image.fromarray(levels).save(tmp_path / "g.png")
    got = page_input.decode(tmp_path / "g.png")
    assert got.shape == (16, 16, 3) and np.array_equal(got[..., 0], got[..., 2])
    assert np.array_equal(got[..., 0], (levels >> 8).astype(np.uint8))


def test_shrinking_stripes_does_not_antialias():
    """Every third column white, shrunk 3x: half-pixel centres land on the white columns, so tf.image.resize
    (and the page) give white; an antialiasing resize (Pillow's BILINEAR) averages them to a third."""
    stripes = np.zeros((63, 63, 3), np.float32)
    stripes[:, 1::3] = 255
    assert np.all(page_input.resize_to_input(stripes, (21, 21)) == 255)
    antialiased = np.asarray(Image.fromarray(stripes.astype(np.uint8)).resize((21, 21), Image.Resampling.BILINEAR))
    assert antialiased.max() < 128


@pytest.mark.parametrize("rule, shape, size", [("squash", (37, 91), (24, 24)), ("squash", (20, 15), (64, 48)),
                                               ("crop", (150, 120), (32, 32)), ("crop", (90, 200), (40, 24))])
def test_resize_matches_keras(rule, shape, size):
    from tests.helpers import keras

    pixels = _photo(*shape).astype(np.float32)
    want = np.asarray(keras.ops.image.resize(pixels[None], size, interpolation="bilinear", antialias=False,
                                             crop_to_aspect_ratio=rule == "crop"))[0]
    np.testing.assert_allclose(page_input.resize_to_input(pixels, size, rule), want, atol=1e-3)
