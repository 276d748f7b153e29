"""`build-site --model OUT/model.keras` on a trained model: labels, preprocessing and the report come from the
training output, and --quantize auto (the default here) calibrates on the validation and training photos; the
test photos, which choose nothing, then score the stored weights against their true labels."""

from __future__ import annotations

import json

import pytest

from builder.train import report as records


@pytest.fixture(scope="module")
def trained_site(tmp_path_factory, feature_cache):
    """`browsernet train PHOTOS --build-site SITE`, once for this module (--quantize auto measures every dtype on
    the model's own photos, the slow part): ``(training output, site, CLI output)``."""
    from click.testing import CliRunner

    from builder.cli import cli
    from tests.conftest import DEMO_BASE, PHOTOS

    root = tmp_path_factory.mktemp("train-build-site")
    out, site = root / "model", root / "site"
    result = CliRunner().invoke(cli, ["train", str(PHOTOS), "--base", str(DEMO_BASE), "--out", str(out),
                                      "--cache-dir", str(feature_cache), "--epochs", "3",
                                      "--build-site", str(site), "--target", "github-pages", "-q"])
    return out, site, result


def test_build_site_takes_labels_report_and_its_own_photos_from_training(trained_site):
    from builder import report

    out, site, run = trained_site
    assert run.exit_code == 0, run.output
    train_report = json.loads((out / records.REPORT_FILE).read_text())
    result = report.load(site)
    assert result.labels == records.LABELS_FILE and result.classes == 4
    assert result.preprocess == "raw"  # the model rescales its own input: nothing to tell the build
    assert "labels" in result.sources  # deploy notices a changed labels.txt
    # trained on photos/ into out/: names that say nothing about the classes give no "out image classifier"
    assert json.loads((site / "config.json").read_text())["title"] == "Image classifier"
    test = train_report["test"]
    assert result.training["test_accuracy"] == test["accuracy"] and result.training["test_images"] == test["images"]
    assert result.training["test_accuracy_95ci"] == test["accuracy_95ci"]  # the card's range is training's
    assert result.training["per_class"]["birds"]["recall"] == test["per_class"]["birds"]["recall"]
    quantization = result.quantization
    assert quantization["mode"] == "auto"  # the default for a trained model
    auto = quantization["auto"]
    splits = train_report["data"]["splits"]
    # It calibrates on the validation and training photos: no test photo chooses the stored weights...
    assert auto["images"] == len(splits["validation"]) + len(splits["train"])
    assert "validation and training photos" in auto["calibration_source"]
    assert auto["agreement"] >= auto["bounds"]["agreement"]
    # ...which are then measured on the test photos: float32's accuracy there is the one training measured.
    tested = auto["test"]
    assert tested["images"] == test["images"] == len(splits["test"])
    assert tested["accuracy"]["float32"] == pytest.approx(test["accuracy"])
    assert set(tested["accuracy"]) == {"float32", "float16", "uint16", "uint8", "auto"}
    assert all(0 <= a <= 1 for a in tested["accuracy"].values()) and tested["agreement"]["float32"] == 1
    assert any(line.startswith(f"test         accuracy on the {test['images']} test photos: float32 ")
               for line in result.summary())


def test_train_build_site_goes_from_photos_to_a_site_in_one_command(trained_site):
    from builder.report import sha256_of

    out, site, run = trained_site
    assert run.exit_code == 0, run.output
    train_report = json.loads((out / records.REPORT_FILE).read_text())
    built = json.loads((site / "report.json").read_text())
    # The site is build-site's on the model just trained: its labels, its test figures, calibrated on its
    # own photos and measured on its test photos (auto, the default for a trained model), for the host asked for.
    assert built["training"]["test_accuracy"] == train_report["test"]["accuracy"]
    assert built["labels"] == records.LABELS_FILE and built["options"]["model"] == records.MODEL_FILE  # names only
    from builder import report

    assert "pytest-of-" not in (site / "report.json").read_text()  # published: no folder of this machine in it
    local = report.load(site).sources  # where they are, kept on this machine
    assert local["model"]["path"] == str((out / records.MODEL_FILE).resolve())
    assert local["labels"]["path"] == str((out / records.LABELS_FILE).resolve())
    assert sha256_of(out / records.MODEL_FILE) == train_report["model"]["sha256"]
    assert built["quantization"]["mode"] == "auto" and "test" in built["quantization"]["auto"]
    assert (site / ".nojekyll").is_file() and (site / "index.html").is_file()


