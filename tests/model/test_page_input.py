"""builder.model.page_input sees what the page sees: EXIF orientation, alpha on white, and tf.image.resize's
bilinear rule (half-pixel centres, no antialiasing), including when it shrinks a striped image."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

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


def exif_with_text_xresolution(orientation: int) -> bytes:
    """A JPEG's EXIF block with ``orientation`` and XResolution (a RATIONAL) stored as ASCII text, as some
    cameras write it: Pillow's ``ImageOps.exif_transpose`` raises on it (it rewrites the block); Chromium turns
    the photo by its orientation."""
    entries = [(0x0112, 3, 1, struct.pack(">HH", orientation, 0)), (0x011A, 2, 2, b"X\0\0\0")]
    ifd = struct.pack(">H", len(entries)) + b"".join(struct.pack(">HHI", tag, kind, count) + value
                                                     for tag, kind, count, value in entries)
    return b"Exif\0\0MM\0*" + struct.pack(">I", 8) + ifd + b"\0\0\0\0"


def test_an_orientation_beside_a_malformed_tag_still_turns_the_photo(tmp_path):
    upright = _photo()
    stored = Image.fromarray(upright).transpose(ORIENTATIONS[8])  # what orientation 6 shows upright
    stored.save(tmp_path / "camera.jpg", quality=100, subsampling=0, exif=exif_with_text_xresolution(6))
    with Image.open(tmp_path / "camera.jpg") as img:
        assert page_input.orientation(img) == 6
    got = page_input.decode(tmp_path / "camera.jpg")
    assert got.shape == upright.shape and np.abs(got.astype(int) - upright).mean() < 8  # JPEG's loss only


def orientation_chromium_ignores(folder, picture: Image.Image) -> list:
    """Files whose orientation Pillow's getexif() reads and Chromium does not apply: XMP's tiff:Orientation in
    a JPEG, ImageMagick's "Raw profile type exif" text in a PNG, and a PNG eXIf chunk that starts with a JPEG's
    "Exif\\0\\0" header, each holding ``picture`` (RGB) with orientation 6: a decoder that applies it turns it."""
    exif = Image.Exif()
    exif[0x0112] = 6
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           b'<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>')
    picture.save(folder / "xmp6.jpg", quality=100, subsampling=0, xmp=xmp)
    text = PngImagePlugin.PngInfo()
    block = exif.tobytes()
    text.add_text("Raw profile type exif", f"\nexif\n{len(block):8d}\n{block.hex()}\n", zip=True)
    picture.save(folder / "imagemagick6.png", pnginfo=text)
    picture.save(folder / "jpeg-header6.png", exif=b"Exif\0\0" + exif.tobytes())  # Pillow drops one header
    return [folder / name for name in ("xmp6.jpg", "imagemagick6.png", "jpeg-header6.png")]


def test_orientations_chromium_does_not_apply_are_not_applied(tmp_path):
    for path in orientation_chromium_ignores(tmp_path, Image.fromarray(_photo())):
        with Image.open(path) as img:
            assert img.getexif().get(0x0112) == 6, path  # Pillow sees it...
            assert page_input.orientation(img) == 1, path  # ...the page does not
        assert page_input.decode(path).shape == _photo().shape, path


def test_an_animated_png_is_its_first_frame_not_a_still_image_outside_the_animation(tmp_path):
    frames = [Image.fromarray(np.full((8, 8, 3), value, np.uint8)) for value in (10, 120, 240)]
    frames[0].save(tmp_path / "a.png", save_all=True, append_images=frames[1:], default_image=True)
    assert (page_input.decode(tmp_path / "a.png") == 120).all()


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
