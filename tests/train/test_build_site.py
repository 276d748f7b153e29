"""`build-site --model OUT/model.keras` on a trained model: labels, preprocessing and the report come from the
training output, and --quantize auto (the default here) calibrates on the held-out photos, scored against their
true labels."""

from __future__ import annotations

import json

import pytest

from builder.train import report as records


def test_build_site_takes_labels_report_and_held_out_calibration_from_training(trained, tmp_path):
    from builder.build import BuildOptions, build

    train_report = json.loads((trained / records.REPORT_FILE).read_text())
    result = build(BuildOptions(model=str(trained / records.MODEL_FILE), out=tmp_path / "site"))
    assert result.labels == str(trained / records.LABELS_FILE) and result.classes == 4
    assert result.preprocess == "raw"  # the model rescales its own input: nothing to tell the build
    assert "labels" in result.sources  # deploy notices a changed labels.txt
    test = train_report["test"]
    assert result.training["test_accuracy"] == test["accuracy"] and result.training["test_images"] == test["images"]
    assert result.training["per_class"]["birds"]["recall"] == test["per_class"]["birds"]["recall"]
    quantization = result.quantization
    assert quantization["mode"] == "auto"  # the default for a trained model
    auto = quantization["auto"]
    held_out = train_report["data"]["splits"]["validation"] + train_report["data"]["splits"]["test"]
    assert auto["images"] == len(held_out) and "held-out" in auto["calibration_source"]
    # float32's accuracy on those photos is the one training measured on the same photos.
    validation = train_report["validation"]
    measured = (validation["accuracy"] * validation["images"] + test["accuracy"] * test["images"]) / len(held_out)
    assert auto["plain"]["float32"]["accuracy"] == pytest.approx(measured)
    assert all(0 <= auto["plain"][d]["accuracy"] <= 1 for d in ("float16", "uint16", "uint8"))
    assert auto["accuracy"] is not None and auto["agreement"] >= auto["bounds"]["agreement"]
    assert any(line.startswith("accuracy     against the true labels") for line in result.summary())
    written = json.loads((tmp_path / "site" / "report.json").read_text())
    assert written["training"] == result.training
