"""`browsernet train` for real: the 41 animal photos, the demo's MobileNetV2 as the base, real training.

The expensive output is the session's ``trained`` fixture (tests/conftest.py); its figures are checked
against the saved model itself, not against the report alone.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from builder.cli import cli
from builder.train import report as records
from tests.train import saved_models as saved
from tests.conftest import DEMO_BASE, PHOTOS, TRAIN_EPOCHS, train_options


def _report(folder: Path) -> dict:
    return json.loads((folder / records.REPORT_FILE).read_text())


@pytest.fixture(scope="module")
def report(trained) -> dict:
    return _report(trained)


@pytest.fixture(scope="module")
def saved_model(trained):
    return saved.keras().models.load_model(trained / records.MODEL_FILE, compile=False)


def test_the_output_folder_holds_the_model_labels_report_splits_and_plots(trained, report):
    names = sorted(p.relative_to(trained).as_posix() for p in trained.rglob("*") if p.is_file())
    assert names == ["confusion-matrix.png", "labels.txt", "model.keras", "splits/test.txt", "splits/train.txt",
                     "splits/validation.txt", "train-report.json", "training-curves.png"]
    assert (trained / "labels.txt").read_text().split("\n") == [*report["classes"], ""]
    assert report["classes"] == ["birds", "carnivores", "hoofed_mammals", "primates"]
    for png in ("confusion-matrix.png", "training-curves.png"):
        with Image.open(trained / png) as img:
            assert img.format == "PNG" and img.width >= 300 and img.height >= 300
    listed = {s: (trained / "splits" / f"{s}.txt").read_text().split() for s in ("train", "validation", "test")}
    assert listed == report["data"]["splits"]
    every = [f for files in listed.values() for f in files]
    assert len(every) == len(set(every)) == 41  # each photo in exactly one split
    assert {s: sum(row[s] for c, row in report["images"].items() if c != "total") for s in listed} == \
        {s: len(files) for s, files in listed.items()}
    assert report["base"]["identity"]["sha256"] and report["base"]["features"] == 1280
    assert report["options"]["seed"] == 0 and report["options"]["epochs"] == TRAIN_EPOCHS
    assert 1 <= len(report["history"]["head"]) <= TRAIN_EPOCHS
    assert set(report["history"]["head"][0]) == {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_the_model_is_for_inference_raw_pixels_in_probabilities_out(saved_model):
    classes = [type(layer).__name__ for layer in saved.leaves(saved_model)]
    assert not [c for c in classes if c.startswith("Random")]  # no augmentation
    assert classes[0] == "Rescaling"  # the base's x/127.5 - 1, inside: the site feeds raw pixels
    assert saved_model.layers[-1].get_config()["activation"] == "softmax"
    assert saved_model.output_shape == (None, 4) and saved_model.input_shape == (None, 160, 160, 3)


def test_test_accuracy_is_well_above_chance_and_is_the_saved_models(trained, report, saved_model):
    test = report["test"]
    files = report["data"]["splits"]["test"]
    assert test["images"] == len(files) > 0
    probabilities = saved.probabilities(saved_model, PHOTOS, files)
    classes = report["classes"]
    truth = np.array([classes.index(f.split("/")[0]) for f in files])
    accuracy = float(np.mean(probabilities.argmax(-1) == truth))
    assert accuracy == pytest.approx(test["accuracy"])
    assert accuracy >= 0.5, f"test accuracy {accuracy:.0%} on {len(files)} photos; chance is 25%"
    low, high = test["accuracy_95ci"]  # a handful of test photos: a wide range around the figure
    assert low < accuracy <= high and high - low > 0.3
    assert [p["predicted"] for p in test["predictions"]] == [classes[i] for i in probabilities.argmax(-1)]
    # The confusion matrix is the saved model's on the test photos (how its figures are computed from the
    # matrix is tests/train/test_evaluate.py's).
    matrix = np.zeros((len(classes), len(classes)), int)
    np.add.at(matrix, (truth, probabilities.argmax(-1)), 1)
    assert test["confusion_matrix"] == matrix.tolist()


def test_the_same_command_again_gives_the_same_split_and_figures_from_the_cache(trained, report, feature_cache,
                                                                              tmp_path):
    from builder.train.pipeline import train

    again = train(train_options(tmp_path / "again", feature_cache)).report
    assert again["cache"]["computed"] == 0 and again["cache"]["hits"] == 41  # no feature extraction this time
    assert report["cache"]["computed"] + report["cache"]["hits"] == 41
    for key in ("data", "images", "history", "head", "validation", "test", "classes", "base", "input"):
        assert again[key] == report[key], key
    # Every feature was cached, so the base was not even loaded: model.keras came from the first run's file
    # with the new head (builder.train.saving). It is the same model, as Keras loads it. (The first run
    # loaded it only if it had features to compute: another test file may have filled the shared cache.)
    assert "base" not in again["seconds"]
    assert ("base" in report["seconds"]) == (report["cache"]["computed"] > 0)
    names = sorted(p.relative_to(tmp_path / "again").as_posix() for p in (tmp_path / "again").rglob("*"))
    assert names == sorted(p.relative_to(trained).as_posix() for p in trained.rglob("*"))
    first = saved.keras().models.load_model(trained / records.MODEL_FILE, compile=False)
    second = saved.keras().models.load_model(tmp_path / "again" / records.MODEL_FILE, compile=False)
    assert [type(x).__name__ for x in saved.leaves(second)] == [type(x).__name__ for x in saved.leaves(first)]
    assert all(np.array_equal(a, b) for a, b in zip(first.get_weights(), second.get_weights(), strict=True))
    # So a site built from the first run's model is not stale after the second run (deploy, verify, bench).
    from builder.report import content_sha256

    assert content_sha256(tmp_path / "again" / records.MODEL_FILE) == content_sha256(trained / records.MODEL_FILE)
    files = again["data"]["splits"]["test"]
    np.testing.assert_array_equal(saved.probabilities(second, PHOTOS, files),
                                  saved.probabilities(first, PHOTOS, files))


def test_a_damaged_cache_entry_is_computed_again(trained, report, feature_cache, tmp_path):
    """A damaged entry looked cached, so the base was not loaded, and recomputing the entry failed with
    'NoneType is not callable' on every later run: an entry of NaNs alone (written by an older version, or
    damaged; it would train the head on NaN), a file cut short (a full disk, an interrupted copy), an empty one
    (a crash) or one holding other data."""
    import shutil

    from builder.train.pipeline import train

    cache = tmp_path / "cache"
    shutil.copytree(feature_cache, cache)
    poisoned, cut, empty, text = sorted((cache / report["cache"]["key"][:32]).glob("*.npy"))[:4]
    np.save(poisoned, np.full_like(np.load(poisoned), np.nan))
    again = train(train_options(tmp_path / "again", cache)).report
    assert (again["cache"]["computed"], again["cache"]["hits"]) == (1, 40)
    assert np.isfinite(np.load(poisoned)).all()
    cut.write_bytes(cut.read_bytes()[:50])
    empty.write_bytes(b"")
    np.save(text, np.array(["not", "features"]))
    again = train(train_options(tmp_path / "again", cache)).report
    assert (again["cache"]["computed"], again["cache"]["hits"]) == (3, 38)
    assert all(np.load(entry).dtype == np.float32 and np.load(entry).ndim == 1 for entry in (cut, empty, text))


def test_a_damaged_model_template_is_made_again(trained, report, feature_cache, tmp_path, saved_model):
    """A head-only run writes model.keras from the template an earlier run kept; a damaged one is treated
    as absent (the base is loaded, and a whole template kept), not an 'unexpected BadZipFile' on every run."""
    import shutil

    from builder.train import saving
    from builder.train.pipeline import train

    cache = tmp_path / "cache"
    shutil.copytree(feature_cache, cache)
    [template] = (cache / report["cache"]["key"][:32]).glob("inference-model-*.keras")
    template.write_bytes(template.read_bytes()[:1000])
    again = train(train_options(tmp_path / "again", cache)).report
    assert "base" in again["seconds"]  # loaded, as no template could be used
    model = saved.keras().models.load_model(tmp_path / "again" / records.MODEL_FILE, compile=False)
    assert [type(x).__name__ for x in saved.leaves(model)] == [type(x).__name__ for x in saved.leaves(saved_model)]
    assert saving.readable(template)  # kept again, whole


def test_the_cache_knows_a_base_by_its_content_not_its_path(trained, feature_cache, tmp_path):
    from builder.train.pipeline import train

    moved = tmp_path / "elsewhere" / "renamed.h5"
    moved.parent.mkdir()
    moved.write_bytes(DEMO_BASE.read_bytes())
    again = train(train_options(tmp_path / "moved", feature_cache, base=moved)).report
    assert again["cache"]["computed"] == 0 and again["cache"]["hits"] == 41
    assert again["base"]["name"] == str(moved)


def test_imagenet_features_are_cached_per_keras_version_and_a_weights_file_by_its_content(monkeypatch, tmp_path):
    """Keras's release fixes which ImageNet weights it downloads (they cannot be downloaded here, so this is the
    cache key alone): another Keras version must not reuse features computed with the old weights."""
    import importlib.metadata

    from builder.train import features

    def asked(weights="imagenet"):
        return features.request("mobilenet_v2", None, alpha=0.35, input_size=96, weights=weights, preprocess=None)

    now = asked()
    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "9.9.9" if name == "keras" else real(name))
    assert asked() != now and asked() == asked()
    weights = tmp_path / "w.weights.h5"
    weights.write_bytes(b"one")
    first = asked(str(weights))
    weights.write_bytes(b"two")
    assert asked(str(weights)) != first  # the same path with other content


def test_a_loaded_imagenet_base_keys_its_features_by_the_keras_version(monkeypatch):
    """The key that names the feature folder (the loaded base's) carries the Keras version too, not only the
    request's. ImageNet weights cannot be downloaded here: the stock model comes with random weights, as the zoo
    would give it with ImageNet's."""
    import importlib.metadata

    import keras

    from builder.model import zoo
    from builder.train import features

    def stock(source, **_):
        model = keras.applications.MobileNetV2(alpha=0.35, input_shape=(96, 96, 3), weights=None, classes=3)
        return model, zoo.ModelInfo(source, "mobilenet_v2", 0.35, (96, 96), "imagenet", 3)

    monkeypatch.setattr(zoo, "load", stock)
    kwargs = dict(alpha=0.35, input_size=96, weights="imagenet", preprocess=None, note=lambda line: None)
    now = features.load_base("mobilenet_v2", None, **kwargs).key
    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "9.9.9" if name == "keras" else real(name))
    assert features.load_base("mobilenet_v2", None, **kwargs).key != now


