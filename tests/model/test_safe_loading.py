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
    with pytest.raises(BrowsernetError, match=r"layer 'doubled' \(Doubler\) is a custom (layer )?class"):
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


def test_a_class_registered_by_someones_code_is_refused_under_a_keras_name(tmp_path):
    """Keras looks a layer up by its registered name first (package>Class, what register_keras_serializable
    writes) and only then by class name: a 'Dense' registered by a package is that package's code."""
    layer = {"class_name": "Dense", "module": None, "registered_name": "mine>Dense",
             "config": {"name": "doubled", "units": 2}}
    config = {"class_name": "Functional", "module": "keras", "config": {"name": "m", "layers": [layer]}}
    with pytest.raises(BrowsernetError, match=r"layer 'doubled' \(Dense\) is a custom layer class"):
        zoo.check_safe(config, tmp_path / "m.keras")
    zoo.check_safe(json.loads(json.dumps(config).replace('"mine>Dense"', '"Dense"')), tmp_path / "m.keras")


def test_nested_lambda_is_found(tmp_path):
    inner = {"class_name": "Functional", "module": "keras", "config": {"name": "base", "layers": [
        {"class_name": "Lambda", "module": "keras.layers", "config": {"name": "deep", "function": {}}}]}}
    config = {"class_name": "Sequential", "module": "keras", "config": {"name": "outer", "layers": [inner]}}
    with pytest.raises(BrowsernetError, match=r"layer 'deep' \(Lambda\) holds Python code"):
        zoo.check_safe(json.loads(json.dumps(config)), tmp_path / "m.keras")


def _as_old_sequential(path, name: str = "outer") -> None:
    """Rewrite a tf-keras .h5's model_config into the old Keras 2 form, whose Sequential config is the list
    of its layers itself (no "layers" key), as Keras 2.0-2.2 wrote it and tf-keras still reads it."""
    import h5py

    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        config["config"] = config["config"]["layers"]
        f.attrs["model_config"] = json.dumps(config).encode()


def test_a_lambda_in_an_old_style_sequential_never_runs(tmp_path):
    """The Lambda sits in a Sequential whose config is its list of layers: the layer check finds it, and
    tf-keras, which reads that form, loads in its safe mode, so not even a check that missed it would run it."""
    import tf_keras

    marker = tmp_path / "ran.txt"
    model = tf_keras.Sequential([tf_keras.Input((4,)), tf_keras.layers.Lambda(_canary_body(str(marker)), name="hidden"),
                                 tf_keras.layers.Dense(2, activation="softmax")])
    path = tmp_path / "old.h5"
    model.save(path)
    marker.unlink()
    _as_old_sequential(path)
    with pytest.raises(BrowsernetError, match=r"layer 'hidden' \(Lambda\) holds Python code"):
        zoo.load(str(path))
    with pytest.raises(BrowsernetError, match="Lambda"):  # the second guard alone: tf-keras in safe mode
        zoo._load_keras2(path, None)
    assert not marker.exists()
    tf_keras.models.load_model(path, compile=False)  # control: tf-keras's default reading runs it
    assert marker.exists()


@pytest.mark.parametrize("where", ["backward_layer", "cell", "activation"])
def test_code_is_found_wherever_the_config_holds_an_object(where, tmp_path):
    """A Lambda as a Bidirectional's backward layer, an RNN's cell, or any object of a layer's config."""
    code = {"class_name": "Lambda", "config": {"name": "payload", "function": ["...", None, None],
                                                "function_type": "lambda"}}
    layer = {"class_name": "Bidirectional" if where == "backward_layer" else "RNN" if where == "cell" else "Dense",
             "config": {"name": "host", where: code}}
    config = {"class_name": "Functional", "config": {"name": "m", "layers": [layer]}}
    with pytest.raises(BrowsernetError, match=r"layer 'payload' \(Lambda\) holds Python code"):
        zoo.check_safe(config, tmp_path / "m.h5")


