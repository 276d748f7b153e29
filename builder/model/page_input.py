"""The page's input pipeline, in Python: what the visitor's image becomes before the model sees it.

The page (``templates/js/image-source.js`` and the resize in the page's JS) decodes a file with
its EXIF orientation applied and no colour-profile conversion, composites transparent pixels on
white, crops by the build's resize rule, and resizes bilinearly with half-pixel centres and no
antialiasing, as ``tf.image.resize`` does (what Keras trains with). Anything that measures the model
on images "as the page sees them" (``--quantize auto``'s calibration) goes through here, so that it
measures what visitors get.
"""

from __future__ import annotations

import os
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

RESIZE_RULES = ("squash", "crop")


class ImageTooLarge(ValueError):
    """An image with more pixels than Pillow decodes (twice ``PIL.Image.MAX_IMAGE_PIXELS``: its guard against
    decompression bombs, small files that expand into gigabytes)."""


def open_image(path: Path | bytes):
    """``PIL.Image.open(path)`` (use it as a context manager), without Pillow's DecompressionBombWarning for
    large photos (the decode is wanted) and with :class:`ImageTooLarge`, naming the size, past its limit.
    ``path`` may also be the file's bytes."""
    import io

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(path) if isinstance(path, bytes) else path)
    except Image.DecompressionBombError as e:
        raise ImageTooLarge(f"{str(e).split(', could be')[0]}; scale it down") from e


# Formats Pillow knows by name but that are no photo to decode here: PostScript (its reader runs Ghostscript) and
# MPEG video, which it identifies only. Save-only formats (PDF, Palm) and stubs that need a handler registered
# (HDF5, GRIB, BUFR, WMF outside Windows) are left out by :func:`image_suffixes` itself.
_NOT_PHOTOS = frozenset({"EPS", "MPEG"})


@lru_cache(maxsize=None)
def image_suffixes() -> frozenset[str]:
    """The file suffixes of the formats Pillow decodes here (``.jpg``, ``.png``, ``.webp``, ...), lower-case."""
    from PIL import Image, ImageFile

    Image.init()

    def decodes(fmt: str) -> bool:
        # Pillow opens a camera's multi-picture .mpo with its JPEG opener; MPO has none of its own.
        opener = Image.OPEN.get("JPEG" if fmt == "MPO" else fmt, (None,))[0]
        stub = isinstance(opener, type) and issubclass(opener, ImageFile.StubImageFile)
        return opener is not None and not stub and fmt not in _NOT_PHOTOS

    return frozenset(suffix.lower() for suffix, fmt in Image.registered_extensions().items() if decodes(fmt))


@lru_cache(maxsize=None)
def _document_suffixes() -> frozenset[str]:
    """Suffixes Pillow registers for formats it does not decode into a photo here (``.pdf``, ``.eps``, ``.mpg``,
    ``.h5``): files with these are documents, videos or data, not photos."""
    from PIL import Image

    Image.init()
    return frozenset(suffix.lower() for suffix in Image.registered_extensions()) - image_suffixes()


def folder_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """The files under ``folder``, recursively and sorted, following linked folders, without hidden files or
    folders (``.DS_Store``, ``.git/``); and, apart, the links that point nowhere. Python 3.11's ``Path.rglob``
    does not enter a linked folder, so a photo folder that links more photos in would silently lose them.
    Each real folder is read once, under its own path where it is inside ``folder`` (the linked folders are
    followed after the rest), so a link loop ends and adding a link renames no photo already there."""
    files: list[Path] = []
    broken: list[Path] = []
    seen: set[str] = set()
    links: list[Path] = []

    def walk(top: Path, follow: bool) -> None:
        for root, dirs, names in os.walk(top, followlinks=follow):
            real = os.path.realpath(root)
            if real in seen:
                dirs[:] = []
                continue
            seen.add(real)
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            if not follow:
                links.extend(Path(root) / d for d in dirs if os.path.islink(os.path.join(root, d)))
            for name in names:
                path = Path(root) / name
                if name.startswith("."):
                    continue
                if path.is_file():
                    files.append(path)
                elif not path.exists():
                    broken.append(path)

    walk(folder, follow=False)
    for link in sorted(links):
        walk(link, follow=True)
    return sorted(files), sorted(broken)


