"""A `browsernet train` model's held-out photos calibrate its `--quantize auto` build; when they cannot, the
build says why and which images it uses instead."""

from __future__ import annotations

import numpy as np
from PIL import Image

from builder.train.report import Trained, held_out_calibration


def _trained(tmp_path) -> Trained:
    data = tmp_path / "photos"
    for rel, colour in (("cats/1.png", (200, 30, 30)), ("dogs/2.png", (30, 30, 200))):
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (40, 30), colour).save(data / rel)
    report = {"classes": ["cats", "dogs"],
              "data": {"folder": str(data), "splits": {"validation": ["cats/1.png"], "test": ["dogs/2.png"]}}}
    return Trained(tmp_path / "model.keras", tmp_path / "labels.txt", report)


def test_held_out_photos_as_the_page_sees_them_with_their_classes(tmp_path):
    notes = []
    calibration, labels = held_out_calibration(_trained(tmp_path), (16, 16), "squash", note=notes.append)
    assert calibration.images.shape == (2, 16, 16, 3) and list(labels) == [0, 1] and notes == []
    assert np.allclose(calibration.images[0], (200, 30, 30)) and np.allclose(calibration.images[1], (30, 30, 200))


def test_a_photo_gone_or_no_longer_an_image_is_said_and_the_built_in_set_used(tmp_path):
    trained = _trained(tmp_path)
    data = tmp_path / "photos"
    (data / "cats" / "1.png").write_text("not a photo any more")
    notes = []
    assert held_out_calibration(trained, (16, 16), "squash", note=notes.append) is None
    assert len(notes) == 1 and f"{data / 'cats' / '1.png'} is not an image any more" in notes[0]
    assert "calibrates on the built-in images instead" in notes[0]
    (data / "dogs" / "2.png").unlink()
    (data / "cats" / "1.png").unlink()
    notes.clear()
    assert held_out_calibration(trained, (16, 16), "squash", note=notes.append) is None
    assert f"{data / 'cats' / '1.png'} is gone" in notes[0]


def test_a_held_out_photo_with_other_content_is_said_and_the_built_in_set_used(tmp_path):
    """The split is by content: a training photo copied over a held-out one's name would be scored as held out."""
    from builder.report import sha256_of

    trained = _trained(tmp_path)
    data = tmp_path / "photos"
    trained.report["data"]["held_out_sha256"] = {rel: sha256_of(data / rel) for rel in ("cats/1.png", "dogs/2.png")}
    assert held_out_calibration(trained, (16, 16), "squash", note=[].append) is not None  # as trained: used
    Image.new("RGB", (40, 30), (30, 200, 30)).save(data / "cats" / "1.png")
    notes = []
    assert held_out_calibration(trained, (16, 16), "squash", note=notes.append) is None
    assert len(notes) == 1 and f"{data / 'cats' / '1.png'} has changed since training" in notes[0]
