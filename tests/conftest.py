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
from collections.abc import Mapping
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


# The test files that take longest (seconds of test time on 2 CPUs, from `pytest --durations=0`, 3 Dec 2026: 82,
# 80, 59, 48, 45, 39, 23, 16, 10), run first. pytest-xdist hands each worker whole files in collection order (make
# test passes --no-loadscope-reorder; by default it orders files by their number of tests), so a long file left
# to the end would keep one worker busy while the other has nothing left to do.
LONGEST_FIRST = ("train/test_train.py", "test_build.py", "model/test_zoo.py", "publish/test_deploy.py",
                 "train/test_build_site.py", "convert/test_mixed_precision.py", "train/test_mobilenet_v3.py",
                 "convert/test_lowering.py", "test_serve.py")
TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.relative_to(TESTS).as_posix(), len(rank)))  # stable: in-file order


def made_once(tmp_path_factory, name: str, make: Callable[[Path], None]) -> Path:
    """The folder ``name``, filled by ``make(folder)`` once per test run however many pytest-xdist workers ask
    for it: the first asks and makes it, under a file lock, the others wait and then read the same folder (a
    session fixture is otherwise made once per worker). Tests only read it: one that changes it copies it first.
    ``name`` may have a folder in front ("sites/keras"): the things of one kind then lie side by side."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # this run's folder, above each worker's own
    folder = root / f"shared-{name}"
    folder.parent.mkdir(parents=True, exist_ok=True)
    made = folder.parent / f"{folder.name}.made"  # beside the folder, which holds only what make() wrote
    with open(folder.parent / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if make() fails
        if not made.is_file():
            shutil.rmtree(folder, ignore_errors=True)  # what a failed make() left
            folder.mkdir()
            make(folder)
            made.touch()
    return folder


def _saved(tmp_path_factory, name: str, make: Callable[[], object]) -> Path:
    """A test model file made by ``make()`` (a Keras model) and saved as ``name``, once per test run."""
    return made_once(tmp_path_factory, name, lambda folder: make().save(folder / name)) / name


def model_file(tmp_path_factory, name: str) -> Path:
    """The test model file ``name`` (one of :data:`MODEL_FILES`), made on first use, once per test run."""
    def make():
        from tests import helpers

        return MODEL_FILES[name](helpers)

    return _saved(tmp_path_factory, name, make)


# The test models as files, by name: what makes each from tests.helpers.
MODEL_FILES: dict[str, Callable] = {
    # A Keras 3 nested fine-tuned model saved as .keras.
    "fine_tuned.keras": lambda helpers: helpers.fine_tuned(SIZE),
    # The same kind of model saved by Keras 3 as legacy .h5.
    "fine_tuned.h5": lambda helpers: helpers.fine_tuned(SIZE, classes=7),
    # A fine-tuned model with preprocess_input inside it (so the page must send raw pixels).
    "self_preprocessing.keras": lambda helpers: helpers.fine_tuned(SIZE, classes=6, preprocess_inside=True),
    # A Keras 3 Sequential model (built with an Input) for x/255 inputs.
    "sequential.keras": lambda helpers: helpers.sequential(64, classes=4, preprocess="unit"),
}


def stock_weights_file(tmp_path_factory) -> Path:
    """A calibrated weights file for the stock MobileNetV2 at alpha 0.35, SIZE pixels (``--weights PATH``)."""
    def make(folder: Path) -> None:
        from tests import helpers

        helpers.stock_weights(folder / name, "mobilenet_v2", 0.35, SIZE)

    name = "mobilenet_v2_035_96.weights.h5"
    return made_once(tmp_path_factory, name, make) / name


@pytest.fixture(scope="session")
def fine_tuned_keras(tmp_path_factory) -> Path:
    return model_file(tmp_path_factory, "fine_tuned.keras")


@pytest.fixture(scope="session")
def fine_tuned_h5(tmp_path_factory) -> Path:
    return model_file(tmp_path_factory, "fine_tuned.h5")


@pytest.fixture(scope="session")
def stock_v2_weights(tmp_path_factory) -> Path:
    return stock_weights_file(tmp_path_factory)


@pytest.fixture(scope="session")
def self_preprocessing_keras(tmp_path_factory) -> Path:
    return model_file(tmp_path_factory, "self_preprocessing.keras")


@pytest.fixture(scope="session")
def sequential_keras(tmp_path_factory) -> Path:
    return model_file(tmp_path_factory, "sequential.keras")


# fine_tuned.keras's five classes, one of them markup: it must reach the page as text.
FIVE_LABELS = "cat\ndog\n<img src=x onerror=alert(1)>\nfox\nowl\n"


def _labels(tmp_path_factory, name: str, text: str) -> Path:
    """A labels file with ``text``, written once per test run: the sites built from it record one path."""
    def make(folder: Path) -> None:
        (folder / name).write_text(text)

    return made_once(tmp_path_factory, f"labels/{name}", make) / name


@pytest.fixture(scope="session")
def labels_file(tmp_path_factory) -> Path:
    """:data:`FIVE_LABELS`, for :func:`fine_tuned_keras`."""
    return _labels(tmp_path_factory, "labels.txt", FIVE_LABELS)


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


def retrain(path: Path) -> None:
    """Change ``path``'s weights as retraining would (its first layer's kernel times 1.01) and save it."""
    from tests.helpers import keras

    model = keras.models.load_model(path, compile=False)
    kernel, *rest = model.layers[0].get_weights()
    model.layers[0].set_weights([kernel * 1.01, *rest])
    model.save(path)


class Sites(Mapping[str, Path]):
    """Built test sites by name, side by side in one folder; each is built when a test first asks for it, once
    per test run for every pytest-xdist worker, so a run builds only the sites its tests read."""

    def __init__(self, tmp_path_factory, kind: str, recipes: dict[str, Callable[[Path], None]]):
        self._factory, self._kind, self._recipes = tmp_path_factory, kind, recipes

    def __getitem__(self, name: str) -> Path:
        recipe = self._recipes[name]

        def make(folder: Path) -> None:
            folder.rmdir()  # the build makes its output folder itself
            recipe(folder)

        return made_once(self._factory, f"{self._kind}/{name}", make)

    def __iter__(self):
        return iter(self._recipes)

    def __len__(self) -> int:
        return len(self._recipes)

    def all_built(self) -> Path:
        """Build every site (if not yet built); the folder they lie in."""
        return [self[name] for name in self][0].parent


@pytest.fixture(scope="session")
def sites(tmp_path_factory) -> Sites:
    """Real built sites: stock MobileNetV2 (--weights PATH), a nested .keras, a Keras-3 .h5, and a
    Sequential model that expects x/255 inputs (--preprocess unit)."""
    model = lambda name: str(model_file(tmp_path_factory, name))  # noqa: E731
    labels = lambda name, text: _labels(tmp_path_factory, name, text)  # noqa: E731
    five = lambda: _labels(tmp_path_factory, "labels.txt", FIVE_LABELS)  # noqa: E731
    four = lambda: labels("labels4.txt", "north\neast\nsouth\nwest\n")  # noqa: E731
    return Sites(tmp_path_factory, "sites", {
        "stock": lambda out: _build(out, model="mobilenet_v2", alpha=0.35, input_size=SIZE,
                                    weights=str(stock_weights_file(tmp_path_factory))),
        "keras": lambda out: _build(out, model=model("fine_tuned.keras"), labels=five(),
                                    title="Fine-tuned <b>test</b>"),
        "h5": lambda out: _build(out, model=model("fine_tuned.h5"),
                                 labels=labels("labels7.json", '["a", "b", "c", "d", "e", "f", "g"]'), top_k=3),
        "seq": lambda out: _build(out, model=model("sequential.keras"), labels=four(), preprocess="unit"),
        "v1-none": lambda out: _build(out, model="mobilenet_v1", alpha=0.25, input_size=64, weights="none"),
        # preprocess: raw, chosen by the build
        "raw": lambda out: _build(out, model=model("self_preprocessing.keras"),
                                  labels=labels("labels6.txt", "1\n2\n3\n4\n5\n6\n")),
        "crop": lambda out: _build(out, model=model("fine_tuned.keras"), labels=five(), resize="crop"),
    })


@pytest.fixture(scope="session")
def publish_sites(tmp_path_factory) -> Sites:
    """Sites built for each host: GitHub Pages (with its files) and Firebase (with firebase.json), and one built
    for no host in particular (any-host)."""
    model = lambda name: str(model_file(tmp_path_factory, name))  # noqa: E731
    four = lambda: _labels(tmp_path_factory, "labels4.txt", "north\neast\nsouth\nwest\n")  # noqa: E731
    five = lambda: _labels(tmp_path_factory, "labels.txt", FIVE_LABELS)  # noqa: E731
    return Sites(tmp_path_factory, "publish", {
        "github-pages": lambda out: _build(out, model=model("fine_tuned.keras"), labels=five(), target="github-pages"),
        "firebase": lambda out: _build(out, model=model("sequential.keras"), labels=four(), preprocess="unit",
                                       target="firebase", firebase_project="demo-browsernet"),
        "any-host": lambda out: _build(out, model=model("sequential.keras"), labels=four(), preprocess="unit"),
    })


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