@pytest.mark.parametrize("where", ["out", "photos", "not-a-site", "firebase-additions"])
def test_train_build_site_refuses_a_bad_site_folder_before_training(where, tmp_path, request):
    import shutil

    from click.testing import CliRunner

    from builder.cli import cli
    from tests.conftest import DEMO_BASE, PHOTOS

    out = tmp_path / "model"
    site = {"out": out / "site", "photos": PHOTOS / "site", "not-a-site": tmp_path / "notes",
            "firebase-additions": tmp_path / "site"}[where]
    if where == "not-a-site":
        site.mkdir()
        (site / "todo.txt").write_text("mine\n")
    if where == "firebase-additions":  # a previous site, deployed to Firebase, whose emulator port the user set
        shutil.copytree(request.getfixturevalue("sites")["seq"], site)
        (site / "firebase.json").write_text('{"emulators": {"hosting": {"port": 5001}}}')
    result = CliRunner().invoke(cli, ["train", str(PHOTOS), "--base", str(DEMO_BASE), "--out", str(out),
                                      "--no-cache", "--build-site", str(site)])
    assert result.exit_code == 1
    message = result.output.strip().splitlines()[-1]
    assert str(site) in message and "Traceback" not in result.output
    assert {"out": "overlaps", "photos": "overlaps",
            "not-a-site": "is not a browsernet build; choose another --build-site or pass --force",
            "firebase-additions": "holds firebase.json's edited emulators, which a --target generic build does not "
                                  "write; rebuild with --target firebase to keep them"}[where] in message, message
    assert not out.exists() and not (PHOTOS / "site").exists()  # nothing trained, nothing written
    if where == "not-a-site":
        assert [p.name for p in site.iterdir()] == ["todo.txt"]


