"""The training photos: one folder per class, checked, and split by content hash.

Each image's split comes from the SHA-256 of its bytes, as ``retrain.py`` took it from a
hash of the file name: the first 64 bits, read as a fraction of 2**64, fall in the test
band ``[0, test%)``, the validation band ``[test%, test% + validation%)`` or training.
So adding photos never moves an existing photo between splits, renaming or moving a photo
does not either, and two copies of one photo can never sit in different splits.

Everything here runs before TensorFlow is imported, so bad input fails in a second.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from builder.errors import DatasetError, OptionError, named
from builder.model import page_input
from builder.model.labels import comparable

log = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
DEFAULT_VALIDATION_PERCENT = 20.0
DEFAULT_TEST_PERCENT = 20.0
MAX_HELD_OUT_PERCENT = 80.0  # validation + test: at least a fifth of the photos train the model


@dataclass(frozen=True)
class Image:
    """One training photo."""

    path: Path  # relative to the data folder, e.g. birds/001.jpg
    label: int  # index into Dataset.classes
    sha256: str  # hex digest of the file's bytes
    split: str  # "train", "validation" or "test"


@dataclass
class Dataset:
    """The checked photos of a data folder, split."""

    root: Path
    classes: list[str]  # sorted folder names: the model's output order
    images: list[Image]  # sorted by path
    skipped: list[str] = field(default_factory=list)  # files that are not images, relative to root
    duplicates: dict[str, str] = field(default_factory=dict)  # a byte-identical copy -> the photo kept
    broken_links: list[str] = field(default_factory=list)  # links that point nowhere, relative to root

    def split(self, name: str) -> list[Image]:
        return [im for im in self.images if im.split == name]

    def counts(self) -> dict[str, dict[str, int]]:
        """``{class: {"train": n, "validation": n, "test": n, "total": n}}``."""
        table = {c: {s: 0 for s in (*SPLITS, "total")} for c in self.classes}
        for im in self.images:
            row = table[self.classes[im.label]]
            row[im.split] += 1
            row["total"] += 1
        return table


def minimum_per_class(validation_percent: float, test_percent: float) -> int:
    """Images a class needs so that each held-out split expects at least one of them:
    ``ceil(100 / min(validation%, test%))``, and never fewer than 3."""
    return max(3, math.ceil(100.0 / min(validation_percent, test_percent) - 1e-9))


def check_percentages(validation_percent: float, test_percent: float) -> None:
    for name, value in (("--validation-percent", validation_percent), ("--test-percent", test_percent)):
        if not 0 < value < 100:
            raise OptionError(f"{name} {value:g}: must be more than 0 and less than 100")
    if validation_percent + test_percent > MAX_HELD_OUT_PERCENT:
        raise OptionError(f"--validation-percent {validation_percent:g} + --test-percent {test_percent:g} hold "
                           f"out more than {MAX_HELD_OUT_PERCENT:g}% of the photos; lower them")


def split_of(sha256: str, validation_percent: float, test_percent: float) -> str:
    """The split of an image whose content hash is ``sha256`` (hex)."""
    fraction = int(sha256[:16], 16) / 2.0 ** 64
    if fraction < test_percent / 100.0:
        return "test"
    if fraction < (test_percent + validation_percent) / 100.0:
        return "validation"
    return "train"


def scan(root: Path, *, validation_percent: float = DEFAULT_VALIDATION_PERCENT,
         test_percent: float = DEFAULT_TEST_PERCENT) -> Dataset:
    """Find, check and split the photos under ``root`` (one sub-folder per class, searched recursively;
    hidden files and folders are skipped).

    Every image is decoded completely once, so a truncated file fails here.
    Raises :class:`~builder.errors.DatasetError` for a missing folder, fewer than two classes, a class folder
    or photo whose name holds a line break (it would split its line of labels.txt or of the split lists), two
    class folders whose names differ only in case, Unicode form, spacing or invisible characters, a class with fewer than
    :func:`minimum_per_class` images or none left for training, an image Pillow cannot decode, and the same
    image (byte for byte) in two classes. Linked folders and files are followed. Files that are not images are
    skipped and listed in :attr:`Dataset.skipped`, and links that point nowhere in :attr:`Dataset.broken_links`.
    """
    check_percentages(validation_percent, test_percent)
    if not root.exists():
        raise DatasetError(f"{root}: no such folder")
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder; expected a folder with one sub-folder of photos per class")
    class_dirs = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                        key=lambda p: p.name)
    if len(class_dirs) < 2:
        found = ", ".join(p.name for p in class_dirs) or "none"
        raise DatasetError(f"{root}: {len(class_dirs)} class folder(s) ({found}); need at least two, "
                           "one sub-folder of photos per class, named after the class")
    skipped = [_printable(p.relative_to(root)) for p in sorted(root.iterdir())
               if p.is_file() and not p.name.startswith(".")]
    classes = [p.name for p in class_dirs]
    for name in classes:
        # labels.txt holds one class name per line, and the page shows them as text.
        if _breaks_a_line(name):
            raise DatasetError(f"{str(root / name)!r}: a class folder's name is its label, one line of labels.txt; "
                               "rename it without line breaks")
        if not comparable(name):
            raise DatasetError(f"{str(root / name)!r}: a class folder's name is its label, and this one shows "
                               "nothing (only spaces or invisible characters); rename it")
    _refuse_look_alike_classes(root, classes)
    _refuse_split_layout(root, class_dirs)
    images: list[Image] = []
    seen: dict[str, Path] = {}  # sha256 -> first photo with those bytes
    duplicates: dict[str, str] = {}
    broken_links: list[str] = []
    for label, folder in enumerate(class_dirs):
        files, broken = page_input.folder_files(folder)
        broken_links += [_printable(path.relative_to(root)) for path in broken]
        for path in files:
            rel = path.relative_to(root)
            if not _is_image(path):
                skipped.append(_printable(rel))
                continue
            _check_utf8(root, rel)
            if any(_breaks_a_line(part) for part in rel.parts):
                # The split lists (splits/*.txt) name each photo on a line of its own.
                raise DatasetError(f"{str(path)!r}: a photo's path is one line of the split lists; rename it "
                                   "without line breaks")
            digest = _sha256(path)
            if digest in seen:
                first = seen[digest]
                if first.parts[0] != rel.parts[0]:
                    raise DatasetError(f"{root / rel}: the same image as {root / first} (identical bytes), "
                                       f"but in class '{rel.parts[0]}' and in '{first.parts[0]}'; "
                                       "keep it in one class only")
                duplicates[rel.as_posix()] = first.as_posix()
                continue
            seen[digest] = rel
            images.append(Image(rel, label, digest, split_of(digest, validation_percent, test_percent)))
    dataset = Dataset(root, classes, sorted(images, key=lambda im: im.path.as_posix()), skipped, duplicates,
                      broken_links)
    _check_counts(dataset, validation_percent, test_percent)
    return dataset


# Folder names that say a dataset is split already (train/, validation/, test/, each holding class folders).
_SPLIT_NAMES = frozenset({"train", "training", "val", "valid", "validation", "dev", "test", "testing", "eval"})


def _refuse_split_layout(root: Path, class_dirs: list[Path]) -> None:
    """A dataset split already (train/ and validation/, each with the same class folders inside) read as one
    class per split would train "train against validation". Raises :class:`~builder.errors.DatasetError`."""
    if not all(p.name.casefold() in _SPLIT_NAMES for p in class_dirs):
        return
    inner = [{q.name for q in p.iterdir() if q.is_dir() and not q.name.startswith(".")} for p in class_dirs]
    shared = set.intersection(*inner)
    if len(shared) >= 2:
        raise DatasetError(f"{root}: split already ({', '.join(p.name + '/' for p in class_dirs)} hold the same class "
                           f"folders: {', '.join(sorted(shared)[:3])}{'…' if len(shared) > 3 else ''}); browsernet makes its own split by content, so "
                           "give it one folder with one sub-folder per class (merge the splits)")


def _printable(rel: Path) -> str:
    """``rel`` as text that any UTF-8 file or terminal takes: a name in another encoding than UTF-8 shows its bytes
    (``caf\\xe9.txt``), not the lone surrogates Python keeps them as, which strict JSON readers refuse, and a
    control character its escape (macOS's ``Icon\\r``), not a carriage return that garbles the line it is shown on."""
    text = os.fsencode(rel.as_posix()).decode("utf-8", "backslashreplace")
    return "".join(c.encode("unicode_escape").decode("ascii") if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c
                   for c in text)


def _check_utf8(root: Path, rel: Path) -> None:
    """A name this system's file names cannot write as UTF-8 (bytes from another encoding, e.g. Latin-1 é) would
    fail only when the split lists and the report are written, after the training. Raises DatasetError."""
    for depth, part in enumerate(rel.parts, 1):
        try:
            part.encode("utf-8")
        except UnicodeEncodeError as e:
            shown = _printable(root / Path(*rel.parts[:depth]))  # its bytes, caf\\xe9.jpg
            byte = ord(part[e.start]) - 0xDC00  # os.fsdecode keeps an undecodable byte as U+DC80..U+DCFF
            kind = "" if depth == len(rel.parts) else "the folder "
            raise DatasetError(f"{kind}{shown}: its name is not UTF-8 (byte 0x{byte:02x}); rename it") from e


def _breaks_a_line(name: str) -> bool:
    """Whether ``name`` would span two lines of a text file (\\n, \\r, and the other line boundaries Python
    knows); other unusual characters (the narrow no-break space macOS puts in its screenshots' names) do not."""
    return bool(name) and name.splitlines() != [name]


def _refuse_look_alike_classes(root: Path, classes: list[str]) -> None:
    """Two class folders whose names differ only in case, Unicode form, spacing or invisible characters ("Birds"
    and "birds"; :func:`~builder.model.labels.comparable`) are one class split in two by accident: the page would show two labels that read the same, and
    on macOS or Windows they would be one folder. Raises :class:`~builder.errors.DatasetError`."""
    seen: dict[str, str] = {}
    for name in classes:
        key = comparable(name)
        if key in seen:
            raise DatasetError(f"{root}: the class folders {seen[key]!r} and {name!r} differ only in case, Unicode "
                               "form (a letter and its accent stored apart or as one), spacing or invisible characters, "
                               "so they read as one label; merge them into one folder, or "
                               "rename one")
        seen[key] = name


def _is_image(path: Path) -> bool:
    """Whether ``path`` is meant as an image (:func:`~builder.model.page_input.meant_as_image`: an image
    extension, or a header Pillow recognises, and not a text note), checking that it decodes completely, as
    training decodes it (:func:`~builder.model.page_input.decode`), before TensorFlow is loaded.
    Anything else (notes, CSVs, .DS_Store-like litter) is not one; an image that does not decode is a
    :class:`DatasetError`."""
    from PIL import UnidentifiedImageError

    if not page_input.meant_as_image(path):
        return False
    try:
        page_input.decode(path)  # the whole image as training decodes it: a truncated file raises here
    except page_input.ImageTooLarge as e:
        raise DatasetError(f"{path}: {e}") from e
    except PermissionError as e:
        raise DatasetError(f"{path}: cannot read it ({e.strerror}); check its permissions") from e
    except UnidentifiedImageError as e:
        raise DatasetError(f"{path}: not a decodable image ({_first_line(e)})") from e
    except (OSError, ValueError, SyntaxError) as e:  # truncated or corrupt data, once identified
        raise DatasetError(f"{path}: truncated or corrupt image ({_first_line(e)}); fix or remove it") from e
    return True


def _check_counts(dataset: Dataset, validation_percent: float, test_percent: float) -> None:
    need = minimum_per_class(validation_percent, test_percent)
    counts = dataset.counts()
    for name, row in counts.items():
        if row["total"] == 0:  # raising the percentages cannot help a class with no photos
            raise DatasetError(f"{_printable(dataset.root / name)}: no images{_left_out(dataset, name)}, and each folder is a "
                               "class; add its photos, or remove the folder")
        if row["total"] < need:
            shown = f"{need:,}" if need < 10 ** 9 else f"{need:.3g}"
            raise DatasetError(
                f"{_printable(dataset.root / name)}: {row['total']} image(s){_left_out(dataset, name)}; each class needs at "
                f"least {shown} for "
                f"--validation-percent {validation_percent:g} and --test-percent {test_percent:g} "
                f"({_fewer_needed(row['total'], validation_percent, test_percent)})")
        if row["train"] == 0:
            raise DatasetError(
                f"{_printable(dataset.root / name)}: the content-hash split put all {row['total']} images in validation "
                "or test, none in training; add photos to this class")
    for split, option in (("validation", "--validation-percent"), ("test", "--test-percent")):
        if not dataset.split(split):
            raise DatasetError(f"{dataset.root}: the content-hash split put none of the {len(dataset.images)} photos "
                               f"in {split}; add photos or raise {option}")


# Photo formats that cameras and phones write and Pillow does not decode: skipped as files that are not
# images, and named as photos when a class is left too few.
_UNDECODABLE_PHOTOS = frozenset({".heic", ".heif", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".orf", ".rw2", ".raf"})


def _left_out(dataset: Dataset, name: str) -> str:
    """What the class folder ``name`` holds that counts as no photo of its own, as a parenthesis for a message
    about its count (empty when nothing was left out): files that are not images (photos in a format Pillow
    cannot read among them), byte-identical copies, links that point nowhere."""
    prefix = _printable(Path(name)) + "/"
    skipped = [f for f in dataset.skipped if f.startswith(prefix)]
    copies = [f for f in dataset.duplicates if f.startswith(name + "/")]
    broken = [f for f in dataset.broken_links if f.startswith(prefix)]
    parts = []
    if skipped:
        photos = [f for f in skipped if Path(f).suffix.lower() in _UNDECODABLE_PHOTOS]
        why = (f"; {len(photos)} of them HEIC or camera-raw photos, which are not decoded here: convert them to JPEG"
               if photos else "")
        parts.append(f"{len(skipped)} file(s) that are not images, left out: {named(skipped)}{why}")
    if copies:
        parts.append(f"{len(copies)} byte-identical cop{'y' if len(copies) == 1 else 'ies'} of its photos, counted once")
    if broken:
        parts.append(f"{len(broken)} link(s) that point nowhere: {named(broken)}")
    return f" ({'; '.join(parts)})" if parts else ""


def _fewer_needed(total: int, validation_percent: float, test_percent: float) -> str:
    """What lets a class of ``total`` photos train: more photos, or (from 3 photos on) held-out percentages
    large enough that each held-out split expects one of them, given as options to type."""
    if total < 3:
        return "add photos"
    least = math.ceil(100 / total)  # each of validation and test expects one of the class's photos at this %
    pair = (max(validation_percent, least), max(test_percent, least))
    if sum(pair) > MAX_HELD_OUT_PERCENT:
        pair = (least, least)
    return f"add photos, or hold out more: --validation-percent {pair[0]:g} --test-percent {pair[1]:g}"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _first_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0][:200]
