"""build-site with the heads people's models end in: detected, told with --head, or refused in one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from builder.cli import cli
from tests import helpers
from tests.helpers import keras

SIZE = 32


def _small(head, name: str) -> keras.Model:
    keras.utils.set_random_seed(3)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, use_bias=False)(keras.layers.Rescaling(1 / 255)(inputs))
    x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
    x = keras.layers.GlobalAveragePooling2D()(x)
    return helpers.calibrate(keras.Model(inputs, head(x), name=name), SIZE, preprocess="raw",
                             images=helpers.photos(SIZE))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("heads")
    out = {}
    for name, head in (("logit", lambda x: keras.layers.Dense(1)(x)),
                       ("relu", lambda x: keras.layers.Dense(3, activation="relu")(x))):
        out[name] = root / f"{name}.keras"
        _small(head, name).save(out[name])
    (root / "two.txt").write_text("0 cat\n1 dog\n")
    (root / "three.txt").write_text("a\nb\nc\n")
    return root, out


def _run(*args):
    return CliRunner().invoke(cli, ["build-site", "-q", *map(str, args)])


def test_one_logit_with_two_labels_becomes_two_probabilities(files, tmp_path):
    root, models = files
    result = _run("--model", models["logit"], "--labels", root / "two.txt", "--out", tmp_path / "site")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "site" / "report.json").read_text())
    assert report["head"] == {"kind": "logit", "detected": True, "outputs": 1, "classes": 2,
                              "applied": "[1 - sigmoid(z), sigmoid(z)] from the logit z"}
    config = json.loads((tmp_path / "site" / "config.json").read_text())
    assert config["labels"] == ["cat", "dog"]  # Teachable Machine's numbers removed
    model_json = json.loads((tmp_path / "site" / "model" / "model.json").read_text())
    last = model_json["modelTopology"]["config"]["layers"][-1]
    assert last["class_name"] == "Dense" and last["config"]["units"] == 2


def test_one_logit_without_labels_asks_for_two(files, tmp_path):
    _, models = files
    result = _run("--model", models["logit"], "--out", tmp_path / "site")
    assert result.exit_code == 1
    assert "pass --labels FILE with 2 labels" in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "site").exists()


def test_an_undetectable_head_is_refused_until_told(files, tmp_path):
    root, models = files
    result = _run("--model", models["relu"], "--labels", root / "three.txt", "--out", tmp_path / "site")
    assert result.exit_code == 1 and "--head" in result.output
    assert len(result.output.strip().splitlines()) == 1
    # Told that the ReLU outputs are logits: the page applies a softmax, and shows probabilities.
    result = _run("--model", models["relu"], "--labels", root / "three.txt", "--head", "logits",
                  "--out", tmp_path / "site")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "site" / "report.json").read_text())
    assert report["head"]["kind"] == "logits" and not report["head"]["detected"]
    reference = np.asarray(report["reference"]["probabilities"])  # Keras's, through the added softmax
    assert np.allclose(reference.sum(axis=1), 1, atol=1e-5) and reference.min() >= 0


def test_told_softmax_on_scores_is_refused(files, tmp_path):
    root, models = files
    result = _run("--model", models["relu"], "--labels", root / "three.txt", "--head", "softmax",
                  "--out", tmp_path / "site")
    assert result.exit_code == 1 and "not probabilities" in result.output


def test_minimalistic_is_for_mobilenet_v3(tmp_path):
    result = _run("--model", "mobilenet_v2", "--weights", "none", "--minimalistic", "--out", tmp_path / "site")
    assert result.exit_code == 1 and "--minimalistic is for mobilenet_v3_small" in result.output
