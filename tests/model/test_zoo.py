import re

import pytest

from builder.model import zoo as models
from builder.errors import ModelError, OptionError, WeightsError


def test_stock_model_knobs_are_applied():
    model, info = models.load("mobilenet_v2", alpha=0.5, input_size=64, weights="none")
    assert model.input_shape == (None, 64, 64, 3) and model.output_shape == (None, 1000)
    assert (info.family, info.alpha, info.input_size, info.weights) == ("mobilenet_v2", 0.5, (64, 64), "none")


def test_random_weights_are_reproducible():
    a, _ = models.load("mobilenet_v1", alpha=0.25, input_size=32, weights="none")
    b, _ = models.load("mobilenet_v1", alpha=0.25, input_size=32, weights="none")
    assert all((x == y).all() for x, y in zip(a.get_weights(), b.get_weights()))


@pytest.mark.parametrize("kwargs, error, message", [
    ({"alpha": 0}, OptionError, "--alpha must be a positive number, got 0"),
    ({"alpha": float("nan")}, OptionError, "--alpha must be a positive number, got nan"),
    ({"alpha": float("inf")}, OptionError, "--alpha must be a positive number, got inf"),
    ({"input_size": 16}, OptionError, "--input-size must be from 32 to 1024 pixels, got 16"),
    ({"input_size": 2048}, OptionError, "--input-size must be from 32 to 1024 pixels, got 2048"),
    ({"alpha": 0.3, "weights": "imagenet"}, WeightsError, r"ImageNet weights exist only for alpha in"),
    ({"weights": "/no/such.weights.h5"}, WeightsError, "weights file not found"),
])
def test_bad_stock_options(kwargs, error, message):
    args = {"alpha": 0.35, "input_size": 96, "weights": "none", **kwargs}
    with pytest.raises(error, match=message):
        models.load("mobilenet_v2", **args)


def test_imagenet_weights_that_cannot_be_fetched_are_one_line_on_stderr_and_nothing_on_stdout(tmp_path, monkeypatch):
    """Keras prints "Downloading data from URL" to stdout, which holds the build's summary (`> built.txt`): it goes
    to stderr, and under -q (errors only) nowhere. The network failure is real: the download goes through a proxy
    on a port nothing listens on."""
    from click.testing import CliRunner

    from builder.cli import cli

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))  # an empty cache: Keras must download
    for proxy in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(proxy, "http://127.0.0.1:9")
    result = CliRunner().invoke(cli, ["build-site", "-q", "--model", "mobilenet_v3_small", "--alpha", "0.75",
                                      "--input-size", "224", "--out", str(tmp_path / "site")])
    assert result.exit_code == 1 and result.stdout == "", result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[-1].startswith("Error: mobilenet_v3_small: could not get ImageNet weights (alpha 0.75, size 224) "
                                "into the Keras cache"), result.stderr
    assert "Offline? Put the weights file there, or use --weights none or --weights PATH" in lines[-1]
    assert not (tmp_path / "site").exists()
    result = CliRunner().invoke(cli, ["build-site", "--model", "mobilenet_v3_small", "--alpha", "0.75",
                                      "--input-size", "224", "--out", str(tmp_path / "site")])
    assert result.exit_code == 1 and result.stdout == "", result.stdout
    # Keras's own lines start on a line of their own, after the step line ("  loading ... ") and a note saying
    # where the weights go.
    lines = result.stderr.splitlines()
    download = next(i for i, line in enumerate(lines) if line.startswith("Downloading data from https://"))
    assert lines[download - 1] == f"  downloading ImageNet weights into the Keras cache {tmp_path / 'keras' / 'models'} (once)"
    assert "use --weights none or --weights PATH" in lines[-1]


def test_train_without_imagenet_weights_suggests_a_base_with_learnt_features(tmp_path, monkeypatch):
    """Random weights are a build-site option worth suggesting (a site to try the page on), not a train one:
    random features learn next to nothing."""
    from click.testing import CliRunner

    from builder.cli import cli
    from tests.conftest import PHOTOS

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    for proxy in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(proxy, "http://127.0.0.1:9")
    result = CliRunner().invoke(cli, ["train", str(PHOTOS), "--model", "mobilenet_v3_small", "--alpha", "0.75",
                                      "--no-cache", "--out", str(tmp_path / "trained")])
    assert result.exit_code == 1 and not (tmp_path / "trained").exists()
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: mobilenet_v3_small: could not get ImageNet weights"), result.stderr
    assert "--base FILE" in last and "--weights none" not in last, last


