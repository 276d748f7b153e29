"""The Keras models people bring (issue 15), built into sites and run in Chromium against Keras.

MobileNetV3 Small and Large from Keras 3 (.keras, and .h5, which Keras 3 itself cannot read back for a
MobileNetV3: see test_zoo) and Keras 2 (tf-keras .h5), a nested V3 fine-tune, the
transfer-learning tutorial's shape (augmentation inside, preprocess_input after it, one logit), a
head of logits without softmax, SeparableConv2D, a model saved with mixed precision (mixed_float16),
which the page runs in float32 and is held to Keras's float32 numbers, a fine-tune whose input takes
any size, built at --input-size, the same base called on a fixed 64x48 input (Keras 3 and tf-keras),
Teachable Machine's tf-keras export (.h5 and .keras), and a model made for x/255 pixels. Every model has BatchNorm statistics measured
on real photos, so images get different answers and parity means something. The page's
probabilities must equal Keras's (with the head the build adds: softmax, or [1 - σ(z), σ(z)]) within
1e-4 on WASM and on the CPU backend, lie in [0, 1] and sum to 1.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from builder.build import BuildOptions, build
from tests import helpers
from tests.e2e.classify import page_probabilities
from tests.helpers import keras



SIZE = 96
# name -> (model maker, file suffix, Keras 2?, labels, expected head kind)
MODELS = {
    "v3-small-keras3": (lambda: helpers.mobilenet_v3("small", SIZE), ".keras", False, 5, "softmax"),
    "v3-large-keras3": (lambda: helpers.mobilenet_v3("large", SIZE), ".keras", False, 5, "softmax"),
    "v3-small-keras3-h5": (lambda: helpers.mobilenet_v3("small", SIZE), ".h5", False, 5, "softmax"),
    "v3-large-keras3-h5": (lambda: helpers.mobilenet_v3("large", SIZE), ".h5", False, 5, "softmax"),
    "v3-small-keras2": (lambda: helpers.mobilenet_v3("small", SIZE, keras2=True), ".h5", True, 5, "softmax"),
    "v3-large-keras2": (lambda: helpers.mobilenet_v3("large", SIZE, keras2=True), ".h5", True, 5, "softmax"),
    "v3-fine-tuned": (lambda: helpers.v3_fine_tuned(SIZE), ".keras", False, 4, "softmax"),
    "tutorial-logit": (lambda: helpers.tutorial(SIZE), ".keras", False, 2, "logit"),
    "logits": (lambda: helpers.logits_head(SIZE), ".keras", False, 3, "logits"),
    "separable": (lambda: helpers.separable(64), ".keras", False, 4, "softmax"),
    # Trained with Keras's mixed_float16 policy: Keras computes it in float16, the page in float32.
    "mixed-float16": (lambda: _mixed_float16(helpers.fine_tuned(SIZE, classes=3)), ".keras", False, 3, "softmax"),
    # MobileNetV2(include_top=False) without input_shape, fine-tuned: its input takes any size, and the
    # site is built at --input-size (80 here; its BatchNorm statistics were measured at 64).
    "any-size": (lambda: helpers.any_size_fine_tuned(64, classes=3)[0], ".keras", False, 3, "softmax"),
    # The usual fine-tuning layout: that base of any size called on a fixed Input, here 64x48 (not square),
    # in Keras 3 and tf-keras: rebuilt at the model's size on load.
    "fixed-outside": (lambda: helpers.fixed_outside(64, 48), ".keras", False, 3, "softmax"),
    "fixed-outside-keras2": (lambda: helpers.fixed_outside(64, 48, keras2=True), ".h5", True, 3, "softmax"),
    # Teachable Machine's export: a tf-keras Sequential inside a Sequential, as .h5 and as tf-keras's .keras.
    "teachable-machine": (lambda: helpers.teachable_machine(64), ".h5", True, 4, "softmax"),
    "teachable-machine-keras": (lambda: helpers.teachable_machine(64), ".keras", True, 4, "softmax"),
    # Rescaling(2, offset=-1) in front: made for pixels/255, so the page must feed x/255.
    "unit-pixels": (lambda: helpers.scaled_for_unit_pixels(64), ".keras", False, 3, "softmax"),
    # A Normalization adapted on photos already through preprocess_input: made for x/127.5 - 1, not x/255.
    "normalized-preprocessed": (lambda: helpers.adapted_to_preprocessed(64), ".keras", False, 3, "softmax"),
}
INPUT_SIZE = {"any-size": 80}
# The input scaling each model was made for, which the build must choose by itself: the reference is Keras on
# these, not on whatever the build chose. raw: the model scales 0..255 pixels itself.
PREPROCESS = {"logits": "mobilenet", "mixed-float16": "mobilenet", "any-size": "mobilenet",
              "fixed-outside": "mobilenet", "fixed-outside-keras2": "mobilenet", "teachable-machine": "mobilenet",
              "teachable-machine-keras": "mobilenet", "unit-pixels": "unit", "normalized-preprocessed": "mobilenet"}


def _mixed_float16(model):
    from builder.model import dtype_policy

    return dtype_policy.recast(model, "mixed_float16")


def _probabilities(kind: str, y: np.ndarray) -> np.ndarray:
    """What the page must show for a model whose raw output is ``y``, computed here in float64."""
    y = np.asarray(y, np.float64)
    if kind == "logits":
        e = np.exp(y - y.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if kind == "logit":
        p = 1 / (1 + np.exp(-y[:, 0]))
        return np.stack([1 - p, p], axis=1)
    return y


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Each model saved to a file, read back as the build reads it, and built into a site (once)."""
    root = tmp_path_factory.mktemp("people")
    out = {}
    for name, (make, suffix, keras2, classes, _) in MODELS.items():
        path = root / f"{name}{suffix}"
        made = make()
        made.save(path)
        labels = root / f"{name}.txt"
        labels.write_text("".join(f"{i} class {chr(65 + i)}\n" for i in range(classes)))  # Teachable Machine's
        report = build(BuildOptions(model=str(path), labels=labels, out=root / "sites" / name,
                                    input_size=INPUT_SIZE.get(name)))
        if keras2:
            import tf_keras

            model = tf_keras.models.load_model(path, compile=False)
        elif suffix == ".h5":
            model = made  # Keras 3 cannot read this .h5 back: the model as trained is the reference
        else:
            model = keras.models.load_model(path, compile=False)
        if name == "mixed-float16":  # the page computes in float32, so its reference is the model in float32
            from builder.model import dtype_policy

            exact = dtype_policy.recast(model, "float32")
            x = helpers.photos(SIZE, count=4, seed=23).round() / 127.5 - 1
            assert np.abs(np.asarray(model(x), np.float32) - np.asarray(exact(x))).max() > 1e-3  # float16 is off
            model = exact
        out[name] = (model, report)
    (root / "sites" / "index.html").write_text("<!doctype html><title>sites</title>")
    return root / "sites", out


