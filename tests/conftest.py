"""Shared fixtures. Expensive things (models, built sites, the trained model, the browser) are session-scoped,
and the files among them are made once per run for every pytest-xdist worker (:func:`made_once`).

TensorFlow is imported (through tests.helpers) only by the fixtures that make models, so tests that need
no model do not pay for it."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
from pathlib import Path
from typing import Callable

import pytest

SIZE = 96

# `make test` runs the tests without a browser on every CPU (pytest-xdist), one process per CPU: each process's
# TensorFlow then computes on its share of the CPUs, instead of each starting a thread per CPU and the
# processes' threads taking turns on the same cores (about 10% of the run's time on 2 CPUs).
if os.environ.get("PYTEST_XDIST_WORKER") and "TF_NUM_INTRAOP_THREADS" not in os.environ:
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(max(1, (os.cpu_count() or 1)
                                                   // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))))

# A test run started in the background of a script (`make test &`) has SIGINT ignored, and every command a test
# starts would inherit that and never see the Ctrl-C the test sends it (a command keeps an ignored signal
# ignored, as nohup expects). A handler of the test process's own is reset to the default in its children.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def made_once(tmp_path_factory, name: str, make: Callable[[Path], None]) -> Path:
    """The folder ``name``, filled by ``make(folder)`` once per test run however many pytest-xdist workers ask
    for it: the first asks and makes it, under a file lock, the others wait and then read the same folder (a
    session fixture is otherwise made once per worker). Tests only read it: one that changes it copies it first."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # this run's folder, above each worker's own
    folder = root / f"shared-{name}"
    with open(root / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if make() fails
        if not (folder / ".made").is_file():
            shutil.rmtree(folder, ignore_errors=True)  # what a failed make() left
            folder.mkdir()
            make(folder)
            (folder / ".made").touch()
    return folder


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


def _saved(tmp_path_factory, name: str, make: Callable[[], object]) -> Path:
    """A test model file made by ``make()`` (a Keras model) and saved as ``name``, once per test run."""
    return made_once(tmp_path_factory, name, lambda folder: make().save(folder / name)) / name


@pytest.fixture(scope="session")
def fine_tuned_keras(tmp_path_factory) -> Path:
    """A Keras 3 nested fine-tuned model saved as .keras."""
    from tests import helpers

    return _saved(tmp_path_factory, "fine_tuned.keras", lambda: helpers.fine_tuned(SIZE))


@pytest.fixture(scope="session")
def fine_tuned_h5(tmp_path_factory) -> Path:
    """The same kind of model saved by Keras 3 as legacy .h5."""
    from tests import helpers

    return _saved(tmp_path_factory, "fine_tuned.h5", lambda: helpers.fine_tuned(SIZE, classes=7))


@pytest.fixture(scope="session")
def stock_v2_weights(tmp_path_factory) -> Path:
    from tests import helpers

    name = "mobilenet_v2_035_96.weights.h5"
    folder = made_once(tmp_path_factory, name,
                       lambda folder: helpers.stock_weights(folder / name, "mobilenet_v2", 0.35, SIZE))
    return folder / name


@pytest.fixture(scope="session")
def self_preprocessing_keras(tmp_path_factory) -> Path:
    """A fine-tuned model with preprocess_input inside it (so the page must send raw pixels)."""
    from tests import helpers

    return _saved(tmp_path_factory, "self_preprocessing.keras",
                  lambda: helpers.fine_tuned(SIZE, classes=6, preprocess_inside=True))


@pytest.fixture(scope="session")
def sequential_keras(tmp_path_factory) -> Path:
    """A Keras 3 Sequential model (built with an Input)."""
    from tests import helpers

    return _saved(tmp_path_factory, "sequential.keras", lambda: helpers.sequential(64, classes=4, preprocess="unit"))


@pytest.fixture(scope="session")
def labels_file(model_dir) -> Path:
    path = model_dir / "labels.txt"
    # One label that is markup: it must reach the page as text.
    path.write_text("cat\ndog\n<img src=x onerror=alert(1)>\nfox\nowl\n")
    return path


def _build(out: Path, **kwargs):
    from builder.build import BuildOptions, build

    return build(BuildOptions(out=out, **kwargs))


def built_copy(model: Path, folder: Path) -> tuple[Path, Path, Path]:
    """The Sequential test ``model`` copied to ``folder``/model.keras with a labels.txt of its 4 classes,
    built into ``folder``/site: (model file, labels file, site), for tests that then change an input."""
    import shutil

    copy, labels = folder / "model.keras", folder / "labels.txt"
    shutil.copyfile(model, copy)
    labels.write_text("north\neast\nsouth\nwest\n")
    _build(folder / "site", model=str(copy), labels=labels, preprocess="unit")
    return copy, labels, folder / "site"


def retrain(model_file: Path) -> None:
    """Change ``model_file``'s weights as retraining would (its first layer's kernel times 1.01) and save it."""
    from tests.helpers import keras

    model = keras.models.load_model(model_file, compile=False)
    kernel, *rest = model.layers[0].get_weights()
    model.layers[0].set_weights([kernel * 1.01, *rest])
    model.save(model_file)


@pytest.fixture(scope="session")
def sites(tmp_path_factory, stock_v2_weights, fine_tuned_keras, fine_tuned_h5, sequential_keras,
          self_preprocessing_keras, labels_file) -> dict[str, Path]:
    """Real built sites: stock MobileNetV2 (--weights PATH), a nested .keras, a Keras-3 .h5, and a
    Sequential model that expects x/255 inputs (--preprocess unit)."""
    def make(root: Path) -> None:
        json_labels = root / "labels7.json"
        json_labels.write_text('["a", "b", "c", "d", "e", "f", "g"]')
        _build(root / "stock", model="mobilenet_v2", alpha=0.35, input_size=SIZE, weights=str(stock_v2_weights))
        _build(root / "keras", model=str(fine_tuned_keras), labels=labels_file, title="Fine-tuned <b>test</b>")
        _build(root / "h5", model=str(fine_tuned_h5), labels=json_labels, top_k=3)
        four = root / "labels4.txt"
        four.write_text("north\neast\nsouth\nwest\n")
        _build(root / "seq", model=str(sequential_keras), labels=four, preprocess="unit")
        _build(root / "v1-none", model="mobilenet_v1", alpha=0.25, input_size=64, weights="none")
        six = root / "labels6.txt"
        six.write_text("1\n2\n3\n4\n5\n6\n")
        _build(root / "raw", model=str(self_preprocessing_keras), labels=six)  # preprocess: raw, chosen by the build
        _build(root / "crop", model=str(fine_tuned_keras), labels=labels_file, resize="crop")

    root = made_once(tmp_path_factory, "sites", make)
    return {name: root / name for name in ("stock", "keras", "h5", "seq", "v1-none", "raw", "crop")}


@pytest.fixture(scope="session")
def publish_sites(tmp_path_factory, fine_tuned_keras, sequential_keras, labels_file) -> dict[str, Path]:
    """Sites built for each host: GitHub Pages (with its files) and Firebase (with firebase.json), and one built
    for no host in particular (any-host)."""
    def make(root: Path) -> None:
        four = root / "labels4.txt"
        four.write_text("north\neast\nsouth\nwest\n")
        _build(root / "github-pages", model=str(fine_tuned_keras), labels=labels_file, target="github-pages")
        _build(root / "firebase", model=str(sequential_keras), labels=four, preprocess="unit", target="firebase",
               firebase_project="demo-browsernet")
        _build(root / "any-host", model=str(sequential_keras), labels=four, preprocess="unit")

    root = made_once(tmp_path_factory, "publish", make)
    return {name: root / name for name in ("github-pages", "firebase", "any-host")}


PROJECT = Path(__file__).resolve().parents[1]
PHOTOS = PROJECT / "tests" / "data" / "photos"  # 41 animal photos in 4 classes (GCompris; see its CREDITS.md)
DEMO_BASE = PROJECT / "models" / "dog_breed_mobilenetv2.h5"  # `make demo-assets` fetches it
TRAIN_EPOCHS = 15  # enough for the head on these photos; early stopping usually ends it sooner


def train_options(out: Path, cache: Path, **kwargs):
    from builder.train.pipeline import TrainOptions

    if not DEMO_BASE.is_file():
        pytest.fail(f"{DEMO_BASE} is missing: run 'make demo-assets' (make test does)")
    return TrainOptions(data=PHOTOS, out=out, cache_dir=cache, **{"base": DEMO_BASE, "epochs": TRAIN_EPOCHS, **kwargs})


def _trained(tmp_path_factory) -> Path:
    """`browsernet train` on the real photos with the demo's MobileNetV2 as the base, once per test run: the
    folder holding its output (out/) and its feature cache (cache/, every photo's features in it)."""
    def make(folder: Path) -> None:
        from builder.train.pipeline import train

        train(train_options(folder / "out", folder / "cache"))

    return made_once(tmp_path_factory, "trained", make)


@pytest.fixture(scope="session")
def feature_cache(tmp_path_factory) -> Path:
    """The feature cache of :func:`trained`'s run: a train on the photos with the demo base finds them all."""
    return _trained(tmp_path_factory) / "cache"


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Path:
    """`browsernet train` on the real photos with the demo's MobileNetV2 as the base: the output folder."""
    return _trained(tmp_path_factory) / "out"
