"""A `browsernet train` model's own photos serve its `--quantize auto` build: it calibrates on the validation and
training photos, and the test photos, which choose nothing, measure the stored weights; when they cannot, the
build says why and which images it uses instead."""

from __future__ import annotations

import numpy as np
from PIL import Image

from builder.train import report as records
from builder.train.report import Trained, quantization_photos

COLOURS = {"cats/1.png": (200, 30, 30), "cats/2.png": (210, 40, 40), "dogs/3.png": (30, 30, 200),
           "dogs/4.png": (40, 40, 210), "dogs/5.png": (30, 200, 30)}


def _trained(tmp_path) -> Trained:
    data = tmp_path / "photos"
    for rel, colour in COLOURS.items():
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (40, 30), colour).save(data / rel)
    report = {"classes": ["cats", "dogs"],
              "data": {"folder": str(data), "splits": {"train": ["cats/2.png", "dogs/4.png"],
                                                       "validation": ["cats/1.png"], "test": ["dogs/3.png", "dogs/5.png"]}}}
    return Trained(tmp_path / "model.keras", tmp_path / "labels.txt", report)


def test_validation_and_training_photos_calibrate_and_the_test_photos_are_kept_apart(tmp_path):
    notes = []
    photos = quantization_photos(_trained(tmp_path), (16, 16), "squash", note=notes.append)
    assert notes == []
    # Validation first, then training: never a test photo, so the test accuracy of the stored weights is honest.
    calibration = photos.calibration.images
    assert calibration.shape == (3, 16, 16, 3) and "no test photo" in photos.calibration.source
    for image, rel in zip(calibration, ["cats/1.png", "cats/2.png", "dogs/4.png"]):
        assert np.allclose(image, COLOURS[rel])
    assert photos.test_images.shape == (2, 16, 16, 3) and list(photos.test_labels) == [1, 1]
    assert np.allclose(photos.test_images[0], COLOURS["dogs/3.png"])


def test_a_training_or_validation_photo_that_is_a_near_copy_of_a_test_photo_does_not_calibrate(tmp_path):
    """It is the test photo's picture: calibrating on it would let the test photos choose after all."""
    trained = _trained(tmp_path)
    trained.report["near_duplicates"] = [{"photos": ["dogs/3.png", "dogs/4.png"], "splits": ["test", "train"],
                                          "classes": ["dogs", "dogs"], "cosine": 0.99}]
    photos = quantization_photos(trained, (16, 16), "squash", note=[].append)
    assert len(photos.calibration.images) == 2 and np.allclose(photos.calibration.images[1], COLOURS["cats/2.png"])
    assert len(photos.test_images) == 2
    trained.report["near_duplicates"].append({"photos": ["cats/1.png", "dogs/5.png"], "splits": ["validation", "test"],
                                              "classes": ["cats", "cats"], "cosine": 0.95})
    photos = quantization_photos(trained, (16, 16), "squash", note=[].append)
    assert len(photos.calibration.images) == 1 and np.allclose(photos.calibration.images[0], COLOURS["cats/2.png"])


def test_many_training_photos_are_spread_over_the_split_up_to_the_limit(tmp_path, monkeypatch):
    trained = _trained(tmp_path)
    monkeypatch.setattr(records, "CALIBRATION_PHOTOS", 2)  # the validation photo and one training photo
    photos = quantization_photos(trained, (16, 16), "squash", note=[].append)
    assert len(photos.calibration.images) == 2 and np.allclose(photos.calibration.images[1], COLOURS["cats/2.png"])
    assert len(photos.test_images) == 2  # the test photos are all measured, whatever the limit
    trained.report["data"]["splits"]["validation"] = ["cats/1.png", "cats/2.png", "dogs/4.png"]
    monkeypatch.setattr(records, "CALIBRATION_PHOTOS", 2)  # validation alone has more: it is capped too
    assert len(quantization_photos(trained, (16, 16), "squash", note=[].append).calibration.images) == 2
    trained.report["data"]["splits"].update(validation=[], train=[])
    notes = []
    assert quantization_photos(trained, (16, 16), "squash", note=notes.append) is None
    assert "no validation or training photo is listed" in notes[0]


def test_a_photo_gone_or_no_longer_an_image_is_said_and_the_built_in_set_used(tmp_path):
    trained = _trained(tmp_path)
    data = tmp_path / "photos"
    (data / "cats" / "1.png").write_text("not a photo any more")
    notes = []
    assert quantization_photos(trained, (16, 16), "squash", note=notes.append) is None
    assert len(notes) == 1 and f"{data / 'cats' / '1.png'} is not an image any more" in notes[0]
    assert "calibrates on the built-in images instead" in notes[0] and "not measured" in notes[0]
    (data / "cats" / "1.png").unlink()
    notes.clear()
    assert quantization_photos(trained, (16, 16), "squash", note=notes.append) is None
    assert f"{data / 'cats' / '1.png'} is gone" in notes[0]


def test_a_photo_with_other_content_is_said(tmp_path):
    """The split is by content: a training photo copied over a test photo's name would be scored as held out."""
    from builder.report import sha256_of

    trained = _trained(tmp_path)
    data = tmp_path / "photos"
    trained.report["data"]["sha256"] = {rel: sha256_of(data / rel) for rel in COLOURS}
    assert quantization_photos(trained, (16, 16), "squash", note=[].append) is not None  # as trained: used
    # A changed test photo: the calibration stands, the test measure is not taken (and it is said).
    Image.new("RGB", (40, 30), (200, 30, 30)).save(data / "dogs" / "3.png")
    notes = []
    photos = quantization_photos(trained, (16, 16), "squash", note=notes.append)
    assert len(photos.calibration.images) == 3 and len(photos.test_images) == 0
    assert len(notes) == 1 and f"{data / 'dogs' / '3.png'} has changed since training" in notes[0]
    assert "the test accuracy of the stored weights is not measured" in notes[0]
    # A changed training photo: the set is not the one training had, so the built-in one is used.
    Image.new("RGB", (40, 30), (1, 2, 3)).save(data / "cats" / "2.png")
    notes.clear()
    assert quantization_photos(trained, (16, 16), "squash", note=notes.append) is None
    assert f"{data / 'cats' / '2.png'} has changed since training" in notes[0]


def test_a_class_folder_named_with_spaces_at_its_ends_is_not_said_to_be_renamed(tmp_path):
    """train writes each class folder's name to labels.txt as it is, and a labels file's lines are read without the
    spaces at their ends: build-site said train's own labels named the class 'differently'."""
    from builder.model import labels

    trained = Trained(tmp_path / "model.keras", tmp_path / "labels.txt", {"classes": ["  leading space", "cats"]})
    (tmp_path / "labels.txt").write_text("  leading space\ncats\n")
    assert trained.check_labels(labels.read(tmp_path / "labels.txt"), tmp_path / "labels.txt") is None
    renamed = trained.check_labels(["space", "cats"], "mine.txt")
    assert renamed and "'  leading space' as 'space'" in renamed