def test_wrong_weights_file_is_a_clear_error(stock_v2_weights):
    with pytest.raises(WeightsError, match="cannot load these weights into mobilenet_v2 \\(alpha 1.0") as caught:
        models.load("mobilenet_v2", alpha=1.0, input_size=96, weights=str(stock_v2_weights))
    # One line that names a layer that does not fit and both shapes, not Keras's dump of the weight's values.
    assert re.search(r"layers? do(es)? not fit, e\.g\. layer '\w+' \(\w+\) has a weight of shape \([\d, ]+\), "
                     r"the file \([\d, ]+\)", str(caught.value)), str(caught.value)
    assert "\n" not in str(caught.value)


def test_user_model_is_described(fine_tuned_keras):
    _, info = models.load(str(fine_tuned_keras))
    assert (info.family, info.alpha, info.input_size, info.num_outputs) == ("mobilenet_v2", 0.35, (96, 96), 5)
    assert info.source == str(fine_tuned_keras) and info.mixed_precision is None


def test_user_model_with_the_wrong_shape_is_refused(tmp_path):
    from tests.helpers import keras

    inputs = keras.Input((32, 32, 1))
    keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(inputs))).save(tmp_path / "gray.keras")
    with pytest.raises(ModelError, match=r"gray\.keras: expected an input of shape \(None, height, width, 3\)"):
        models.load(str(tmp_path / "gray.keras"))


@pytest.mark.parametrize("family, minimalistic, hard_swish", [
    ("mobilenet_v3_small", False, True), ("mobilenet_v3_large", False, True), ("mobilenet_v3_small", True, False)])
def test_stock_mobilenet_v3(family, minimalistic, hard_swish):
    model, info = models.load(family, alpha=0.75 if not minimalistic else 1.0, input_size=96, weights="none",
                              minimalistic=minimalistic)
    assert model.input_shape == (None, 96, 96, 3) and model.output_shape == (None, 1000)
    assert info.family == family
    activations = {layer.get_config().get("activation") for layer in model.layers}
    assert ("hard_silu" in activations) == hard_swish


@pytest.mark.parametrize("model, kwargs, message", [
    ("mobilenet_v3_small", {"alpha": 0.75, "minimalistic": True, "weights": "imagenet"}, r"alpha in \[1.0\]"),
    ("mobilenet_v3_large", {"alpha": 0.5, "weights": "imagenet"}, r"alpha in \[0.75, 1.0\]"),
    ("mobilenet_v2", {"minimalistic": True}, "--minimalistic is for mobilenet_v3_small / mobilenet_v3_large"),
])
def test_bad_mobilenet_v3_options(model, kwargs, message):
    with pytest.raises((ModelError, WeightsError), match=message):
        models.load(model, **{"input_size": 96, "weights": "none", **kwargs})


@pytest.mark.parametrize("make", ["small", "large", "nested", "tutorial"])
def test_keras3_mobilenet_v3_h5_is_read_back(make, tmp_path):
    """Keras 3 itself refuses its own MobileNetV3 .h5 (the hard-sigmoid's x + 3 and x * 1/6 come back as the
    Add and Multiply merge layers); browsernet rebuilds it from the file's config and gives the saved
    model's outputs on real photos. So too for TensorFlow's transfer-learning tutorial model, whose
    preprocess_input records x / 127.5 - 1 as the TrueDivide and Subtract operations."""
    import numpy as np

    from tests import helpers
    from tests.helpers import keras

    model = {"nested": lambda: helpers.v3_fine_tuned(64), "tutorial": lambda: helpers.tutorial(64)}.get(
        make, lambda: helpers.mobilenet_v3(make, 64))()
    path = tmp_path / "v3.h5"
    model.save(path)
    with pytest.raises((ValueError, TypeError), match=None if make == "tutorial" else "passed as positional arguments"):
        keras.models.load_model(path, compile=False)  # Keras's own reader: the reason browsernet rebuilds it
    loaded, info = models.load(str(path))
    images = helpers.photos(64, count=4, seed=5)
    expected = np.asarray(model(images, training=False))
    assert np.array_equal(np.asarray(loaded(images, training=False)), expected)
    assert np.ptp(expected, axis=0).max() > (0.05 if make != "tutorial" else 0.5)  # the photos get different answers
    assert info.family == {"large": "mobilenet_v3_large", "tutorial": "mobilenet_v2"}.get(make, "mobilenet_v3_small")


def test_a_mixed_precision_file_loads_as_its_float32_twin(tmp_path):
    import numpy as np

    from builder.model import dtype_policy
    from tests import helpers

    exact = helpers.sequential(32)
    dtype_policy.recast(exact, "mixed_float16").save(tmp_path / "mixed.keras")
    model, info = models.load(str(tmp_path / "mixed.keras"))
    assert info.mixed_precision == "mixed_float16" and dtype_policy.mixed_precision_policy(model) is None
    x = helpers.test_images(32).astype("float32") / 127.5 - 1
    assert np.abs(np.asarray(model(x)) - np.asarray(exact(x))).max() < 1e-6