@pytest.mark.parametrize("code", [
    {"class_name": "ResidualWrapper", "config": {"name": "payload", "residual_fn": ["...", None, None],
                                                 "residual_fn_type": "lambda", "cell": {"class_name": "LSTMCell",
                                                                                        "config": {"name": "c"}}}},
    {"class_name": "__lambda__", "config": {"name": "payload", "value": ["...", None, None]}},
])
def test_other_ways_tf_keras_stores_a_function_are_found(code, tmp_path):
    """tf-keras also stores bytecode as a cell wrapper's residual_fn and as a "__lambda__" object."""
    layer = {"class_name": "RNN", "config": {"name": "host", "cell": code}}
    config = {"class_name": "Functional", "config": {"name": "m", "layers": [layer]}}
    with pytest.raises(BrowsernetError, match=rf"layer 'payload' \({code['class_name']}\) holds Python code"):
        zoo.check_safe(config, tmp_path / "m.h5")


def test_a_slicing_op_layer_claiming_keras_as_its_module_is_checked(tmp_path):
    """tf-keras ignores "module": a SlicingOpLambda naming any TensorFlow function is refused like a TFOpLambda."""
    layer = {"class_name": "SlicingOpLambda", "module": "keras.layers",
             "config": {"name": "slice", "function": "io.write_file"}}
    config = {"class_name": "Functional", "config": {"name": "m", "layers": [layer]}}
    with pytest.raises(BrowsernetError, match=r"layer 'slice' \(SlicingOpLambda\) calls TensorFlow's io.write_file"):
        zoo.check_safe(config, tmp_path / "m.h5")


def _external_kernel(h5, secret) -> None:
    """Point ``h5``'s Dense kernel at ``secret``, a file of this machine, as HDF5 external storage."""
    import h5py
    import numpy as np

    with h5py.File(h5, "r+") as f:
        names = []
        f.visititems(lambda name, item: names.append(name) if name.endswith("kernel:0") or
                     name.endswith("vars/0") else None)
        [name] = [n for n in names if "dense" in n]
        shape = f[name].shape
        del f[name]
        f.create_dataset(name, shape=shape, dtype=np.float32, external=[(str(secret), 0, 4 * int(np.prod(shape)))])


@pytest.mark.parametrize("kind", ["keras2.h5", "keras2.keras"])
def test_weights_stored_in_another_file_of_this_machine_are_refused(kind, tmp_path):
    """HDF5 can store a dataset's bytes in an external file at any path: read as weights, a key or
    /proc/self/environ would be published in the site's shards. tf-keras reads it without a word."""
    import zipfile

    import tf_keras

    secret = tmp_path / "credentials"
    secret.write_bytes(b"AWS_SECRET_ACCESS_KEY=not-for-the-web ".ljust(4 * 4 * 2, b"."))
    model = tf_keras.Sequential([tf_keras.Input((4,)), tf_keras.layers.Dense(2, activation="softmax", name="dense")])
    path = tmp_path / ("model.h5" if kind.endswith(".h5") else "model.keras")
    model.save(path)
    if kind.endswith(".h5"):
        _external_kernel(path, secret)
    else:  # the weights inside a tf-keras .keras archive
        weights = tmp_path / "model.weights.h5"
        with zipfile.ZipFile(path) as archive:
            members = {n: archive.read(n) for n in archive.namelist()}
        weights.write_bytes(members["model.weights.h5"])
        _external_kernel(weights, secret)
        members["model.weights.h5"] = weights.read_bytes()
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
    labels = tmp_path / "labels.txt"
    labels.write_text("a\nb\n")
    with pytest.raises(BrowsernetError, match=r"model\.(h5|keras): dataset '.*' is stored outside the file "
                                              r"\(external storage\)"):
        build(BuildOptions(model=str(path), labels=labels, out=tmp_path / "site"))
    assert not (tmp_path / "site").exists()


def test_a_config_that_unpacks_to_gigabytes_is_not_read(tmp_path):
    """A .keras archive's config.json is read before Keras's own checks: a few kilobytes that unpack to more
    than any model's config are refused by their declared size, not decompressed."""
    import zipfile

    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", b" " * (zoo.MAX_CONFIG_BYTES + 1))
    assert path.stat().st_size < 1 << 20
    with pytest.raises(BrowsernetError, match=r"bomb\.keras: its config\.json unpacks to [\d,]+ bytes"):
        zoo.read_config(path)