def meant_as_image(path: Path) -> bool:
    """Whether ``path`` is meant as an image: it has the suffix of a format Pillow decodes, or Pillow knows its
    header. Anything else (``README.md``, ``Thumbs.db``, ``.DS_Store``-like litter, a ``.pdf``, an ``.mpg``) is
    not, and a photo folder may hold it.
    A text file whose first words read as an image header (``P4 photos of the beach``: Netpbm's) is not one
    either, unless it decodes (an ASCII Netpbm image is text, so a truncated one without a suffix reads as a
    note). Whether a binary image decodes is otherwise :func:`decode`'s to find out: a truncated JPEG without a
    suffix is still meant as an image."""
    from PIL import UnidentifiedImageError

    suffix = path.suffix.lower()
    if suffix in image_suffixes():
        return True
    if suffix in _document_suffixes():
        return False
    text = None
    try:
        with open_image(path) as img:
            text = _looks_like_text(path)
            if text:
                img.load()  # text that Pillow identified: an image only if it decodes
            return True
    except UnidentifiedImageError:
        return False
    except (OSError, ValueError, SyntaxError):
        # Unreadable or too large: an image that decode() will name the problem of; text: a note.
        return not (_looks_like_text(path) if text is None else text)


def _looks_like_text(path: Path, size: int = 1024) -> bool:
    """Whether the first ``size`` bytes of ``path`` are printable UTF-8 text (line breaks and tabs allowed),
    as a note is and image data, past its header, is not. False for a file that cannot be read."""
    import codecs

    try:
        with open(path, "rb") as f:
            head = f.read(size)
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)  # a character cut at the end
    except (OSError, UnicodeDecodeError):
        return False
    return bool(text) and all(c.isprintable() or c in "\n\r\t" for c in text)


def decode(path: Path | bytes) -> np.ndarray:
    """``path`` (a file, or its bytes) as the page decodes it: (H, W, 3) uint8 RGB, upright by its EXIF
    orientation (:func:`orientation`), transparent pixels composited on white (rounded to 8 bits, as the page's
    canvas stores them); an animated file's first frame. A WebP file's EXIF orientation is not applied: Chromium
    does not apply it, not even in an ``<img>``.

    Raises ``PIL.UnidentifiedImageError`` / ``OSError`` / ``ValueError`` for a file Pillow cannot decode
    (:class:`ImageTooLarge`, a ``ValueError``, for one over Pillow's pixel limit).
    """
    with open_image(path) as img:
        if img.format == "PNG" and img.info.get("default_image") and getattr(img, "n_frames", 1) > 1:
            img.seek(1)  # an animated PNG's still image outside its animation: the browser shows the first frame
        img.load()
        upright = _eight_bit(img if img.format == "WEBP" else _upright(img))
        has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
        if not has_alpha:
            return np.asarray(upright.convert("RGB"), dtype=np.uint8)
        rgba = np.asarray(upright.convert("RGBA"), dtype=np.float32)
    alpha = rgba[..., 3:] / 255.0
    return np.round(rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)


# An EXIF orientation (TIFF tag 274, 2-8) and the transpose that shows such a picture upright.
_UPRIGHT = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE", 6: "ROTATE_270",
            7: "TRANSVERSE", 8: "ROTATE_90"}


def _upright(img):
    """``img`` turned by :func:`orientation` (itself when that is 1)."""
    from PIL import Image

    turn = _UPRIGHT.get(orientation(img))
    return img.transpose(getattr(Image.Transpose, turn)) if turn else img


