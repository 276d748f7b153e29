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


def _small_keras2():
    """The same small network in tf-keras (Keras 2), ending in Dense(3) logits, as a Keras 2 user saves it."""
    import tf_keras as k

    k.utils.set_random_seed(3)
    inputs = k.Input((SIZE, SIZE, 3))
    x = k.layers.Conv2D(8, 3, strides=2, use_bias=False)(k.layers.Rescaling(1 / 255)(inputs))
    x = k.layers.GlobalAveragePooling2D()(k.layers.ReLU()(k.layers.BatchNormalization()(x)))
    return helpers.calibrate(k.Model(inputs, k.layers.Dense(3)(x), name="keras2_logits"), SIZE, preprocess="raw",
                             images=helpers.photos(SIZE))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("heads")
    out = {}
    for name, head in (("logit", lambda x: keras.layers.Dense(1)(x)),
                       ("relu", lambda x: keras.layers.Dense(3, activation="relu")(x)),
                       ("log_softmax", lambda x: keras.layers.Dense(3, activation="log_softmax")(x))):
        out[name] = root / f"{name}.keras"
        _small(head, name).save(out[name])
    # Keras 3's MobileNet V1 head: 1x1 convolution logits, pooled with keepdims, then flattened.
    keras.utils.set_random_seed(3)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(8, 3, strides=2)(keras.layers.Rescaling(1 / 255)(inputs))
    x = keras.layers.Conv2D(3, 1)(keras.layers.ReLU()(x))
    x = keras.layers.Flatten()(keras.layers.GlobalAveragePooling2D(keepdims=True)(x))
    out["pooled_logits"] = root / "pooled_logits.keras"
    keras.Model(inputs, x, name="pooled_logits").save(out["pooled_logits"])  # no BatchNorm: nothing to calibrate
    out["keras2_logits"] = root / "keras2_logits.h5"
    _small_keras2().save(out["keras2_logits"])
    (root / "two.txt").write_text("0 cat\n1 dog\n")
    (root / "three.txt").write_text("a\nb\nc\n")
    return root, out


def _run(*args):
    return CliRunner().invoke(cli, ["build-site", "-q", *map(str, args)])


def test_one_logit_with_two_labels_becomes_two_probabilities(files, tmp_path, monkeypatch):
    """The head the build adds is appended to the graph read from the model, so the model is read once
    (and the build's self-check, TF.js against Keras with the head, passes: exit 0)."""
    from builder.convert import graph

    reads = []
    monkeypatch.setattr(graph, "from_keras", lambda model, read=graph.from_keras: reads.append(model) or read(model))
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
    assert len(reads) == 1


def test_one_logit_without_labels_asks_for_two(files, tmp_path):
    _, models = files
    result = _run("--model", models["logit"], "--out", tmp_path / "site")
    assert result.exit_code == 1
    assert "pass --labels FILE with 2 labels" in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "site").exists()
    # One label for one output: the error says why two are needed, not that the model has 2 outputs.
    (tmp_path / "one.txt").write_text("dog\n")
    result = _run("--model", models["logit"], "--labels", tmp_path / "one.txt", "--out", tmp_path / "site")
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1, result.output
    assert "1 labels, but" in result.output and "(one logit output, shown as 2 classes:" in result.output
    assert "has 2 classes" in result.output and "outputs" not in result.output


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


def test_a_last_layer_tfjs_cannot_run_is_named_before_any_head_question(files, tmp_path):
    """A Dense with log_softmax: the build asked which head it is (--head), and refused the activation once told."""
    root, models = files
    result = _run("--model", models["log_softmax"], "--labels", root / "three.txt", "--out", tmp_path / "site")
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert lines[0].startswith(f"Error: {models['log_softmax']}: layer '") and "(Dense): activation 'log_softmax' is " \
        "not supported by TF.js layers" in lines[0], lines[0]
    assert "--head" not in lines[0] and not (tmp_path / "site").exists()


