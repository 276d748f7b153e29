"""The photo folder: the content-hash split, skipped files, and each bad input as one line, exit 1, nothing written.

No TensorFlow here: all of it is checked before training starts.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from builder.cli import cli
from builder.errors import DatasetError, OptionError
from builder.train import dataset
from tests.conftest import DEMO_BASE, PHOTOS


@pytest.fixture
def photos(tmp_path) -> Path:
    """A writable copy of the real photos."""
    return Path(shutil.copytree(PHOTOS, tmp_path / "photos"))


def _splits(data: dataset.Dataset) -> dict[str, str]:
    return {im.path.as_posix(): im.split for im in data.images}


def test_the_real_photos_split_into_all_three_sets():
    data = dataset.scan(PHOTOS)
    assert data.classes == ["birds", "carnivores", "hoofed_mammals", "primates"]
    assert len(data.images) == 41
    counts = {s: len(data.split(s)) for s in dataset.SPLITS}
    assert sum(counts.values()) == 41 and min(counts.values()) > 0
    assert all(row["train"] > 0 for row in data.counts().values())
    assert data.skipped == ["CREDITS.md"]  # the credits file at the top is no class's image


def test_adding_a_photo_moves_no_other_photo(photos):
    before = _splits(dataset.scan(photos))
    # A new photo: a mirrored copy of one of the birds, re-encoded (so different bytes).
    with Image.open(photos / "birds" / "001.jpg") as img:
        img.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(photos / "birds" / "new.jpg", quality=85)
    after = _splits(dataset.scan(photos))
    assert set(after) == set(before) | {"birds/new.jpg"}
    assert {p: after[p] for p in before} == before


def test_the_split_follows_the_content_not_the_name(photos):
    before = _splits(dataset.scan(photos))
    (photos / "carnivores" / "sub").mkdir()
    (photos / "carnivores" / "001.jpg").rename(photos / "carnivores" / "sub" / "renamed.jpg")
    after = _splits(dataset.scan(photos))
    assert after["carnivores/sub/renamed.jpg"] == before["carnivores/001.jpg"]


def test_other_percentages_only_move_photos_at_the_band_edges(photos):
    narrow, wide = _splits(dataset.scan(photos, test_percent=20)), _splits(dataset.scan(photos, test_percent=30))
    assert {p for p, s in narrow.items() if s == "test"} <= {p for p, s in wide.items() if s == "test"}


def test_non_images_are_skipped_and_listed_hidden_files_ignored_duplicates_counted_once(photos):
    (photos / "birds" / "notes.txt").write_text("taken in spring")
    (photos / "birds" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (photos / ".hidden").mkdir()
    shutil.copy(photos / "birds" / "001.jpg", photos / ".hidden" / "x.jpg")
    shutil.copy(photos / "birds" / "001.jpg", photos / "birds" / "copy-of-001.jpg")
    (photos / "birds" / "Icon\r").write_bytes(b"")  # macOS's custom-folder-icon file: no image, skipped
    (photos / "birds" / "zoo.txt").write_text("P4 photos taken at the zoo\n")  # begins like a PBM header
    (photos / "birds" / "zoo").write_text("P6 at the zoo, no suffix\n")  # and a PPM's, without a suffix
    # A note whose name is not UTF-8 (Latin-1 é) is skipped as any note is; it stopped the scan as a photo would.
    os.close(os.open(os.fsencode(photos / "birds") + b"/caf\xe9.txt", os.O_CREAT | os.O_WRONLY))
    os.close(os.open(os.fsencode(photos) + b"/notes-\xe9t\xe9.txt", os.O_CREAT | os.O_WRONLY))  # beside the classes
    # Documents and videos whose format Pillow names but does not decode into a photo (its reader needs Ghostscript,
    # or it identifies the file only) are no photos either: they stopped the scan as undecodable images.
    (photos / "birds" / "guide.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    (photos / "birds" / "clip.mpg").write_bytes(b"\x00\x00\x01\xb3" + bytes(60))
    (photos / "birds" / "figure.eps").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n")
    # A macOS screenshot's name (a narrow no-break space before PM) is one line: a photo like any other.
    (photos / "birds" / "001.jpg").rename(photos / "birds" / "Screenshot 2026-12-02 at 1.00.00\u202fPM.jpg")
    data = dataset.scan(photos)
    # Shown as text a terminal line takes: the bytes of a name in another encoding, and the escape of a control
    # character (a carriage return would move the line's start).
    assert data.skipped == ["CREDITS.md", "notes-\\xe9t\\xe9.txt", "birds/Icon\\r", "birds/caf\\xe9.txt",
                            "birds/clip.mpg", "birds/figure.eps", "birds/guide.pdf", "birds/notes.txt", "birds/zoo",
                            "birds/zoo.txt"]
    assert data.duplicates == {"birds/copy-of-001.jpg": "birds/Screenshot 2026-12-02 at 1.00.00\u202fPM.jpg"}
    assert len(data.images) == 41
    assert data.classes == ["birds", "carnivores", "hoofed_mammals", "primates"]


def test_the_warning_tells_a_photo_outside_the_class_folders_from_a_file_that_is_no_image(photos):
    from builder.progress import BufferReporter
    from builder.train.pipeline import _notes

    (photos / "birds" / "notes.txt").write_text("taken in spring")
    shutil.copy(photos / "birds" / "001.jpg", photos / "stray.jpg")
    reporter = BufferReporter()
    _notes(dataset.scan(photos), reporter)
    notes = [text for kind, text in reporter.events if kind == "note"]
    assert "warning: skipped 1 file(s) that are not images: birds/notes.txt" in notes
    assert f"warning: skipped 2 file(s) outside the class folders of {photos}: CREDITS.md, stray.jpg" in notes


def test_the_duplicates_warning_says_how_many_it_does_not_name(photos):
    """Six copies were "6 duplicate photo(s) counted once:" followed by five of them, and no word of the sixth."""
    from builder.progress import BufferReporter
    from builder.train.pipeline import _notes

    for n in range(6):
        shutil.copy(photos / "birds" / "001.jpg", photos / "birds" / f"copy-{n}.jpg")
    reporter = BufferReporter()
    _notes(dataset.scan(photos), reporter)
    [line] = [text for kind, text in reporter.events if kind == "note" and "duplicate photo" in text]
    assert line.startswith("warning: 6 duplicate photo(s) counted once: birds/copy-0.jpg = birds/001.jpg, ")
    assert line.count(" = ") == 5 and line.endswith(" and 1 more")


def test_linked_folders_and_photos_are_followed_and_links_that_point_nowhere_are_said(photos, tmp_path):
    """Python's rglob does not enter a linked folder: photos linked in from elsewhere were left out without a
    word (and a class of them all was 'no images'). A link loop ends, and a link to nothing is named."""
    from builder.progress import BufferReporter
    from builder.train.pipeline import _notes

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name in ("001.jpg", "002.jpg", "003.jpg"):
        (photos / "primates" / name).rename(elsewhere / name)
    (photos / "primates" / "more").symlink_to(elsewhere, target_is_directory=True)
    (photos / "birds" / "again").symlink_to(photos / "birds", target_is_directory=True)  # a loop
    (photos / "birds" / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (photos / "carnivores" / "zoo").mkdir()  # a real folder, and a link to it that sorts first:
    (photos / "carnivores" / "001.jpg").rename(photos / "carnivores" / "zoo" / "001.jpg")
    (photos / "carnivores" / "a").symlink_to("zoo", target_is_directory=True)  # its photos keep their own paths
    data = dataset.scan(photos)
    assert len(data.images) == 41 and not data.duplicates
    paths = {im.path.as_posix() for im in data.images}
    assert paths >= {"primates/more/001.jpg", "primates/more/003.jpg", "carnivores/zoo/001.jpg"}
    assert not any(path.startswith(("carnivores/a/", "birds/again/")) for path in paths)
    assert data.broken_links == ["birds/gone.jpg"]
    reporter = BufferReporter()
    _notes(data, reporter)
    assert "warning: skipped 1 link(s) that point nowhere: birds/gone.jpg" in [t for _, t in reporter.events]


def _damage(kind: str, photos: Path) -> str:
    """Make the photo folder bad in one way; return what the error line must say (a regex)."""
    if kind == "missing folder":
        shutil.rmtree(photos)
        return rf"{re.escape(str(photos))}: no such folder"
    if kind == "one class":
        for name in ("carnivores", "hoofed_mammals", "primates"):
            shutil.rmtree(photos / name)
        return r"1 class folder\(s\) \(birds\); need at least two"
    if kind == "too few images":
        for name in ("003.jpg", "004.jpg", "005.jpg"):
            (photos / "primates" / name).unlink()
        return r"primates: 2 image\(s\); each class needs at least 5 for --validation-percent 20 .*\(add photos\)$"
    if kind == "too few images, enough to hold out more":  # said as the options that would do, within their limit
        for name in ("004.jpg", "005.jpg"):
            (photos / "primates" / name).unlink()
        return (r"primates: 3 image\(s\); each class needs at least 5 .*\(add photos, or hold out more: "
                r"--validation-percent 34 --test-percent 34\)$")
    if kind == "a class of phone photos that do not decode here":  # the reason is in the line, not in a warning
        for path in (photos / "primates").iterdir():  # that would have followed had the scan not stopped
            path.unlink()  # an iPhone's HEIC: an ISO media file, which Pillow has no reader for
            path.with_suffix(".HEIC").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(500))
        (photos / "birds" / "001.jpg").rename(photos / "primates" / "a.jpg")
        shutil.copy(photos / "primates" / "a.jpg", photos / "primates" / "a (1).jpg")
        return (r"primates: 1 image\(s\) \(5 file\(s\) that are not images, left out: primates/001\.HEIC, "
                r"primates/002\.HEIC, primates/003\.HEIC and 2 more; 5 of them HEIC or camera-raw photos, which are "
                r"not decoded here: convert them to JPEG; 1 byte-identical copy of its photos, counted once\); "
                r"each class needs at least 5")
    if kind == "empty class folder":  # more photos per class would not help: there are none
        (photos / "reptiles").mkdir()
        return r"reptiles: no images, and each folder is a class; add its photos, or remove the folder$"
    if kind == "truncated image":
        path = photos / "birds" / "004.jpg"
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        return r"birds/004\.jpg: truncated or corrupt image"
    if kind == "truncated image without a suffix":  # a camera dump's IMG_0004: an image, not a note to skip
        path = photos / "birds" / "004.jpg"
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        path.rename(photos / "birds" / "IMG_0004")
        return r"birds/IMG_0004: truncated or corrupt image"
    if kind == "undecodable image":
        (photos / "carnivores" / "010.jpg").write_text("not a JPEG at all")
        return r"carnivores/010\.jpg: not a decodable image"
    if kind == "too large image":  # Pillow's decompression-bomb guard; a few KB of PNG
        Image.new("L", (20000, 10000)).save(photos / "birds" / "huge.png")
        return r"birds/huge\.png: Image size \(200000000 pixels\) exceeds limit of \d+ pixels; scale it down$"
    if kind == "line break in a class name":
        (photos / "birds").rename(photos / "birds\nflying")
        return r"birds\\nflying': a class folder's name is its label, one line of labels\.txt; rename it"
    if kind == "line break in a photo's name":
        (photos / "birds" / "001.jpg").rename(photos / "birds" / "00\n1.jpg")
        return r"birds/00\\n1\.jpg': a photo's path is one line of the split lists; rename it"
    if kind == "one class in two folders":  # Birds/ from one collection, birds/ from another
        (photos / "Birds").mkdir()
        for name in ("001.jpg", "002.jpg", "003.jpg", "004.jpg", "005.jpg"):
            (photos / "birds" / name).rename(photos / "Birds" / name)
        return r"the class folders 'Birds' and 'birds' differ only in case, Unicode form \(.*\), spacing or invisible characters, so they read as one label; merge"
    if kind == "same image in two classes":
        shutil.copy(photos / "birds" / "001.jpg", photos / "primates" / "006.jpg")
        return r"primates/006\.jpg: the same image as .*birds/001\.jpg .*keep it in one class only"
    if kind == "one class in two folders, spaced apart":  # the page would show "hoofed mammals" twice
        (photos / "hoofed_mammals").rename(photos / "hoofed mammals")
        (photos / "carnivores").rename(photos / "hoofed  mammals")
        return r"the class folders 'hoofed  mammals' and 'hoofed mammals' differ only in case, Unicode form \(.*\), spacing or invisible characters"
    if kind == "one class in two folders, one with a soft hyphen":
        (photos / "primates").rename(photos / "birds\u00ad")
        return r"the class folders 'birds' and 'birds\\xad' differ only in case, Unicode form \(.*\), spacing or invisible characters"
    if kind == "a class name that shows nothing":  # its line of labels.txt would be blank, and dropped
        (photos / "primates").rename(photos / "  \u200b")
        return r"a class folder's name is its label, and this one shows nothing .*; rename it$"
    if kind == "a name that is not UTF-8":  # Latin-1 é, from an old archive
        import os

        os.rename(os.fsencode(photos / "birds" / "001.jpg"), os.fsencode(photos / "birds") + b"/caf\xe9.jpg")
        return r"birds/caf\\xe9\.jpg: its name is not UTF-8 \(byte 0xe9\); rename it$"
    if kind == "a folder name that is not UTF-8":  # the photos' names are fine: the folder is to rename
        import os

        os.rename(os.fsencode(photos / "birds"), os.fsencode(photos) + b"/caf\xe9")
        return r"the folder .*/caf\\xe9: its name is not UTF-8 \(byte 0xe9\); rename it$"
    if kind == "an empty class folder whose name is not UTF-8":  # shown by its bytes, as everywhere
        import os

        os.mkdir(os.fsencode(photos) + b"/caf\xe9")
        return r"/caf\\xe9: no images, and each folder is a class"
    if kind == "split already":  # train/ and validation/, each with the class folders: 'train' is no class
        for split in ("train", "validation"):
            for name in ("birds", "carnivores", "hoofed_mammals", "primates"):
                shutil.copytree(photos / name, photos / split / name)
        for name in ("birds", "carnivores", "hoofed_mammals", "primates"):
            shutil.rmtree(photos / name)
        return (r"split already \(train/, validation/ hold the same class folders: birds, carnivores, hoofed_mammals…\); "
                r"browsernet makes its own split by content")
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["missing folder", "one class", "too few images",
                                  "too few images, enough to hold out more",
                                  "a class of phone photos that do not decode here", "empty class folder",
                                  "truncated image", "truncated image without a suffix",
                                  "undecodable image", "too large image", "line break in a class name",
                                  "a folder name that is not UTF-8", "an empty class folder whose name is not UTF-8",
                                  "line break in a photo's name", "one class in two folders", "same image in two classes",
                                  "one class in two folders, spaced apart", "one class in two folders, one with a soft hyphen",
                                  "a class name that shows nothing", "a name that is not UTF-8", "split already"])
def test_bad_input_is_one_line_exit_1_and_writes_nothing(kind, photos, tmp_path):
    expected = _damage(kind, photos)
    out = tmp_path / "model"
    cache = tmp_path / "cache"
    result = CliRunner().invoke(cli, ["train", str(photos), "--base", str(DEMO_BASE), "--out", str(out),
                                      "--cache-dir", str(cache)], catch_exceptions=False)
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert result.exit_code == 1 and len(errors) == 1, result.output
    assert re.search(expected, errors[0]), errors[0]
    assert "Traceback" not in result.output
    assert not out.exists() and not cache.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".model")] == []


def test_an_existing_folder_that_is_no_training_output_is_refused(tmp_path):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("...")
    result = CliRunner().invoke(cli, ["train", str(PHOTOS), "--base", str(DEMO_BASE), "--out", str(out)])
    assert result.exit_code == 1 and "is not a browsernet train output" in result.output
    assert (out / "thesis.tex").read_text() == "..."


def test_percentages_and_options_are_checked_first():
    with pytest.raises(OptionError, match="--test-percent 0: must be more than 0"):
        dataset.scan(PHOTOS, test_percent=0)
    with pytest.raises(OptionError, match="hold out more than 80%"):
        dataset.scan(PHOTOS, validation_percent=50, test_percent=40)
    result = CliRunner().invoke(cli, ["train", str(PHOTOS), "--model", "mobilenet_v2", "--base", str(DEMO_BASE)])
    assert result.exit_code == 1 and "give --model or --base, not both" in result.output
    # A --base file has its own width and weights: stock-base options would be ignored silently.
    result = CliRunner().invoke(cli, ["train", str(PHOTOS), "--base", str(DEMO_BASE), "--alpha", "0.5",
                                      "--weights", "none"])
    assert result.exit_code == 1 and "--alpha, --weights: for a stock base (--model)" in result.output
    for option, value, said in (("--learning-rate", "inf", "--learning-rate must be a positive number, got inf"),
                                ("--batch-size", str(10 ** 20), "--batch-size must be at most 65,536")):
        result = CliRunner().invoke(cli, ["train", str(PHOTOS), "--base", str(DEMO_BASE), option, value])
        assert result.exit_code == 1 and said in result.output, result.output
    result = CliRunner().invoke(cli, ["train", str(PHOTOS), "--seed", "-1"])
    assert result.exit_code == 1 and "-1 is not in the range 0<=x<=4294967295" in result.output
    # A stock name as --base, or a file that is no model: the hint names --model, the option for a stock base.
    result = CliRunner().invoke(cli, ["train", str(PHOTOS), "--base", "mobilenet_v1", "--out", "nowhere"],
                                prog_name="browsernet")
    assert result.exit_code == 1 and result.output.strip().splitlines()[-1] == (
        "Error: --base mobilenet_v1: a stock model; give it as --model mobilenet_v1 (--base is for a model file) "
        "(see 'browsernet train --help')")
    result = CliRunner().invoke(cli, ["train", str(PHOTOS), "--base", str(PHOTOS / "CREDITS.md"), "--out", "nowhere"])
    assert result.exit_code == 1 and "; or a stock base: --model mobilenet_v1 / mobilenet_v2" in result.output
