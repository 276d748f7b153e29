import numpy as np
import pytest
from PIL import Image

from builder.convert import calibration as calibrate
from builder.errors import CalibrationError


@pytest.fixture(scope="module")
def builtin():
    return calibrate.builtin((96, 96))


def test_builtin_set_count_shape_and_determinism(builtin):
    assert builtin.images.shape == (calibrate.BUILTIN_COUNT, 96, 96, 3) and builtin.images.dtype == np.float32
    assert builtin.source == calibrate.BUILTIN and builtin.files == 13
    assert np.array_equal(calibrate.builtin((96, 96)).images, builtin.images)
    assert calibrate.builtin((64, 80), count=5).images.shape == (5, 64, 80, 3)


def test_builtin_set_is_varied(builtin):
    images = builtin.images.astype(np.float32)
    flat = images.reshape(len(images), -1)
    assert len({row.tobytes() for row in builtin.images.reshape(len(images), -1)}) == len(images)  # no duplicates
    # Colour photos and greyscale ones, dark and bright, flat and busy.
    chroma = np.abs(images - images.mean(axis=-1, keepdims=True)).mean(axis=(1, 2, 3))
    assert (chroma < 1).sum() > 40 and (chroma > 10).sum() > 40
    brightness = flat.mean(axis=1)
    assert brightness.min() < 60 and brightness.max() > 160
    detail = np.abs(np.diff(images, axis=2)).mean(axis=(1, 2, 3))
    assert detail.min() < 3 and detail.max() > 20
    # Different crops of the same photo differ (augmentation), and nearby images come from different photos.
    assert np.abs(images[0] - images[13]).mean() > 5 and np.abs(images[0] - images[1]).mean() > 20


def _write_images(folder, count, size=(40, 30)):
    rng = np.random.default_rng(0)
    for i in range(count):
        sub = folder / ("dogs" if i % 2 else "cats")
        sub.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(pixels).save(sub / f"{i:02d}.{'png' if i % 3 else 'jpg'}")


def test_folder_images_are_read_recursively_and_squashed(tmp_path):
    _write_images(tmp_path, 21)
    (tmp_path / ".DS_Store").write_bytes(b"\0\1junk")
    (tmp_path / ".thumbs").mkdir()
    (tmp_path / ".thumbs" / "x.txt").write_text("hidden")
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(tmp_path / "grey.png")  # greyscale → RGB
    got = calibrate.load(tmp_path, (32, 48))
    assert got.images.shape == (22, 32, 48, 3) and got.images.dtype == np.float32
    assert got.source == str(tmp_path) and "22 images from" in got.describe()


def test_folder_with_a_broken_image_names_the_file(tmp_path):
    _write_images(tmp_path, 20)
    (tmp_path / "dogs" / "broken.jpg").write_bytes(b"\xff\xd8\xff not a picture")
    with pytest.raises(CalibrationError, match=r"dogs/broken\.jpg is not an image Pillow can read"):
        calibrate.from_folder(tmp_path, (32, 32))


def test_documents_beside_the_photos_are_skipped_with_a_warning(tmp_path, caplog):
    """A photo folder often carries its README, credits or Windows' Thumbs.db (as train's data folders do, and
    train skips them alike): not an error."""
    _write_images(tmp_path, 20)
    (tmp_path / "README.md").write_text("# my photos")
    (tmp_path / "dogs" / "CREDITS.txt").write_text("by me")
    (tmp_path / "dogs" / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))  # Windows' litter
    with caplog.at_level("WARNING"):
        got = calibrate.from_folder(tmp_path, (32, 32))
    assert len(got.images) == 20
    assert "skipped 3 file(s) that are not images: README.md, dogs/CREDITS.txt, dogs/Thumbs.db" in caplog.text


def test_a_linked_folder_is_read_and_a_link_to_nothing_said(tmp_path, caplog):
    """As train reads its photo folder: photos linked in from elsewhere count (Python's rglob skipped them, and
    the set fell short), a link loop ends, and a link that points nowhere is named."""
    folder, elsewhere = tmp_path / "calibration", tmp_path / "elsewhere"
    _write_images(folder, 12)
    _write_images(elsewhere, 8)
    (folder / "more").symlink_to(elsewhere, target_is_directory=True)
    (folder / "loop").symlink_to(folder, target_is_directory=True)
    (folder / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    with caplog.at_level("WARNING"):
        got = calibrate.from_folder(folder, (32, 32))
    assert len(got.images) == 20
    assert "skipped 1 link(s) that point nowhere: gone.jpg" in caplog.text


def test_folder_with_too_few_images(tmp_path):
    _write_images(tmp_path, 5)
    with pytest.raises(CalibrationError, match=r"5 images, need at least 20 \("):
        calibrate.from_folder(tmp_path, (32, 32))
    with pytest.raises(CalibrationError, match="not a folder"):
        calibrate.from_folder(tmp_path / "missing", (32, 32))