def test_a_last_layer_the_build_rewrites_is_no_refusal(files, tmp_path):
    """GlobalAveragePooling2D(keepdims=True) before a Flatten: TF.js ignores keepdims, so the build writes it as
    pooling and a Reshape. The head question stays the question, and once told, it builds."""
    root, models = files
    result = _run("--model", models["pooled_logits"], "--labels", root / "three.txt", "--out", tmp_path / "site")
    assert result.exit_code == 1 and "say which with --head" in result.output, result.output
    result = _run("--model", models["pooled_logits"], "--labels", root / "three.txt", "--head", "logits",
                  "--out", tmp_path / "site")
    assert result.exit_code == 0, result.output


def test_a_keras2_h5_ending_in_logits_gets_probabilities(files, tmp_path):
    """Keras 3 reads a Keras 2 .h5's one output as a list of one; the softmax the build adds takes the tensor,
    and the site's probabilities are the softmax of the model's own logits."""
    root, models = files
    result = _run("--model", models["keras2_logits"], "--labels", root / "three.txt", "--out", tmp_path / "site")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "site" / "report.json").read_text())
    assert report["head"]["kind"] == "logits" and report["head"]["detected"]
    import tf_keras

    from builder.convert.self_check import sample_images

    images = report["reference"]["images"]
    x = sample_images(tuple(images["size"]), images["count"])  # --preprocess raw: the model's input as it is
    logits = tf_keras.models.load_model(models["keras2_logits"], compile=False).predict(x, verbose=0)
    assert logits.min() < 0  # scores, not probabilities
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    assert np.allclose(report["reference"]["probabilities"], expected, atol=1e-5)


def test_a_label_named_twice_is_built_and_pointed_out(files, tmp_path):
    root, models = files
    (tmp_path / "twice.txt").write_text("a\nb\na\n")
    result = CliRunner().invoke(cli, ["build-site", "--model", str(models["relu"]), "--labels",
                                      str(tmp_path / "twice.txt"), "--head", "logits", "--out", str(tmp_path / "site")])
    assert result.exit_code == 0, result.output
    assert "'a' names 2 classes (labels 1, 3); the page will show them alike" in result.output
    assert json.loads((tmp_path / "site" / "config.json").read_text())["labels"] == ["a", "b", "a"]


def test_told_softmax_on_scores_is_refused(files, tmp_path):
    root, models = files
    result = _run("--model", models["relu"], "--labels", root / "three.txt", "--head", "softmax",
                  "--out", tmp_path / "site")
    assert result.exit_code == 1 and "not probabilities" in result.output


def test_told_logits_on_averaged_probabilities_is_refused(files, tmp_path):
    """Two softmax heads averaged (an ensemble): its last layer is no softmax, but its outputs are probabilities;
    --head logits would put a second softmax on them and flatten every percentage the page shows."""
    root, _ = files

    def ensemble(x):
        a = keras.layers.Dense(3, activation="softmax", name="head_a")(x)
        b = keras.layers.Dense(3, activation="softmax", name="head_b")(x)
        return keras.layers.Average(name="ensemble")([a, b])

    path = tmp_path / "ensemble.keras"
    _small(ensemble, "ensemble").save(path)
    result = _run("--model", path, "--labels", root / "three.txt", "--head", "logits", "--out", tmp_path / "site")
    assert result.exit_code == 1 and "probabilities already" in result.output, result.output
    assert "use --head softmax" in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "site").exists()
    result = _run("--model", path, "--labels", root / "three.txt", "--head", "softmax", "--out", tmp_path / "site")
    assert result.exit_code == 0, result.output


def test_minimalistic_is_for_mobilenet_v3(tmp_path):
    result = _run("--model", "mobilenet_v2", "--weights", "none", "--minimalistic", "--out", tmp_path / "site")
    assert result.exit_code == 1 and "--minimalistic is for mobilenet_v3_small" in result.output
