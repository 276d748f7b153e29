"""Near-duplicates: the same picture in other bytes, which the content-hash split cannot see, found by the base
features training computes anyway."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from PIL import Image

from builder.cli import cli
from builder.train import dataset, near_duplicates
from tests.conftest import DEMO_BASE, PHOTOS


def test_only_pairs_kept_apart_by_the_split_or_the_labels_are_found():
    rng = np.random.default_rng(0)
    picture, other = rng.uniform(0, 6, 64), rng.uniform(0, 6, 64)
    features = np.stack([picture, picture * 1.01 + 0.01, other, other + 0.01, picture, np.zeros(64)])
    paths = [Path(p) for p in ("a/1.jpg", "a/1_q90.jpg", "a/2.jpg", "a/2.png", "b/3.jpg", "a/blank.png")]
    found = near_duplicates.find(features, paths, ["test", "train", "train", "train", "train", "test"],
                                 ["a", "a", "a", "a", "b", "a"])
    # 1 and its copy across test/train, 1 and 3 across classes, 1_q90 and 3 across classes; 2 and its copy are
    # in one split and one class, which changes no figure; an all-zero feature vector matches nothing.
    assert [d.photos for d in found] == [("a/1.jpg", "a/1_q90.jpg"), ("a/1.jpg", "b/3.jpg"), ("a/1_q90.jpg", "b/3.jpg")]
    lines = near_duplicates.warnings_for(found)
    assert lines[0].startswith("warning: 1 test photo(s) have a near-copy") and "a/1.jpg ~ a/1_q90.jpg" in lines[0]
    assert lines[1].startswith("warning: 3 photo(s) are near-copies in two classes")  # one picture, three files
    assert len(lines) == 2


def test_a_test_photos_copy_in_validation_makes_the_test_figure_optimistic_as_one_in_training_does():
    """Validation chooses the epoch training stops at, and calibrates --quantize auto: a test photo's copy there is
    a test photo that chose something. A copy across training and validation changes no test figure."""
    picture, other = np.r_[np.ones(32), np.zeros(32)], np.r_[np.zeros(32), np.ones(32)]
    features = np.stack([picture, picture + 0.01, other, other + 0.01])
    paths = [Path(p) for p in ("a/1.jpg", "a/1_q90.jpg", "a/2.jpg", "a/2_q90.jpg")]
    found = near_duplicates.find(features, paths, ["test", "validation", "train", "validation"], ["a"] * 4)
    assert near_duplicates.seen_in_training(found) == {"a/1.jpg": ["a/1_q90.jpg"]}
    first, second = near_duplicates.warnings_for(found)
    assert first.startswith("warning: 1 test photo(s) have a near-copy") and "in training or validation: a/1.jpg ~ " \
        "a/1_q90.jpg; the test accuracy counts them as unseen, so it is optimistic" in first
    assert second.startswith("note: 2 photo(s) are near-copies in training and validation: a/2.jpg ~ a/2_q90.jpg")


def _copy_in_another_split(photo: Path, split: str) -> bytes:
    """``photo`` as one shares it again: 5% cropped off each side and saved as JPEG (the same picture in other
    bytes; cosine 0.94 on the demo base, which 0.98 missed), at the first quality whose content hash puts it in
    ``split`` (the split is by content hash, so the test picks its bytes, not its split)."""
    image = Image.open(photo).convert("RGB")
    image = image.crop((image.width // 20, image.height // 20, image.width * 19 // 20, image.height * 19 // 20))
    for quality in range(95, 40, -1):
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality)
        data = buffer.getvalue()
        if dataset.split_of(hashlib.sha256(data).hexdigest(), dataset.DEFAULT_VALIDATION_PERCENT,
                            dataset.DEFAULT_TEST_PERCENT) == split:
            return data
    raise AssertionError(f"no quality puts {photo} in {split}")


def test_a_test_photos_re_encoded_copy_in_training_is_said_and_recorded(feature_cache, tmp_path):
    """Byte-identical copies are caught by the hash; a copy saved again is another file, which the split may
    put in training while the original is tested: the test accuracy then counts a photo training saw."""
    photos, cache = tmp_path / "photos", tmp_path / "cache"
    shutil.copytree(PHOTOS, photos)
    shutil.copytree(feature_cache, cache)  # the shared cache stays as it was
    scanned = dataset.scan(photos)
    original = next(im for im in scanned.split("test") if im.path.parts[0] == "birds")
    copy = photos / "birds" / "copy.jpg"
    copy.write_bytes(_copy_in_another_split(photos / original.path, "train"))
    out = tmp_path / "model"
    result = CliRunner().invoke(cli, ["train", str(photos), "--base", str(DEMO_BASE), "--out", str(out),
                                      "--cache-dir", str(cache), "--epochs", "2"])
    assert result.exit_code == 0, result.output
    pair = f"{original.path.as_posix()} ~ birds/copy.jpg"
    assert f"warning: 1 test photo(s) have a near-copy (the same picture saved again, resized, cropped or re-tagged) in " \
           f"training or validation: {pair}; the test accuracy counts them as unseen" in result.stderr
    # The figure itself says so, wherever it is shown (train's result, build-site's summary, the model card).
    accuracy_line = next(line for line in result.stdout.splitlines() if line.startswith("Test accuracy: "))
    assert accuracy_line.endswith("; optimistic: 1 of them were seen in training (a near-copy in training or "
                                  "validation, or a photo that trained the base)"), accuracy_line
    report = json.loads((out / "train-report.json").read_text())
    assert report["test"]["near_copies_in_training"] == 1
    recorded = report["near_duplicates"]
    assert [(d["photos"], d["splits"]) for d in recorded] == [([original.path.as_posix(), "birds/copy.jpg"],
                                                               ["test", "train"])]
    assert recorded[0]["cosine"] >= near_duplicates.THRESHOLD