def test_force_never_replaces_a_folder_holding_the_base(feature_cache, tmp_path):
    out = tmp_path / "work"
    out.mkdir()
    base = out / "base.h5"
    base.write_bytes(DEMO_BASE.read_bytes())
    result = CliRunner().invoke(cli, ["train", str(PHOTOS), "--base", str(base), "--out", str(out), "--force",
                                      "--cache-dir", str(feature_cache)])
    assert result.exit_code == 1 and "holds the input" in result.output, result.output
    assert base.read_bytes() == DEMO_BASE.read_bytes()


@pytest.mark.parametrize("option", ["--out", "--cache-dir"])
def test_an_unwritable_out_or_cache_is_refused_before_any_work(option, feature_cache, tmp_path):
    """/proc lets root pass every permission check and still makes no folder: a run found that out only
    after training (--out) or after loading the base (--cache-dir)."""
    where = {"--out": str(tmp_path / "out"), "--cache-dir": str(feature_cache), option: "/proc/browsernet-x"}
    result = CliRunner().invoke(cli, ["train", str(PHOTOS), "--base", str(DEMO_BASE), "--out", where["--out"],
                                      "--cache-dir", where["--cache-dir"]])
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines()[-1] == (f"Error: /proc: cannot write there (the system makes no "
                                                      f"folders there); choose a {option} elsewhere")
    assert "checking the photos" not in result.output