def _without_head_weights(kind: str, tmp_path):
    """A model file whose Dense layer 'head' has lost its weights (an interrupted copy, a hand-edited file)."""
    import zipfile

    import h5py

    from tests import helpers

    if kind == "keras2.h5":
        import tf_keras as k
    else:
        k = helpers.keras
    inputs = k.Input((32, 32, 3))
    x = k.layers.GlobalAveragePooling2D()(k.layers.Conv2D(4, 3)(inputs))
    model = k.Model(inputs, k.layers.Dense(3, activation="softmax", name="head")(x))
    path = tmp_path / ("model.keras" if kind == ".keras" else "model.h5")
    model.save(path)
    if kind == ".keras":
        whole = tmp_path / "whole.keras"
        path.rename(whole)
        weights = tmp_path / "model.weights.h5"
        with zipfile.ZipFile(whole) as zin, zipfile.ZipFile(path, "w") as zout:
            for item in zin.infolist():
                data = zin.read(item.filename)
                if item.filename == "model.weights.h5":
                    weights.write_bytes(data)
                    with h5py.File(weights, "a") as f:
                        del f["layers/dense/vars"]  # the .keras format names it by class, not by name
                    data = weights.read_bytes()
                zout.writestr(item, data)
    else:
        with h5py.File(path, "a") as f:
            del f["model_weights/head"]
    return path


@pytest.mark.parametrize("kind", [".keras", "keras3.h5", "keras2.h5"])
def test_a_layer_missing_its_weights_is_named_with_its_class(kind, tmp_path):
    path = _without_head_weights(kind, tmp_path)
    with pytest.raises(ModelError) as caught:
        models.load(str(path))
    message = str(caught.value)
    assert re.search(r"layer 'head' \(Dense\) has (0 of its 2|no) weights in the file", message), message
    assert "\n" not in message and message.count("layer 'head'") == 1


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory):
    """A tiny model saved as .keras and as .h5."""
    from tests import helpers

    root = tmp_path_factory.mktemp("tiny")
    model = helpers.keras.Sequential([helpers.keras.Input((8, 8, 3)), helpers.keras.layers.Flatten(),
                                      helpers.keras.layers.Dense(2, activation="softmax")])
    for suffix in (".keras", ".h5"):
        model.save(root / f"tiny{suffix}")
    return root


@pytest.mark.parametrize("made, name, message", [
    (None, "model.keras", r"model\.keras: empty \(0 bytes\).*save the model again, or download it again"),
    ("tiny.h5", "model.keras", r"model\.keras: an HDF5 file \(Keras's \.h5 format\) named \.keras; rename it to model\.h5$"),
    ("tiny.keras", "model.h5", r"model\.h5: a zip archive \(Keras's \.keras format\) named \.h5; rename it to "
                               r"model\.keras$"),
])
def test_an_empty_file_or_one_named_for_the_other_format_says_what_to_do(made, name, message, tiny_files, tmp_path):
    """What Keras says instead: 'File is not a zip file', 'file signature not found'."""
    import shutil

    path = tmp_path / name
    if made is None:
        path.write_bytes(b"")
    else:
        shutil.copyfile(tiny_files / made, path)
    with pytest.raises(ModelError, match=message):
        models.load(str(path))
    if made is not None:  # renamed as told, it loads
        models.load(str(path.rename(path.with_suffix(".h5" if name.endswith(".keras") else ".keras"))))


def test_a_folder_as_model_says_it_is_a_folder(tmp_path):
    (tmp_path / "saved_model").mkdir()
    with pytest.raises(ModelError, match=r"saved_model: a folder, not a Keras model file .*model\.save\('model\.keras'\)"):
        models.load(str(tmp_path / "saved_model"))