def test_train_build_site_never_replaces_a_folder_holding_the_base_even_with_force(tmp_path):
    """--force replaces a folder that is no site, but not one holding a file training reads: the base."""
    import shutil

    from click.testing import CliRunner

    from builder.cli import cli
    from tests.conftest import DEMO_BASE, PHOTOS

    site = tmp_path / "outer"
    (site / "sub").mkdir(parents=True)
    base = shutil.copy(DEMO_BASE, site / "sub" / "base.h5")
    result = CliRunner().invoke(cli, ["train", str(PHOTOS), "--base", str(base), "--out", str(tmp_path / "model"),
                                      "--no-cache", "--build-site", str(site), "--force"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1] == (
        f"Error: {site}: refusing to replace a directory that holds the input {base}; choose another --build-site "
        "(or move the input out of it)")
    assert base.is_file() and not (tmp_path / "model").exists()


def _trained_copy(out, folder, labels: list[str] | None):
    """The trained model and its report in ``folder``, with ``labels`` as its labels.txt (None: no labels.txt)."""
    import shutil

    folder.mkdir()
    for name in (records.MODEL_FILE, records.REPORT_FILE):
        shutil.copy2(out / name, folder / name)
    if labels is not None:
        (folder / records.LABELS_FILE).write_text("".join(f"{label}\n" for label in labels))
    return folder / records.MODEL_FILE


def _build_site(*args: str):
    from click.testing import CliRunner

    from builder.cli import cli

    return CliRunner().invoke(cli, ["build-site", "--quantize", "none", *args])


@pytest.mark.parametrize("given, capitalised", [("--labels", False), ("labels.txt", False), ("labels.txt", True)])
def test_labels_in_another_order_than_training_are_refused(trained_site, tmp_path, given, capitalised):
    """The same class names in another order would name every prediction wrongly, with no sign of it; so would
    they capitalised ('Carnivores, Birds' for 'birds, carnivores'), which was let through as a renaming."""
    out, _, _ = trained_site
    classes = json.loads((out / records.REPORT_FILE).read_text())["classes"]
    swapped = [classes[1], classes[0], *classes[2:]]
    if capitalised:
        swapped = [name.capitalize() for name in swapped]
    model = _trained_copy(out, tmp_path / "model", swapped if given == "labels.txt" else classes)
    args = ["--labels", str(tmp_path / "swapped.txt")] if given == "--labels" else []
    (tmp_path / "swapped.txt").write_text("\n".join(swapped) + "\n")
    site = tmp_path / "site"
    result = _build_site("--model", str(model), *args, "--out", str(site))
    assert result.exit_code == 1 and "Traceback" not in result.output
    message = result.output.strip().splitlines()[-1]
    assert f"output 0 of {model} was trained as '{classes[0]}'" in message and f"name it '{swapped[0]}'" in message
    assert not site.exists()


def test_a_train_report_from_before_the_interval_was_recorded_still_shows_one(trained_site, tmp_path):
    """A train-report.json written before test.accuracy_95ci existed: the card's interval comes from the accuracy
    and the photo count (5 right of 7 spans 36% to 92%)."""
    from builder.train.report import Trained

    out, _, _ = trained_site
    report = json.loads((out / records.REPORT_FILE).read_text())
    del report["test"]["accuracy_95ci"]
    report["test"].update(accuracy=5 / 7, images=7)
    card = Trained(out / records.MODEL_FILE, None, report).card()
    assert card["test_accuracy_95ci"] == pytest.approx([0.3589, 0.9178], abs=1e-4)
    report["test"].update(accuracy=None, images=0)
    assert Trained(out / records.MODEL_FILE, None, report).card()["test_accuracy_95ci"] is None


def test_the_published_card_names_a_base_file_by_its_name_alone(trained_site):
    """train records --base as typed (../models/base.h5, so that a later train finds it); the card, which goes
    out in the published report.json and on the page, names no folder of the training machine."""
    from builder.train.report import Trained

    out, site, _ = trained_site
    assert json.loads((site / "report.json").read_text())["training"]["base"] == "dog_breed_mobilenetv2.h5"
    report = json.loads((out / records.REPORT_FILE).read_text())
    report["base"]["name"] = "../models/dog_breed_mobilenetv2.h5"
    assert Trained(out / records.MODEL_FILE, None, report).card()["base"] == "dog_breed_mobilenetv2.h5"
    # A stock base with a weights file (--model mobilenet_v2 --weights ../w/mnv2.h5), as train names it.
    report["base"]["name"] = "mobilenet_v2 (alpha 1, 224 px, ../w/mnv2.h5 weights)"
    report["base"]["identity"] = {"base": "mobilenet_v2", "alpha": 1.0, "weights": "../w/mnv2.h5"}
    assert Trained(out / records.MODEL_FILE, None, report).card()["base"] == "mobilenet_v2 (alpha 1, 224 px, mnv2.h5 weights)"


def test_a_trained_model_without_labels_txt_takes_its_classes_from_its_report(trained_site, tmp_path):
    out, _, _ = trained_site
    classes = json.loads((out / records.REPORT_FILE).read_text())["classes"]
    model = _trained_copy(out, tmp_path / "model", None)
    result = _build_site("--model", str(model), "--out", str(tmp_path / "site"))
    assert result.exit_code == 0, result.output
    built = json.loads((tmp_path / "site" / "report.json").read_text())
    assert built["labels"] == records.REPORT_FILE and built["classes"] == len(classes)
    config = json.loads((tmp_path / "site" / "config.json").read_text())
    assert config["labels"] == classes


def test_labels_that_rename_the_classes_are_shown_and_said(trained_site, tmp_path):
    """Other names for the same outputs (capitals, a translation) are the user's to choose: the page and the
    model card's per-class figures show them, and the build says which differ."""
    out, _, _ = trained_site
    classes = json.loads((out / records.REPORT_FILE).read_text())["classes"]
    renamed = [name.capitalize() for name in classes]
    model = _trained_copy(out, tmp_path / "model", renamed)
    result = _build_site("--model", str(model), "--out", str(tmp_path / "site"))
    assert result.exit_code == 0, result.output
    assert f"names {len(classes)} of the classes" in result.output and f"'{classes[0]}' as '{renamed[0]}'" in result.output
    built = json.loads((tmp_path / "site" / "report.json").read_text())
    assert sorted(built["training"]["per_class"]) == sorted(renamed)
    assert json.loads((tmp_path / "site" / "config.json").read_text())["labels"] == renamed


def test_another_resize_rule_than_training_is_said(trained_site, tmp_path):
    out, _, _ = trained_site
    model = _trained_copy(out, tmp_path / "model", json.loads((out / records.REPORT_FILE).read_text())["classes"])
    result = _build_site("--model", str(model), "--resize", "crop", "--out", str(tmp_path / "site"))
    assert result.exit_code == 0, result.output
    assert "--resize crop" in result.output and "fitted by 'squash'" in result.output
    assert json.loads((tmp_path / "site" / "config.json").read_text())["resize"] == "crop"


@pytest.mark.parametrize("preprocess", ["mobilenet", "unit"])
def test_another_input_scaling_than_training_is_refused(trained_site, preprocess, tmp_path):
    """A trained model takes raw pixels (its scaling is inside it): --preprocess mobilenet would scale them twice,
    and every answer on the page would be wrong, so the build refuses what it knows to be wrong."""
    out, _, _ = trained_site
    model = _trained_copy(out, tmp_path / "model", json.loads((out / records.REPORT_FILE).read_text())["classes"])
    result = _build_site("--model", str(model), "--preprocess", preprocess, "--out", str(tmp_path / "site"))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1] == (
        f"Error: --preprocess {preprocess}: {model} was written by browsernet train, which puts the input scaling "
        f"inside the model, so it takes raw 0-255 pixels (train-report.json); leave --preprocess out")
    assert not (tmp_path / "site").exists()
    assert _build_site("--model", str(model), "--preprocess", "raw", "--out", str(tmp_path / "site")).exit_code == 0


