"""Shared fixtures. Expensive things (models, built sites, the browser) are session-scoped.

TensorFlow is imported (through tests.helpers) only by the fixtures that make models, so tests that need
no model do not pay for it."""

from __future__ import annotations

from pathlib import Path

import pytest

SIZE = 96


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def fine_tuned_keras(model_dir) -> Path:
    """A Keras 3 nested fine-tuned model saved as .keras."""
    path = model_dir / "fine_tuned.keras"
    from tests import helpers

    helpers.fine_tuned(SIZE).save(path)
    return path


@pytest.fixture(scope="session")
def fine_tuned_h5(model_dir) -> Path:
    """The same kind of model saved by Keras 3 as legacy .h5."""
    path = model_dir / "fine_tuned.h5"
    from tests import helpers

    helpers.fine_tuned(SIZE, classes=7).save(path)
    return path


@pytest.fixture(scope="session")
def stock_v2_weights(model_dir) -> Path:
    from tests import helpers

    return helpers.stock_weights(model_dir / "mobilenet_v2_035_96.weights.h5", "mobilenet_v2", 0.35, SIZE)


@pytest.fixture(scope="session")
def self_preprocessing_keras(model_dir) -> Path:
    """A fine-tuned model with preprocess_input inside it (so the page must send raw pixels)."""
    path = model_dir / "self_preprocessing.keras"
    from tests import helpers

    helpers.fine_tuned(SIZE, classes=6, preprocess_inside=True).save(path)
    return path


@pytest.fixture(scope="session")
def sequential_keras(model_dir) -> Path:
    """A Keras 3 Sequential model (built with an Input)."""
    path = model_dir / "sequential.keras"
    from tests import helpers

    helpers.sequential(64, classes=4, preprocess="unit").save(path)
    return path


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
    root = tmp_path_factory.mktemp("sites")
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
    return {name: root / name for name in ("stock", "keras", "h5", "seq", "v1-none", "raw", "crop")}


@pytest.fixture(scope="session")
def publish_sites(tmp_path_factory, fine_tuned_keras, sequential_keras, labels_file) -> dict[str, Path]:
    """Sites built for each host: GitHub Pages (with its files) and Firebase (with firebase.json)."""
    root = tmp_path_factory.mktemp("publish")
    four = root / "labels4.txt"
    four.write_text("north\neast\nsouth\nwest\n")
    _build(root / "github-pages", model=str(fine_tuned_keras), labels=labels_file, target="github-pages")
    _build(root / "firebase", model=str(sequential_keras), labels=four, preprocess="unit", target="firebase",
           firebase_project="demo-browsernet")
    return {"github-pages": root / "github-pages", "firebase": root / "firebase"}


PROJECT = Path(__file__).resolve().parents[1]
PHOTOS = PROJECT / "tests" / "data" / "photos"  # 41 animal photos in 4 classes (GCompris; see its CREDITS.md)
DEMO_BASE = PROJECT / "models" / "dog_breed_mobilenetv2.h5"  # `make demo-assets` fetches it
TRAIN_EPOCHS = 15  # enough for the head on these photos; early stopping usually ends it sooner


def train_options(out: Path, cache: Path, **kwargs):
    from builder.train.pipeline import TrainOptions

    if not DEMO_BASE.is_file():
        pytest.fail(f"{DEMO_BASE} is missing: run 'make demo-assets' (make test does)")
    return TrainOptions(data=PHOTOS, out=out, cache_dir=cache, **{"base": DEMO_BASE, "epochs": TRAIN_EPOCHS, **kwargs})


@pytest.fixture(scope="session")
def feature_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("feature-cache")


@pytest.fixture(scope="session")
def trained(tmp_path_factory, feature_cache) -> Path:
    """`browsernet train` on the real photos with the demo's MobileNetV2 as the base: the output folder."""
    from builder.train.pipeline import train

    out = tmp_path_factory.mktemp("trained") / "out"
    train(train_options(out, feature_cache))
    return out