@pytest.mark.parametrize("kind", ["keras3", "keras2"])
def test_a_model_whose_input_takes_any_size_is_built_at_input_size(kind, tmp_path):
    """MobileNetV2(include_top=False) without input_shape takes images of any size; --input-size N rebuilds it
    at N pixels (nested base included, every layer's shape known) with its weights: the same function."""
    import numpy as np

    from builder.model import dtype_policy
    from builder.model.preprocessing import apply
    from tests import helpers

    model, _ = helpers.any_size_fine_tuned(64, keras2=kind == "keras2")
    path = tmp_path / ("any.keras" if kind == "keras3" else "any.h5")
    model.save(path)
    with pytest.raises(ModelError, match=r"any\.(keras|h5): the input takes images of any size \(None, None, None, 3\)"
                                         r".*give it with --input-size N"):
        models.load(str(path))
    loaded, info = models.load(str(path), input_size=64)
    assert loaded.input_shape == (None, 64, 64, 3) and info.input_size == (64, 64) and info.family == "mobilenet_v2"
    assert all(None not in tuple(layer.output.shape)[1:] for layer in dtype_policy.leaf_layers(loaded))
    x = apply(helpers.photos(64, count=6), "mobilenet")
    want = np.asarray(model(x, training=False))  # the model as saved, run on 64-pixel images
    np.testing.assert_allclose(np.asarray(loaded(x, training=False)), want, atol=1e-6)
    assert np.ptp(want, axis=0).max() > 0.05  # the photos get different answers
    with pytest.raises(OptionError, match="--input-size must be from 32 to 1024"):
        models.load(str(path), input_size=16)


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_teachable_machines_layout_saved_by_tf_keras_is_read(suffix, tmp_path):
    """Teachable Machine's layout, Sequential([Sequential([MobileNetV2 base, pooling]), Dense]), saved by
    tf-keras: the nested Sequential names its class's module as tf_keras.src.engine.functional (Keras's own,
    not a custom class), and tf-keras 2.13+ also writes .keras archives, which only tf-keras reads."""
    import numpy as np

    from builder.model.preprocessing import apply
    from tests import helpers

    model = helpers.teachable_machine(64, classes=4)
    path = tmp_path / f"model{suffix}"
    model.save(path)
    loaded, info = models.load(str(path))
    assert info.input_size == (64, 64) and info.num_outputs == 4
    x = apply(helpers.photos(64, count=6), "mobilenet")
    want = np.asarray(model(x, training=False))
    np.testing.assert_allclose(np.asarray(loaded(x, training=False)), want, atol=1e-6)
    assert np.ptp(want, axis=0).max() > 0.05  # the photos get different answers


@pytest.mark.parametrize("kind", ["keras3", "keras2"])
def test_a_base_of_any_size_inside_a_fixed_size_model_is_built_at_the_models_size(kind, tmp_path):
    """The common fine-tuning layout: MobileNetV2(include_top=False) without input_shape, called on
    Input((64, 48, 3)). The base keeps its own (None, None) shapes, which the converter reads (the build used
    to stop with a TypeError in its multiply-add count): it is rebuilt at the model's size, the same function."""
    import numpy as np

    from builder.build import BuildOptions, build
    from builder.model import dtype_policy
    from builder.model.preprocessing import apply
    from tests import helpers

    model = helpers.fixed_outside(64, 48, keras2=kind == "keras2")
    path = tmp_path / ("model.keras" if kind == "keras3" else "model.h5")
    model.save(path)
    loaded, info = models.load(str(path))
    assert info.input_size == (64, 48)
    assert all(None not in tuple(layer.output.shape)[1:] for layer in dtype_policy.leaf_layers(loaded))
    x = apply(helpers.photos(64, count=6)[:, :, 8:56], "mobilenet")
    want = np.asarray(model(x, training=False))
    np.testing.assert_allclose(np.asarray(loaded(x, training=False)), want, atol=1e-6)
    assert np.ptp(want, axis=0).max() > 0.05  # the photos get different answers
    if kind == "keras3":  # the build read the base's shapes in its multiply-add count, and stopped there
        (tmp_path / "labels.txt").write_text("a\nb\nc\n")
        result = build(BuildOptions(model=str(path), labels=tmp_path / "labels.txt", out=tmp_path / "site"))
        assert result.multiply_adds > 0


def test_input_size_for_a_model_file_with_its_own_size_is_refused(fine_tuned_keras):
    _, info = models.load(str(fine_tuned_keras))
    size = info.input_size[0]
    assert models.load(str(fine_tuned_keras), input_size=size)[1].input_size == (size, size)  # its own: fine
    with pytest.raises(ModelError, match=rf"the model's input is {size}x{size}; --input-size is for a stock model"):
        models.load(str(fine_tuned_keras), input_size=size * 2)


@pytest.mark.parametrize("keras2", [False, True])
def test_a_weights_only_file_as_model_says_how_to_use_it(keras2, tmp_path):
    from tests import helpers

    path = tmp_path / "weights.weights.h5"
    if keras2:
        import tf_keras

        tf_keras.Sequential([tf_keras.Input((8,)), tf_keras.layers.Dense(2)]).save_weights(str(path))
    else:
        helpers.sequential(32).save_weights(path)
    with pytest.raises(ModelError) as caught:
        models.load(str(path))
    message = str(caught.value)
    assert f"{path}: holds weights only" in message and f"--weights {path}" in message
    assert "object at 0x" not in message and "\n" not in message
