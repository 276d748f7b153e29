"""No code from a model file ever runs: canaries whose Lambda body creates a file.

Each canary model is saved three ways (.keras, Keras 3 .h5, Keras 2 .h5 from tf-keras). The build
must fail in one line naming the layer and its class, and the file must not exist afterwards. A
control at the end loads each file the way Keras runs it (safe mode off, or tf-keras) and sees the
file appear: the canary is real, so its absence during the build means something.
"""

from __future__ import annotations

import json

import pytest

from builder.build import BuildOptions, build
from builder.errors import BrowsernetError
from builder.model import zoo
from tests.helpers import keras


def _canary_body(path: str):
    # A lambda expression, the path a constant in its code: Keras stores the bytecode in the file (a named
    # function it stores by name only, and a lambda's default arguments it cannot read back).
    return eval(f"lambda x: (open({path!r}, 'w').write('model code ran'), x)[1]")  # noqa: S307 - the canary


@pytest.fixture(scope="module")
def canaries(tmp_path_factory):
    import tf_keras

    root = tmp_path_factory.mktemp("canaries")
    marker = root / "ran.txt"
    files = {}
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Lambda(_canary_body(str(marker)), name="side_effect")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(x)))
    for suffix in (".keras", ".h5"):
        files[f"keras3{suffix}"] = root / f"canary{suffix}"
        model.save(files[f"keras3{suffix}"])
    inputs = tf_keras.Input((8, 8, 3))
    x = tf_keras.layers.Lambda(_canary_body(str(marker)), name="side_effect")(inputs)
    model2 = tf_keras.Model(inputs, tf_keras.layers.Dense(2, activation="softmax")(tf_keras.layers.Flatten()(x)))
    files["keras2.h5"] = root / "canary_keras2.h5"
    model2.save(files["keras2.h5"])
    marker.unlink()  # building the models ran the body; the files are what matters from here on
    return marker, files


@pytest.mark.parametrize("kind", ["keras3.keras", "keras3.h5", "keras2.h5"])
def test_a_lambda_never_runs(kind, canaries, tmp_path):
    marker, files = canaries
    labels = tmp_path / "labels.txt"
    labels.write_text("a\nb\n")
    with pytest.raises(BrowsernetError) as caught:
        build(BuildOptions(model=str(files[kind]), labels=labels, out=tmp_path / "site"))
    message = caught.value.format_message()
    assert "\n" not in str(caught.value.message)
    assert "layer 'side_effect' (Lambda)" in message and "rebuild the model" in message
    assert not marker.exists()
    assert not (tmp_path / "site").exists()


def test_the_canaries_are_real(canaries):
    """Control: Keras with safe mode off, and tf-keras, do run the Lambda's body when loading."""
    import tf_keras

    marker, files = canaries
    for kind, load in (("keras3.keras", lambda p: keras.models.load_model(p, safe_mode=False)),
                       ("keras2.h5", lambda p: tf_keras.models.load_model(p, compile=False))):
        load(files[kind])
        assert marker.exists(), kind
        marker.unlink()


def test_rebuilding_a_keras3_h5_never_runs_a_lambda(canaries):
    """The Keras 3 .h5 rebuild (for files Keras 3 cannot read back, such as MobileNetV3's) deserializes in
    safe mode: even with the layer check skipped, the canary's Lambda is refused and its body never runs."""
    marker, files = canaries
    config = zoo.read_config(files["keras3.h5"])
    with pytest.raises(BrowsernetError, match="deserialization of a `Lambda`"):
        zoo._load_keras3_h5(files["keras3.h5"], config, ValueError("Keras 3 refused it"))
    assert not marker.exists()


def test_unregistered_custom_class_is_named(tmp_path):
    @keras.saving.register_keras_serializable(package="mine")
    class Doubler(keras.layers.Layer):
        def call(self, x):
            return 2 * x

    inputs = keras.Input((4,))
    path = tmp_path / "custom.keras"
    keras.Model(inputs, keras.layers.Dense(2)(Doubler(name="doubled")(inputs))).save(path)
    with pytest.raises(BrowsernetError, match=r"layer 'doubled' \(Doubler\) is a custom layer class"):
        zoo.load(str(path))


@pytest.mark.parametrize("function, refused", [("io.write_file", True), ("math.truediv", False)])
def test_keras2_tf_op_layers_may_only_name_arithmetic(function, refused, tmp_path):
    """tf-keras rebuilds a TFOpLambda by calling the TensorFlow function it names: only the scalar
    arithmetic the converter reads is allowed through."""
    config = {"class_name": "Functional", "config": {"name": "m", "layers": [
        {"class_name": "InputLayer", "config": {"name": "in"}},
        {"class_name": "TFOpLambda", "config": {"name": "op", "function": function}},
    ]}}
    if refused:
        with pytest.raises(BrowsernetError, match=r"layer 'op' \(TFOpLambda\) calls TensorFlow's io.write_file"):
            zoo.check_safe(config, tmp_path / "m.h5")
    else:
        zoo.check_safe(config, tmp_path / "m.h5")


def test_nested_lambda_is_found(tmp_path):
    inner = {"class_name": "Functional", "module": "keras", "config": {"name": "base", "layers": [
        {"class_name": "Lambda", "module": "keras.layers", "config": {"name": "deep", "function": {}}}]}}
    config = {"class_name": "Sequential", "module": "keras", "config": {"name": "outer", "layers": [inner]}}
    with pytest.raises(BrowsernetError, match=r"layer 'deep' \(Lambda\) holds Python code"):
        zoo.check_safe(json.loads(json.dumps(config)), tmp_path / "m.keras")
