"""--quantize auto's calibration images are the pixels the page feeds the model: the same files, decoded upright
by their EXIF orientation (1-8, and only where Chromium applies one), an animation's first frame, from any of the colour modes a photo folder holds (CMYK, grayscale, palette,
16-bit, 1-bit), transparency on white, cropped by the resize rule and resized bilinearly
without antialiasing. Compared pixel by pixel with the page's own decode and resize, in Chromium."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from builder.convert import calibration
from builder.site import render
from tests.model.test_page_input import exif_with_text_xresolution, orientation_chromium_ignores

pytestmark = pytest.mark.e2e

PHOTO = Path(__file__).resolve().parents[2] / "models" / "dog.jpg"
SIZE = (40, 56)  # height, width: not square, so the crop rule matters

# The page's decode and resize: its own modules (templates/js, which a site gets bundled), served beside the site.
PAGE_PIXELS = """async ([url, size, rule]) => {
  const { pixelsOf } = await import('../page-modules/image-source.js');
  const { resizeToInput } = await import('../page-modules/resize.js');
  const blob = await (await fetch(url)).blob();
  const rgba = await pixelsOf(blob, url);
  return Array.from(resizeToInput(rgba.data, rgba.width, rgba.height, size, rule));
}"""


@pytest.fixture(scope="module")
def folder(sites) -> Path:
    """One real photo stored in each EXIF orientation, three crops of it each, a half-transparent PNG, a
    16-bit grayscale PNG, and the photo in CMYK, grayscale, palette, 1-bit and WebP files (one with an EXIF
    orientation)."""
    root = sites["keras"].parent / "calibration-inputs"
    root.mkdir(exist_ok=True)
    with Image.open(PHOTO) as img:
        photo = img.convert("RGB").resize((150, 110), Image.Resampling.LANCZOS)
    for crop, box in enumerate([(0, 0, 150, 110), (20, 5, 140, 100), (40, 10, 100, 110)]):
        part = photo.crop(box)
        for orientation in range(1, 9):
            exif = Image.Exif()
            exif[0x0112] = orientation
            part.save(root / f"o{orientation}-c{crop}.jpg", quality=100, subsampling=0, exif=exif.tobytes())
    rgba = np.asarray(photo.convert("RGBA")).copy()
    rgba[:, :75, 3] = 0  # the left half transparent (its stored colours are not white)
    rgba[:, 75:, 3] = 128
    Image.fromarray(rgba, "RGBA").save(root / "transparent.png")
    # 16-bit grayscale (Pillow's mode I;16), its low bytes not a copy of the high ones.
    gray = np.asarray(photo.convert("L"), np.uint16) * 256 + np.arange(110 * 150, dtype=np.uint16).reshape(110, 150) % 256
    Image.fromarray(gray).save(root / "gray16.png")
    # The other ways a photo folder stores colour: a CMYK JPEG (print workflows), a grayscale JPEG, a palette PNG
    # with a transparent colour, a 1-bit PNG, a grayscale PNG with alpha, and a lossless WebP with alpha.
    photo.convert("CMYK").save(root / "cmyk.jpg", quality=100)
    photo.convert("L").save(root / "gray.jpg", quality=100)
    palette = photo.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    palette.save(root / "palette.png", transparency=int(np.asarray(palette)[0, 0]))
    photo.convert("1").save(root / "bilevel.png")
    Image.fromarray(rgba[..., [0, 3]].copy(), "LA").save(root / "gray-alpha.png")
    Image.fromarray(rgba, "RGBA").save(root / "transparent.webp", lossless=True)
    # A WebP with an EXIF orientation, which Chromium does not apply (Pillow's exif_transpose would): training on
    # it upright would teach the model a picture the page never shows.
    exif = Image.Exif()
    exif[0x0112] = 6
    photo.save(root / "exif6.webp", quality=100, exif=exif.tobytes())
    # Orientations Pillow reads and Chromium does not apply (XMP's, ImageMagick's text chunk, a PNG eXIf chunk with
    # a JPEG's header); an orientation beside a malformed tag, on which Pillow's exif_transpose fails; and an
    # animated PNG whose still image is outside its animation.
    orientation_chromium_ignores(root, photo)
    turned = photo.transpose(Image.Transpose.ROTATE_90)  # what orientation 6 shows as `photo`
    turned.save(root / "malformed-tag6.jpg", quality=100, subsampling=0, exif=exif_with_text_xresolution(6))
    Image.new("RGB", photo.size, (250, 10, 10)).save(root / "animated.png", save_all=True, default_image=True,
                                                      append_images=[photo, photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)])
    shutil.copytree(render.TEMPLATES / "js", sites["keras"].parent / "page-modules", dirs_exist_ok=True)
    return root


@pytest.mark.parametrize("rule", ["squash", "crop"])
def test_calibration_images_are_the_pages_pixels(rule, folder, served, open_page):
    loaded = calibration.from_folder(folder, SIZE, rule)
    paths = sorted(p for p in folder.iterdir())
    assert loaded.images.shape == (len(paths), *SIZE, 3)
    page = open_page(f"{served}keras/?backend=cpu")
    assert page.ready() == "ready", page.page.text_content("#error")
    for path, ours in zip(paths, loaded.images):
        theirs = np.asarray(page.page.evaluate(PAGE_PIXELS, [f"{served}{folder.name}/{path.name}", list(SIZE), rule]),
                            np.float32).reshape(*SIZE, 3)
        diff = np.abs(theirs - ours)
        # JPEG decoders may round a few pixels differently by a level; orientation, compositing or an
        # antialiasing resize would move whole regions by tens of levels.
        assert diff.max() <= 3 and diff.mean() < 0.3, (path.name, float(diff.max()), float(diff.mean()))