@pytest.mark.parametrize("spec, refused", [
    # tf-keras looks up any TensorFlow symbol or method by name and calls it while rebuilding (io.write_file).
    ({"module": "tf_keras.src.layers.core.tf_op_layer", "class_name": "ClassMethod",
      "config": {"name": "evil", "cls_symbol": "io.write_file", "method_name": "__call__"}}, "ClassMethod"),
    ({"class_name": "TensorFlowOpLayer", "config": {"name": "evil", "node_def": {}}}, "TensorFlowOpLayer"),
    # tf-keras imports the module a .keras file names for any object: an import runs that module's code.
    ({"module": "antigravity", "class_name": "GlorotUniform", "config": {"name": "evil"}}, "antigravity"),
    # tf-keras rebuilds a saved TypeSpec by looking its class up in the module the file names.
    ({"module": "tensorflow", "class_name": "__typespec__", "spec_name": "TensorSpec", "config": {"name": "evil"}},
     "tensorflow"),
])
def test_objects_that_make_tf_keras_call_or_import_what_the_file_names_are_refused(spec, refused, tmp_path):
    layer = {"class_name": "Dense", "config": {"name": "host", "units": 2, "kernel_initializer": spec}}
    config = {"class_name": "Functional", "config": {"name": "m", "layers": [layer, spec]}}
    with pytest.raises(BrowsernetError, match=rf"layer 'evil' .*{refused}"):
        zoo.check_safe(config, tmp_path / "m.h5")


def test_an_object_without_a_name_is_named_by_the_layer_holding_it(tmp_path):
    """An activation naming a module outside Keras: the line says which layer holds it (from the CLI attack:
    it said "layer '?' (function)")."""
    activation = {"class_name": "function", "module": "os", "config": "system"}
    layer = {"class_name": "Dense", "module": "keras.layers", "config": {"name": "dense_3", "units": 2,
                                                                         "activation": activation}}
    config = {"class_name": "Functional", "module": "keras", "config": {"name": "m", "layers": [layer]}}
    with pytest.raises(BrowsernetError, match=r"layer 'dense_3' holds function, which is a custom class \(module 'os'\)"):
        zoo.check_safe(config, tmp_path / "m.keras")


def test_a_keras_archive_with_anything_but_keras_files_is_refused(tmp_path):
    """tf-keras reads a .keras archive's weights from model.weights.npz too, with pickle allowed."""
    import zipfile

    path = tmp_path / "npz.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "2.19.0"}))
        archive.writestr("config.json", json.dumps({"class_name": "Sequential", "config": {"name": "m", "layers": []}}))
        archive.writestr("model.weights.npz", b"PK")
    with pytest.raises(BrowsernetError, match=r"npz\.keras: holds model\.weights\.npz"):
        zoo.load(str(path))


def test_hard_link_cycles_and_many_small_bombs_end_in_one_line(tmp_path):
    """A group linking back to itself is walked once (it was a RecursionError; a chain of doubly linked groups
    ran for minutes), and datasets each declaring a few GiB and storing nothing are refused in all."""
    import time

    import h5py
    import numpy as np

    cycle = tmp_path / "cycle.h5"
    with h5py.File(cycle, "w") as f:
        group = f.create_group("loop")
        group["back"] = group
        previous = f.create_group("g0")
        for i in range(1, 40):
            g = f.create_group(f"g{i}")
            g["a"], g["b"] = previous, previous
            previous = g
    started = time.monotonic()
    zoo.check_hdf5(cycle)  # nothing outside the file
    assert time.monotonic() - started < 10
    bomb = tmp_path / "bomb.h5"
    with h5py.File(bomb, "w") as f:
        for i in range(2):
            f.create_dataset(f"w{i}", shape=(1 << 29,), dtype=np.float32, chunks=(1 << 16,))  # 2 GiB, none stored
    with pytest.raises(BrowsernetError, match=r"bomb\.h5: its datasets declare [\d,]+ bytes but store"):
        zoo.check_hdf5(bomb)


def _saved_model_that_writes(folder, marker) -> None:
    """A TensorFlow SavedModel whose resource, when the SavedModel is loaded, writes ``marker``: code that runs
    on tf.saved_model.load."""
    import tensorflow as tf

    class Resource(tf.saved_model.experimental.TrackableResource):
        def _create_resource(self):
            return tf.raw_ops.VarHandleOp(dtype=tf.float32, shape=[], shared_name="")

        def _initialize(self):  # a traced graph, stored in the SavedModel and run when it is loaded
            tf.io.write_file(str(marker), "SavedModel code ran")

    module = tf.Module()
    module.resource = Resource()
    tf.saved_model.save(module, str(folder))


