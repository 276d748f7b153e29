"""Calibration images for ``--quantize auto``: the user's folder, or a built-in set of natural photos.

The built-in set is made from the photographs that ship inside the scikit-image wheel
(no download): an astronaut, a cat, a cup of coffee, a rocket, a motorcycle seen from two
sides, deep-sky imagery and greyscale scenes (a camera man, coins, the moon, grass,
gravel, brick). Deterministic augmentation (random-sized crops, flips, brightness,
contrast and colour jitter, a little blur) turns them into :data:`BUILTIN_COUNT` images.
Every image goes through :mod:`builder.model.page_input`, as the page's pipeline does: upright by its EXIF
orientation, transparency on white, the build's resize rule, bilinear with half-pixel centres and no antialiasing.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from builder.errors import CalibrationError, named
from builder.model import page_input

log = logging.getLogger(__name__)

BUILTIN_COUNT = 200
MIN_IMAGES = 20  # below this, "99% agreement" means nothing
MAX_IMAGES = 500  # a bigger folder is sampled (evenly, in path order) to keep the search quick
SEED = 1704  # arXiv 1704.04861: MobileNets
BUILTIN = "built-in"

# skimage.data loaders whose files ship inside the wheel (no pooch download).
_RGB_SOURCES = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field")
_GREY_SOURCES = ("camera", "coins", "moon", "grass", "gravel", "brick")


@dataclass(frozen=True)
class CalibrationSet:
    images: np.ndarray  # (N, H, W, 3) float32 in 0..255, at the model's input size, as the page feeds the model
    source: str  # "built-in" or the folder
    files: int  # images read (the built-in set: source photos)

    def describe(self) -> str:
        if self.source == BUILTIN:
            return f"{len(self.images)} built-in images (augmented from {self.files} scikit-image photos)"
        return f"{len(self.images)} images from {self.source}"


def load(folder: Path | None, size: tuple[int, int], count: int = BUILTIN_COUNT,
         rule: str = "squash") -> CalibrationSet:
    """The calibration set at ``size`` (height, width): ``folder``'s images fitted by the resize ``rule``
    (as the page fits them), or the built-in set."""
    if folder is None:
        return builtin(size, count)
    return from_folder(folder, size, rule)


def builtin(size: tuple[int, int], count: int = BUILTIN_COUNT, seed: int = SEED) -> CalibrationSet:
    """``count`` augmented natural photos at ``size``; the same call always gives the same pixels."""
    photos = _builtin_photos()
    rng = np.random.default_rng(seed)
    images = [_augment(photos[i % len(photos)], size, rng) for i in range(count)]
    return CalibrationSet(np.stack(images), BUILTIN, len(photos))


def from_folder(folder: Path, size: tuple[int, int], rule: str = "squash") -> CalibrationSet:
    """Every image under ``folder`` (recursively, following linked folders; hidden files and folders are skipped,
    and so are files that are not images, such as a README.md or a Thumbs.db, and links that point nowhere, with
    a warning), by the rule ``train`` uses for its photo folder (:func:`~builder.model.page_input.meant_as_image`), so that a training folder calibrates.

    A file meant as an image (an image suffix, or a header Pillow knows) that does not decode is an error
    naming the file: such a set would not be the images the user thinks it is.
    """
    from PIL import UnidentifiedImageError

    if not folder.is_dir():
        raise CalibrationError(f"--calibration {folder}: not a folder")
    paths, broken = page_input.folder_files(folder)
    if broken:
        log.warning("--calibration %s: skipped %d link(s) that point nowhere: %s", folder, len(broken),
                    named([p.relative_to(folder).as_posix() for p in broken]))
    documents = [p for p in paths if not page_input.meant_as_image(p)]
    if documents:
        log.warning("--calibration %s: skipped %d file(s) that are not images: %s", folder, len(documents),
                    ", ".join(p.relative_to(folder).as_posix() for p in documents[:5]) + (" …" if len(documents) > 5
                                                                                          else ""))
        paths = [p for p in paths if p not in documents]
    if len(paths) < MIN_IMAGES:
        found = "1 image" if len(paths) == 1 else f"{len(paths)} images"
        raise CalibrationError(f"--calibration {folder}: {found}, need at least {MIN_IMAGES} "
                               "(more is better: 99% agreement on 20 images allows no mistake at all)")
    if len(paths) > MAX_IMAGES:
        paths = [paths[i] for i in np.linspace(0, len(paths) - 1, MAX_IMAGES).round().astype(int)]
    images = []
    for path in paths:
        try:
            images.append(page_input.resize_to_input(page_input.decode(path), size, rule))
        except page_input.ImageTooLarge as e:
            raise CalibrationError(f"--calibration {folder}: {path.relative_to(folder)}: {e}") from e
        except PermissionError as e:
            raise CalibrationError(f"--calibration {folder}: {path.relative_to(folder)}: cannot read it "
                                   f"({e.strerror})") from e
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:  # SyntaxError: Pillow's "broken PNG"
            raise CalibrationError(f"--calibration {folder}: {path.relative_to(folder)} is not an image Pillow can "
                                   f"read ({e}); the folder must hold only images") from e
    return CalibrationSet(np.stack(images), str(folder), len(paths))


@functools.lru_cache(maxsize=1)
def _builtin_photos() -> tuple[np.ndarray, ...]:
    """scikit-image's photos, decoded once per process (read-only: :func:`_augment` copies what it changes)."""
    try:
        import skimage.data as data
    except ImportError as e:  # a dependency, so only a broken install gets here
        raise CalibrationError(f"the built-in calibration set needs scikit-image ({e}); pip install scikit-image") \
            from e
    photos = [getattr(data, name)() for name in _RGB_SOURCES]
    left, right, _ = data.stereo_motorcycle()
    photos += [left, right]
    photos += [np.repeat(getattr(data, name)()[..., None], 3, axis=-1) for name in _GREY_SOURCES]
    photos = [np.ascontiguousarray(p[..., :3], dtype=np.uint8) for p in photos]
    for photo in photos:
        photo.flags.writeable = False
    return tuple(photos)


def _augment(photo: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A random-sized crop (10-100% of the area, aspect 3:4-4:3), maybe flipped, with photometric jitter."""
    h, w = photo.shape[:2]
    area = rng.uniform(0.1, 1.0) * h * w
    aspect = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
    ch = int(min(h, max(16, round(np.sqrt(area / aspect)))))
    cw = int(min(w, max(16, round(np.sqrt(area * aspect)))))
    top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    crop = photo[top:top + ch, left:left + cw].astype(np.float32)
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    grey = crop.mean(axis=-1, keepdims=True)
    crop = grey + (crop - grey) * rng.uniform(0.6, 1.4)  # saturation
    mean = crop.mean()
    crop = (crop - mean) * rng.uniform(0.75, 1.25) + mean  # contrast
    crop = crop * rng.uniform(0.7, 1.3)  # brightness
    out = page_input.resize_to_input(np.clip(crop, 0, 255).round(), size)
    if rng.random() < 0.2:  # mild blur, as from a phone photo scaled down
        out = (out * 2 + np.roll(out, 1, 0) + np.roll(out, 1, 1)) / 4
    return out