@pytest.fixture(scope="module")
def people_url(built, served_dir):
    return served_dir(built[0])


@pytest.mark.parametrize("backend", ["wasm", "cpu"])
@pytest.mark.parametrize("name", list(MODELS))
def test_page_matches_keras(name, backend, built, people_url, open_page):
    model, report = built[1][name]
    kind = MODELS[name][4]
    assert report.head["kind"] == kind and report.head["detected"]
    assert report.labels and report.classes == MODELS[name][3]
    page = open_page(f"{people_url}{name}/?backend={backend}")
    assert page.ready() == "ready", page.page.text_content("#error")
    labels = page.page.evaluate("window.browsernet.labels")
    assert labels[0] == "class A"  # Teachable Machine's "0 class A": the number is gone
    height, width = page.page.evaluate("window.browsernet.inputSize")
    assert (height, width) == ((INPUT_SIZE[name],) * 2 if name in INPUT_SIZE else tuple(model.input_shape[1:3]))
    images = helpers.photos(max(height, width), count=4, seed=23).round().astype(np.uint8)[:, :height, :width]
    from builder.model.preprocessing import apply

    assert report.preprocess == PREPROCESS.get(name, "raw")
    expected = _probabilities(kind, np.asarray(model(apply(images, PREPROCESS.get(name, "raw")), training=False)))
    got = page_probabilities(page.page, images)
    assert np.max(np.abs(got - expected)) <= 1e-4
    assert got.min() >= 0 and got.max() <= 1 and np.allclose(got.sum(axis=1), 1, atol=1e-5)
    # Meaningful parity: the photos get different answers.
    assert np.ptp(expected, axis=0).max() > 0.05


def test_reports_say_what_was_rewritten(built):
    _, out = built
    tutorial = out["tutorial-logit"][1]
    assert tutorial.preprocess == "raw"  # preprocess_input sits after the augmentation, and is found there
    assert [name.split(" ")[1] for name in tutorial.lowered["dropped training-only layers"]] == [
        "(RandomFlip)", "(RandomRotation)"]
    assert out["logits"][1].head["applied"] == "a softmax over the logits"
    assert "SeparableConv2D split into depthwise + pointwise" in out["separable"][1].lowered
    site = built[0] / "tutorial-logit"
    written = json.loads((site / "report.json").read_text())
    assert written["head"]["kind"] == "logit" and written["classes"] == 2