def test_a_keras_class_that_loads_a_savedmodel_from_the_files_path_is_refused_wherever_it_hides(tmp_path):
    """tf-keras's ReloadedLayer is Keras's own class, and not a layer in the file's layer list: given as a
    setting of a built-in layer (an Embedding's input_dim) in a tf-keras .keras, tf-keras rebuilt it, loading
    the SavedModel at the path the file names and running its code, before the build stopped."""
    import zipfile

    import tf_keras

    marker = tmp_path / "ran.txt"
    _saved_model_that_writes(tmp_path / "saved_model", marker)
    marker.unlink(missing_ok=True)
    inputs = tf_keras.Input((16, 16, 3))
    outputs = tf_keras.layers.Dense(2, activation="softmax")(tf_keras.layers.GlobalAveragePooling2D()(inputs))
    tf_keras.Model(inputs, outputs).save(tmp_path / "plain.keras")
    with zipfile.ZipFile(tmp_path / "plain.keras") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    reloaded = {"class_name": "ReloadedLayer", "module": "tf_keras.src.export.export_lib",
                "registered_name": "ReloadedLayer", "config": {"filepath": str(tmp_path / "saved_model"), "name": "r"}}
    config["config"]["layers"].insert(1, {"class_name": "Embedding", "module": "tf_keras.layers", "name": "lookup",
                                          "registered_name": None, "inbound_nodes": [],
                                          "config": {"name": "lookup", "input_dim": reloaded, "output_dim": 4}})
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "model.keras", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    (tmp_path / "labels.txt").write_text("a\nb\n")
    with pytest.raises(BrowsernetError, match=r"layer 'lookup' holds ReloadedLayer \(module "
                                              r"'tf_keras\.src\.export\.export_lib'\), which is not one of the Keras "
                                              r"classes and functions a model is built from"):
        build(BuildOptions(model=str(tmp_path / "model.keras"), labels=tmp_path / "labels.txt", out=tmp_path / "site"))
    assert not marker.exists()
    import tensorflow as tf

    tf.saved_model.load(str(tmp_path / "saved_model"))  # the control: loading it does run its code
    assert marker.exists()


def test_a_model_compiled_with_a_loss_of_its_own_builds(tmp_path):
    """The model is loaded without its training settings (compile=False), so a custom loss or metric there (a
    focal loss, an F1 metric) runs nothing and is not refused: it was, as 'a custom class'. One in a layer is."""
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, activation="relu")(inputs))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))

    def focal_loss(y_true, y_pred):
        return keras.losses.categorical_crossentropy(y_true, y_pred)

    model.compile(optimizer="adam", loss=focal_loss)
    model.save(tmp_path / "model.keras")
    (tmp_path / "labels.txt").write_text("a\nb\nc\n")
    build(BuildOptions(model=str(tmp_path / "model.keras"), labels=tmp_path / "labels.txt", out=tmp_path / "site",
                       preprocess="unit"))  # refused before, as a model holding a custom class
    assert (tmp_path / "site" / "report.json").is_file()
    config = zoo.read_config(tmp_path / "model.keras")
    config["config"]["layers"][1]["config"]["activation"] = config["compile_config"]["loss"]  # now in a layer
    with pytest.raises(BrowsernetError, match=r"layer 'conv2d\w*' holds function, which is a custom class \(module "
                                              r"'builtins'\)"):
        zoo.check_safe(config, tmp_path / "model.keras")


def test_a_config_nested_too_deep_is_a_damaged_file_not_an_unexpected_error(tmp_path):
    import zipfile

    inputs = keras.Input((8, 8, 3))
    keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(inputs))).save(
        tmp_path / "plain.keras")
    path = tmp_path / "deep.keras"
    with zipfile.ZipFile(tmp_path / "plain.keras") as plain, zipfile.ZipFile(path, "w") as archive:
        for name in plain.namelist():  # its config.json a list in a list in a list ..., 200,000 deep
            archive.writestr(name, "[" * 200_000 + "]" * 200_000 if name == "config.json" else plain.read(name))
    with pytest.raises(BrowsernetError, match=r"deep\.keras: not a readable Keras model file: its config\.json is "
                                              r"nested too deep"):
        build(BuildOptions(model=str(path), out=tmp_path / "site"))