def orientation(img) -> int:
    """The EXIF orientation (1-8) Chromium applies to the open Pillow image ``img``; 1 for none.

    It is read from the file's EXIF block alone (a JPEG's APP1 segment, a PNG's ``eXIf`` chunk), which must
    start with a TIFF header, and only the orientation tag is read: a block Pillow cannot parse, or an
    orientation outside 1-8, counts as none. Pillow's ``getexif()`` also takes XMP's ``tiff:Orientation`` and
    ImageMagick's "Raw profile type exif" text chunk, and a PNG ``eXIf`` chunk that starts with a JPEG's
    ``Exif\\0\\0`` header, none of which Chromium applies; ``ImageOps.exif_transpose`` fails on EXIF with another
    tag malformed (XResolution stored as text, as some cameras write it), which Chromium shows turned."""
    from PIL import Image

    block = img.info.get("exif") or b""
    if block.startswith(b"Exif\x00\x00"):
        block = block[6:]  # a JPEG's APP1 header, or the one Pillow puts in front of a PNG's eXIf chunk
    if block[:4] not in (b"MM\x00*", b"II*\x00"):
        return 1
    exif = Image.Exif()
    try:
        with warnings.catch_warnings():  # Pillow's "Corrupt EXIF data": nothing the user can act on, as Chromium
            warnings.simplefilter("ignore")  # reads such a block without a word
            exif.load(block)
            value = exif.get(0x0112)
    except Exception:  # noqa: BLE001 - a block Pillow cannot parse (struct, syntax, value errors): no orientation
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _eight_bit(img):
    """A 16-bit grayscale image (Pillow's modes I;16* and I) as 8-bit L, by its high byte as the browser's PNG
    decoder keeps it: Pillow's own conversion to RGB clips every value above 255 to white. A tRNS grey
    (``transparency``) becomes an alpha channel, matched on the 16-bit values."""
    from PIL import Image

    if not (img.mode.startswith("I;16") or img.mode == "I"):
        return img
    wide = np.clip(np.asarray(img, dtype=np.int64), 0, 65535)
    gray = Image.fromarray((wide >> 8).astype(np.uint8), "L")
    key = img.info.get("transparency")
    if not isinstance(key, int):
        return gray
    gray.putalpha(Image.fromarray(np.where(wide == key, 0, 255).astype(np.uint8), "L"))
    return gray


def crop_box(width: int, height: int, size: tuple[int, int], rule: str) -> tuple[int, int, int, int]:
    """``(x, y, w, h)`` of the part of a ``width`` × ``height`` image that is resized to ``size`` (height, width):
    all of it for ``squash``; for ``crop``, the largest centred box of ``size``'s aspect ratio, as Keras's
    ``crop_to_aspect_ratio=True`` computes it."""
    if rule == "squash":
        return 0, 0, width, height
    if rule != "crop":
        raise ValueError(f"unknown resize rule {rule!r}; expected one of {', '.join(RESIZE_RULES)}")
    target_h, target_w = size
    f = np.float32
    crop_h = max(min(height, int(f(f(width * target_h) / target_w))), 1)
    crop_w = max(min(width, int(f(f(height * target_w) / target_h))), 1)
    return int(f(width - crop_w) / 2), int(f(height - crop_h) / 2), crop_w, crop_h


def resize_to_input(pixels: np.ndarray, size: tuple[int, int], rule: str = "squash") -> np.ndarray:
    """(H, W, 3) pixels in 0..255 → (size[0], size[1], 3) float32 in 0..255, unrounded, as the page feeds the
    model: the ``rule`` crop, then bilinear with half-pixel centres and no antialiasing (``tf.image.resize``)."""
    x, y, w, h = crop_box(pixels.shape[1], pixels.shape[0], size, rule)
    box = pixels[y:y + h, x:x + w]
    y0, y1, dy = _taps(size[0], h)
    x0, x1, dx = _taps(size[1], w)
    # Only the rows and columns the taps read become float64: a 13000-pixel photo's whole float copy took 4 GB.
    above, below = box[y0], box[y1]

    def taps(rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        return np.asarray(rows[:, columns], dtype=np.float64)

    top = taps(above, x0) + (taps(above, x1) - taps(above, x0)) * dx[None, :, None]
    bottom = taps(below, x0) + (taps(below, x1) - taps(below, x0)) * dx[None, :, None]
    return (top + (bottom - top) * dy[:, None, None]).astype(np.float32)


def _taps(out_size: int, in_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each output index: the two source indices and the second's weight, with half-pixel centres,
    computed in float32 as TensorFlow (and the page) compute them."""
    scale = np.float32(in_size / out_size)
    x = (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    lo = np.floor(x)
    return (np.maximum(lo, 0).astype(np.int64), np.minimum(np.ceil(x), in_size - 1).astype(np.int64),
            (x - lo).astype(np.float64))