def test_a_cache_inside_the_photo_folder_is_refused_before_any_work(tmp_path):
    """Its .npy and .json files would be read as photos by the next run (and skipped, with a warning, each time)."""
    import shutil

    photos = tmp_path / "photos"
    shutil.copytree(PHOTOS, photos)
    before = sorted(p.relative_to(photos) for p in photos.rglob("*"))
    cache = photos / "birds" / "cache"
    result = CliRunner().invoke(cli, ["train", str(photos), "--base", str(DEMO_BASE), "--out", str(tmp_path / "out"),
                                      "--cache-dir", str(cache)])
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines()[-1] == (f"Error: --cache-dir {cache}: inside the photo folder {photos}; "
                                                      "choose a folder outside it (the default is "
                                                      "~/.cache/browsernet/features)")
    assert sorted(p.relative_to(photos) for p in photos.rglob("*")) == before and not (tmp_path / "out").exists()


@pytest.mark.parametrize("option", ["--out", "--build-site"])
def test_a_cache_inside_an_output_folder_is_refused_before_any_work(option, tmp_path):
    """Each run replaces its output folders: a cache inside one trained in full, then failed (or, with --force,
    was deleted with the folder)."""
    folder = tmp_path / "output"
    cache = folder / "cache"
    args = ["--out", str(folder)] if option == "--out" else ["--out", str(tmp_path / "model"), "--build-site",
                                                              str(folder)]
    result = CliRunner().invoke(cli, ["train", str(PHOTOS), "--base", str(DEMO_BASE), "--cache-dir", str(cache),
                                      *args])
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines()[-1] == (
        f"Error: the feature cache {cache} (--cache-dir) is inside {option} {folder}, which each run replaces; give "
        "--cache-dir a folder outside it (the default is ~/.cache/browsernet/features)")
    assert not folder.exists() and not (tmp_path / "model").exists()


