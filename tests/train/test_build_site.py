"""`build-site --model OUT/model.keras` on a trained model: labels, preprocessing and the report come from the
training output, and --quantize auto (the default here) calibrates on the held-out photos, scored against their
true labels."""

from __future__ import annotations

import json

import pytest

from builder.train import report as records


@pytest.fixture(scope="module")
def trained_site(tmp_path_factory, feature_cache):
    """`browsernet train PHOTOS --build-site SITE`, once for this module (--quantize auto measures every dtype on
    the held-out photos, the slow part): ``(training output, site, CLI output)``."""
    from click.testing import CliRunner

    from builder.cli import cli
    from tests.conftest import DEMO_BASE, PHOTOS

    root = tmp_path_factory.mktemp("train-build-site")
    out, site = root / "model", root / "site"
    result = CliRunner().invoke(cli, ["train", str(PHOTOS), "--base", str(DEMO_BASE), "--out", str(out),
                                      "--cache-dir", str(feature_cache), "--epochs", "3",
                                      "--build-site", str(site), "--target", "github-pages", "-q"])
    return out, site, result


def test_build_site_takes_labels_report_and_held_out_calibration_from_training(trained_site):
    from builder import report

    out, site, run = trained_site
    assert run.exit_code == 0, run.output
    train_report = json.loads((out / records.REPORT_FILE).read_text())
    result = report.load(site)
    assert result.labels == records.LABELS_FILE and result.classes == 4
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


def test_train_build_site_goes_from_photos_to_a_site_in_one_command(trained_site):
    from builder.report import sha256_of

    out, site, run = trained_site
    assert run.exit_code == 0, run.output
    train_report = json.loads((out / records.REPORT_FILE).read_text())
    built = json.loads((site / "report.json").read_text())
    # The site is build-site's on the model just trained: its labels, its test figures, calibrated on its
    # held-out photos (auto, the default for a trained model), for the host asked for.
    assert built["training"]["test_accuracy"] == train_report["test"]["accuracy"]
    assert built["labels"] == records.LABELS_FILE and built["options"]["model"] == records.MODEL_FILE  # names only
    from builder import report

    assert "pytest-of-" not in (site / "report.json").read_text()  # published: no folder of this machine in it
    local = report.load(site).sources  # where they are, kept on this machine
    assert local["model"]["path"] == str((out / records.MODEL_FILE).resolve())
    assert local["labels"]["path"] == str((out / records.LABELS_FILE).resolve())
    assert sha256_of(out / records.MODEL_FILE) == train_report["model"]["sha256"]
    assert built["quantization"]["mode"] == "auto" and "held-out" in built["quantization"]["auto"]["calibration_source"]
    assert (site / ".nojekyll").is_file() and (site / "index.html").is_file()


@pytest.mark.parametrize("where", ["out", "photos", "not-a-site"])
def test_train_build_site_refuses_a_bad_site_folder_before_training(where, tmp_path):
    from click.testing import CliRunner

    from builder.cli import cli
    from tests.conftest import DEMO_BASE, PHOTOS

    out = tmp_path / "model"
    site = {"out": out / "site", "photos": PHOTOS / "site", "not-a-site": tmp_path / "notes"}[where]
    if where == "not-a-site":
        site.mkdir()
        (site / "todo.txt").write_text("mine\n")
    result = CliRunner().invoke(cli, ["train", str(PHOTOS), "--base", str(DEMO_BASE), "--out", str(out),
                                      "--no-cache", "--build-site", str(site)])
    assert result.exit_code == 1
    message = result.output.strip().splitlines()[-1]
    assert str(site) in message and "Traceback" not in result.output
    assert ("overlaps" in message) if where != "not-a-site" else (
        "is not a browsernet build; choose another --build-site or pass --force" in message)
    assert not out.exists() and not (PHOTOS / "site").exists()  # nothing trained, nothing written
    if where == "not-a-site":
        assert [p.name for p in site.iterdir()] == ["todo.txt"]