def test_the_photo_folder_of_a_trained_model_is_never_replaced_even_with_force(trained_site, tmp_path):
    """`build-site --model trained/model.keras --out photos --force` deleted the photos it had just calibrated
    on: the photo folder is an input of the build, as the model and labels files are."""
    import shutil

    from tests.conftest import PHOTOS

    out, _, _ = trained_site
    photos = tmp_path / "photos"
    shutil.copytree(PHOTOS, photos)
    model = _trained_copy(out, tmp_path / "model", json.loads((out / records.REPORT_FILE).read_text())["classes"])
    report = json.loads((model.parent / records.REPORT_FILE).read_text())
    report["data"]["folder"] = str(photos)  # this copy's photos, so that a failure deletes no photo of the project
    (model.parent / records.REPORT_FILE).write_text(json.dumps(report))
    before = sorted(p.relative_to(photos) for p in photos.rglob("*"))
    result = _build_site("--model", str(model), "--out", str(photos), "--force")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1] == (
        f"Error: {photos}: refusing to replace a directory that holds the input {photos}; choose another --out "
        "(or move the input out of it)")
    assert sorted(p.relative_to(photos) for p in photos.rglob("*")) == before
    # Nor a folder inside them: a class folder, which --force would have replaced by the site.
    result = _build_site("--model", str(model), "--out", str(photos / "birds"), "--force")
    assert result.exit_code == 1 and result.output.strip().splitlines()[-1] == (
        f"Error: {photos / 'birds'}: inside the input folder {photos}, whose files the command reads: replacing it "
        "would delete them, and its own files would be read as photos; choose an --out outside it")
    assert sorted(p.relative_to(photos) for p in photos.rglob("*")) == before


def test_a_retrained_github_pages_site_keeps_its_custom_domain(trained_site, tmp_path):
    """train has no --cname: a --build-site for GitHub Pages takes the domain from the site it replaces, and one
    for another target, which would drop it, is refused before training, with advice train can follow."""
    import shutil

    from builder.errors import BrowsernetError
    from builder.train.pipeline import check_site_target, site_cname
    from tests.conftest import train_options

    _, site, _ = trained_site
    copy = tmp_path / "site"
    shutil.copytree(site, copy)
    (copy / "CNAME").write_text("www.example.org\n")
    options = train_options(tmp_path / "model", tmp_path / "cache")
    check_site_target(copy, options, "github-pages")
    assert site_cname(copy, "github-pages") == "www.example.org" and site_cname(copy, "generic") is None
    with pytest.raises(BrowsernetError, match=r"its CNAME names the custom domain www\.example\.org, which this build "
                                              r"would drop .*; keep it with --target github-pages, or pass --force"):
        check_site_target(copy, options, "generic")
    assert (copy / "CNAME").read_text() == "www.example.org\n"