def test_a_cached_head_only_run_with_other_head_settings_writes_that_head(trained, feature_cache, tmp_path):
    from builder.train.pipeline import train

    out = tmp_path / "other"
    again = train(train_options(out, feature_cache, dropout=0.5, epochs=3, seed=1)).report
    assert "base" not in again["seconds"] and again["cache"]["hits"] == 41
    model = saved.keras().models.load_model(out / records.MODEL_FILE, compile=False)
    assert model.get_layer("head_dropout").rate == 0.5
    first = saved.keras().models.load_model(trained / records.MODEL_FILE, compile=False)
    assert not np.array_equal(model.get_layer("classifier").get_weights()[0],
                              first.get_layer("classifier").get_weights()[0])
    # The saved model's probabilities are the report's (which came from the head on the cached features).
    test = again["test"]
    probabilities = saved.probabilities(model, PHOTOS, [p["file"] for p in test["predictions"]])
    np.testing.assert_allclose(probabilities.max(-1), [p["probability"] for p in test["predictions"]], atol=1e-4)
    assert [again["classes"][i] for i in probabilities.argmax(-1)] == [p["predicted"] for p in test["predictions"]]


def test_a_second_run_replaces_its_own_output_and_ctrl_c_or_failure_keeps_it(trained, feature_cache, tmp_path):
    out = tmp_path / "model"
    args = ["train", str(PHOTOS), "--base", str(DEMO_BASE), "--out", str(out), "--cache-dir", str(feature_cache),
            "--epochs", "2", "-q"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    before = (out / records.REPORT_FILE).read_bytes()
    bad = CliRunner().invoke(cli, [*args, "--fine-tune", "100000"])  # fails once the base is loaded, before training
    assert bad.exit_code == 1 and "--fine-tune 100000: the base has only" in bad.output, bad.output
    assert (out / records.REPORT_FILE).read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no staging folder left


def test_fine_tuning_trains_the_top_layers_and_saves_no_augmentation(feature_cache, tmp_path):
    from builder.train.pipeline import train

    out = tmp_path / "tuned"
    result = train(train_options(out, feature_cache, fine_tune=3, epochs=2)).report
    tuned = result["fine_tune"]
    assert tuned["layers"] == 3 and tuned["augment"] is True and tuned["learning_rate"] == pytest.approx(1e-4)
    assert len(result["history"]["fine_tune"]) == 2
    assert result["throughput"]["fine_tune_images_per_second"] > 0
    model = saved.keras().models.load_model(out / records.MODEL_FILE, compile=False)
    assert not [layer for layer in saved.leaves(model) if type(layer).__name__.startswith("Random")]
    # N counts layers that have weights to train: exactly the 3 unfrozen ones changed (a ReLU or the pooling
    # counted too, and --fine-tune 3 trained nothing), and no BatchNormalization.
    base = {layer.name: layer for layer in saved.leaves(saved.keras().models.load_model(DEMO_BASE, compile=False))}
    changed = [layer.name for layer in saved.leaves(model) if layer.name in base and layer.weights
               and any(not np.array_equal(a, b) for a, b in zip(layer.get_weights(), base[layer.name].get_weights()))]
    assert changed == tuned["unfrozen"] and len(changed) == 3, (changed, tuned["unfrozen"])
    files = result["data"]["splits"]["test"]
    predicted = saved.probabilities(model, PHOTOS, files).argmax(-1)
    assert [result["classes"][i] for i in predicted] == [p["predicted"] for p in result["test"]["predictions"]]
    # Its extractor now comes from its training photos (and validation, which chose the epoch): recorded, for a
    # run that continues from it.
    hashes, splits = result["data"]["sha256"], result["data"]["splits"]
    assert result["feature_extractor"]["trained_on"] == sorted(hashes[f] for f in splits["train"] + splits["validation"])


def test_a_trained_model_is_a_base_to_continue_from(trained, feature_cache, tmp_path, saved_model):
    from builder.train.pipeline import train

    base = trained / records.MODEL_FILE
    result = train(train_options(tmp_path / "again", feature_cache, base=base, epochs=2)).report
    # Its extractor is the nested feature extractor, behind its own Rescaling: raw pixels in, nothing added.
    assert result["base"]["preprocess"] == "raw" and result["base"]["features"] == 1280
    assert result["base"]["identity"]["cut_at"] == "feature_extractor"
    model = saved.keras().models.load_model(tmp_path / "again" / records.MODEL_FILE, compile=False)
    assert [type(x).__name__ for x in saved.leaves(model)] == [type(x).__name__ for x in saved.leaves(saved_model)]
    assert result["test"]["trained_the_base"] == []  # the same percentages: the same split by content hash
    assert result["feature_extractor"]["trained_on"] == []  # the demo model's extractor, trained on no photo here

    def wider(base: Path, out: str):
        run = CliRunner().invoke(cli, ["train", str(PHOTOS), "--base", str(base), "--out", str(tmp_path / out),
                                       "--cache-dir", str(feature_cache), "--epochs", "2", "--test-percent", "60"])
        assert run.exit_code == 0, run.output
        return run, json.loads((tmp_path / out / records.REPORT_FILE).read_text())

    # Other percentages move some of the base's training photos into this run's test. The base trained only its
    # head, which is cut away: those photos trained nothing this run keeps, so the test figure is not optimistic.
    run, report = wider(base, "wider")
    assert report["test"]["trained_the_base"] == [] and "trained the base" not in run.stderr
    # A base whose extractor its training photos trained (fine-tuned; its report records them): said, and counted
    # as seen. The photos stay recorded through a run that trains only its head, for the run after it.
    tuned = tmp_path / "tuned"
    shutil.copytree(trained, tuned)
    record = json.loads((tuned / records.REPORT_FILE).read_text())
    base_training = set(record["data"]["splits"]["train"])
    record["feature_extractor"]["trained_on"] = sorted(record["data"]["sha256"][f] for f in base_training)
    (tuned / records.REPORT_FILE).write_text(json.dumps(record))
    run, report = wider(tuned / records.MODEL_FILE, "after-tuned")
    seen = report["test"]["trained_the_base"]
    assert seen and set(seen) <= base_training and set(seen) == base_training & set(report["data"]["splits"]["test"])
    assert report["test"]["near_copies_in_training"] >= len(seen)
    assert report["feature_extractor"]["trained_on"] == record["feature_extractor"]["trained_on"]
    assert f"warning: {len(seen)} test photo(s) trained the base" in run.stderr
    accuracy_line = next(line for line in run.stdout.splitlines() if line.startswith("Test accuracy: "))
    assert accuracy_line.endswith(f"; optimistic: {report['test']['near_copies_in_training']} of them were seen in "
                                  "training (a near-copy in training or validation, or a photo that trained the base)"), accuracy_line


def test_a_base_whose_input_takes_any_size_trains_at_input_size(tmp_path):
    """MobileNetV2(include_top=False) without input_shape: --input-size says the size to train (and build) at;
    the features are cached per size."""
    from builder.train.pipeline import train
    from tests import helpers

    model, _ = helpers.any_size_fine_tuned(64)
    base = tmp_path / "any.keras"
    model.save(base)
    for size in (64, 96):
        result = train(train_options(tmp_path / f"out{size}", tmp_path / "cache", base=base, input_size=size,
                                     epochs=1)).report
        assert result["base"]["input_size"] == [size, size] and result["base"]["family"] == "mobilenet_v2"
        assert result["cache"]["computed"] == 41  # 96 px features are not 64 px ones from the cache
        trained = saved.keras().models.load_model(tmp_path / f"out{size}" / records.MODEL_FILE, compile=False)
        assert trained.input_shape == (None, size, size, 3)


def test_a_base_that_scales_0_1_pixels_itself_gets_its_features_from_0_1_pixels(tmp_path):
    """A base whose own scaling was made for pixels/255 (Rescaling(2, offset=-1) in front): its features are
    computed from x/255, not from 0..255 pixels 255 times too large, and build-site then feeds the page the same."""
    from builder.train.pipeline import train
    from tests import helpers

    k = helpers.keras
    mobilenet = helpers.fine_tuned(64, classes=3).layers[1]  # calibrated for x/127.5 - 1, i.e. -1..1
    inputs = k.Input((64, 64, 3))
    x = mobilenet(k.layers.Rescaling(2.0, offset=-1.0, name="to_plus_minus_1")(inputs))
    outputs = k.layers.Dense(3, activation="softmax", name="old_head")(k.layers.GlobalAveragePooling2D(name="pool")(x))
    base = tmp_path / "base.keras"
    k.Model(inputs, outputs, name="unit_base").save(base)
    result = train(train_options(tmp_path / "out", tmp_path / "cache", base=base, epochs=1)).report
    assert result["base"]["preprocess"] == "unit"


# Ctrl-C; kill, timeout or a cancelled CI job; the terminal closed
@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_ctrl_c_while_writing_leaves_the_previous_output_and_no_partial_one(stop, trained, feature_cache, tmp_path):
    import shutil
    import signal
    import subprocess
    import sys

    out = tmp_path / "model"
    shutil.copytree(trained, out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    proc = subprocess.Popen([sys.executable, "-m", "builder", "train", str(PHOTOS), "--base", str(DEMO_BASE),
                             "--out", str(out), "--cache-dir", str(feature_cache), "--epochs", "2", "--seed", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen = ""
    while "writing" not in seen:  # "  writing OUT/ ..." is flushed when the step starts, its time at the end
        char = proc.stderr.read(1)
        assert char, f"the run ended before writing: {seen}"
        seen += char
    # Still inside the write step (saving the model and the plots takes seconds): interrupt it.
    proc.send_signal(getattr(signal, stop))
    rest = proc.stderr.read()
    assert proc.wait(timeout=120) == 1, seen + rest
    assert "Aborted" in rest and "Traceback" not in rest
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # the staging folder is gone


def test_a_cached_run_on_fewer_classes_writes_a_model_with_that_many_outputs(trained, feature_cache, tmp_path):
    import shutil

    from builder.train.pipeline import TrainOptions, train

    data = tmp_path / "three"
    for name in ("birds", "carnivores", "hoofed_mammals"):
        shutil.copytree(PHOTOS / name, data / name)
    out = tmp_path / "out"
    again = train(TrainOptions(data=data, out=out, cache_dir=feature_cache, base=DEMO_BASE, epochs=3)).report
    assert "base" not in again["seconds"] and again["cache"]["computed"] == 0  # the same photos: all cached
    model = saved.keras().models.load_model(out / records.MODEL_FILE, compile=False)
    assert model.output_shape == (None, 3) and again["classes"] == ["birds", "carnivores", "hoofed_mammals"]
    predictions = again["test"]["predictions"]
    probabilities = saved.probabilities(model, data, [p["file"] for p in predictions])
    np.testing.assert_allclose(probabilities.max(-1), [p["probability"] for p in predictions], atol=1e-4)


def test_progress_into_a_pipe_is_one_plain_line_per_epoch(feature_cache, tmp_path):
    """Keras's progress bar redraws itself with \\r, \\b and colour codes on any POSIX system; into a pipe
    or a CI log (not a terminal, as here) training prints one plain line per epoch instead."""
    result = CliRunner().invoke(cli, ["train", str(PHOTOS), "--base", str(DEMO_BASE), "--out", str(tmp_path / "m"),
                                      "--cache-dir", str(feature_cache), "--epochs", "2"])
    assert result.exit_code == 0, result.output
    assert "Epoch 1/2" in result.stderr and "Epoch 2/2" in result.stderr
    assert not any(c in result.output for c in ("\x1b[", "\r", "\b")), repr(result.output[-500:])
    # The epochs are progress, on stderr with the steps (`2> log` keeps them in order); the results go to stdout.
    assert "Epoch" not in result.stdout and "features of 41 photos" in result.stderr
    assert "Test accuracy: " in result.stdout and "Model written to" in result.stdout


@pytest.mark.parametrize("extra, message", [
    (["--no-cache", "--cache-dir", "CACHE"], "--no-cache reads and writes no cache, so --cache-dir would be ignored"),
    (["--augment"], "--augment works while fine-tuning the base (--fine-tune N)"),
    (["--epochs", "0"], "--epochs must be at least 1, got 0"),
    (["--dropout", "1"], "--dropout must be in [0, 1), got 1"),
    (["--validation-percent", "50", "--test-percent", "50"], "--validation-percent 50 + --test-percent 50 hold out"),
])
def test_options_that_would_be_ignored_or_cannot_work_are_one_line_pointing_to_help(extra, message, tmp_path):
    """One line, before anything is announced ("Training on ..."), that points where the options are explained."""
    args = [str(tmp_path / "c") if a == "CACHE" else a for a in extra]
    result = CliRunner().invoke(cli, ["train", str(PHOTOS), "--base", str(DEMO_BASE), "--out", str(tmp_path / "o"),
                                      *args], prog_name="browsernet")
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and lines[0].startswith(f"Error: {message}"), result.output
    assert lines[0].endswith(" (see 'browsernet train --help')")
    assert not (tmp_path / "o").exists()


def test_a_photo_changed_after_the_scan_is_refused_not_cached_under_its_old_hash(tmp_path, monkeypatch):
    """The split and the cache know a photo by the hash taken when the photos are checked; its features were
    computed from whatever the file held later, and cached under that hash for every later run (a photo
    replaced while TensorFlow loaded). Now the bytes decoded are the bytes hashed."""
    import shutil

    from builder.train import dataset

    photos = tmp_path / "photos"
    shutil.copytree(PHOTOS, photos)
    scan = dataset.scan

    def scan_then_replace(*args, **kwargs):
        found = scan(*args, **kwargs)
        shutil.copy(photos / "carnivores" / "003.jpg", photos / "birds" / "003.jpg")  # after the check
        return found

    monkeypatch.setattr(dataset, "scan", scan_then_replace)
    cache, out = tmp_path / "cache", tmp_path / "model"
    result = CliRunner().invoke(cli, ["train", str(photos), "--base", str(DEMO_BASE), "--out", str(out),
                                      "--cache-dir", str(cache), "--epochs", "2"])
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines()[-1] == (
        f"Error: {photos / 'birds' / '003.jpg'}: changed while training ran (after the photos were checked); "
        "run it again")
    assert not out.exists()
    birds_003 = hashlib.sha256((PHOTOS / "birds" / "003.jpg").read_bytes()).hexdigest()
    assert not list(cache.rglob(f"{birds_003}.npy"))  # nothing cached under the photo it no longer is


def test_a_training_that_diverges_is_refused_and_writes_nothing(feature_cache, tmp_path):
    """NaN outputs would count every photo as the first class (argmax of NaN) and write a NaN model beside an
    accuracy figure: refused, naming the option to change."""
    out = tmp_path / "model"
    result = CliRunner().invoke(cli, ["train", str(PHOTOS), "--base", str(DEMO_BASE), "--out", str(out),
                                      "--cache-dir", str(feature_cache), "--epochs", "3", "--learning-rate", "1e38"])
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines()[-1] == (
        "Error: training diverged: the model's outputs on the validation photos are NaN or infinite; lower "
        "--learning-rate (now 1e+38)")
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == []


def test_a_base_with_nan_weights_is_refused_before_training_and_nothing_is_cached(fine_tuned_keras, tmp_path):
    from tests.train.saved_models import keras

    model = keras().models.load_model(fine_tuned_keras, compile=False)
    inner = model.layers[1]  # the MobileNetV2 base
    conv = [layer for layer in inner.layers if type(layer).__name__ == "Conv2D"][-1]
    kernel, *rest = conv.get_weights()
    kernel[0, 0, 0, 0] = np.nan
    conv.set_weights([kernel, *rest])
    base = tmp_path / "nan.keras"
    model.save(base)
    cache, out = tmp_path / "cache", tmp_path / "model"
    result = CliRunner().invoke(cli, ["train", str(PHOTOS), "--base", str(base), "--out", str(out),
                                      "--cache-dir", str(cache), "--epochs", "2"])
    assert result.exit_code == 1, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: the base gives NaN or infinite features for 32 of the 32 photo(s) it ran on (e.g. "), last
    assert last.endswith("it holds NaN or infinite weights (a diverged training, or a damaged file); choose another "
                         "base"), last
    assert not out.exists() and not list(cache.rglob("*.npy"))


def test_a_photo_deleted_after_the_scan_is_one_line(tmp_path, monkeypatch):
    import shutil

    from builder.train import dataset

    photos = tmp_path / "photos"
    shutil.copytree(PHOTOS, photos)
    scan = dataset.scan

    def scan_then_delete(*args, **kwargs):
        found = scan(*args, **kwargs)
        (photos / "birds" / "003.jpg").unlink()
        return found

    monkeypatch.setattr(dataset, "scan", scan_then_delete)
    result = CliRunner().invoke(cli, ["train", str(photos), "--base", str(DEMO_BASE), "--out", str(tmp_path / "model"),
                                      "--no-cache", "--epochs", "2"])
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines()[-1] == (
        f"Error: {photos / 'birds' / '003.jpg'}: cannot be read any more (No such file or directory; it was checked "
        "when the run began); run it again")


def test_files_of_ones_own_in_splits_are_not_replaced(trained, feature_cache, tmp_path):
    """Only the three split lists are train's: a list of one's own beside them is refused as a foreign file."""
    import shutil

    out = tmp_path / "model"
    shutil.copytree(trained, out)
    (out / records.SPLITS_DIR / "hard-cases.txt").write_text("birds/004.jpg\n")
    result = CliRunner().invoke(cli, ["train", str(PHOTOS), "--base", str(DEMO_BASE), "--out", str(out),
                                      "--cache-dir", str(feature_cache), "--epochs", "2", "-q"])
    assert result.exit_code == 1 and "splits/hard-cases.txt" in result.output, result.output
    assert (out / records.SPLITS_DIR / "hard-cases.txt").read_text() == "birds/004.jpg\n"
