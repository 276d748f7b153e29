"""``train-report.json``: what a training run measured, and how ``build-site`` finds it beside a model.

``build-site --model DIR/model.keras`` calls :func:`beside`: when ``DIR`` holds a training
report whose recorded model hash is that file's, the build takes ``labels.txt`` from there,
shows the test figures on the model card, and calibrates ``--quantize auto`` on the model's
own validation and training photos, then scores each dtype map on its test photos against their true labels.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

log = logging.getLogger(__name__)

REPORT_FILE = "train-report.json"
MODEL_FILE = "model.keras"
LABELS_FILE = "labels.txt"
SPLITS_DIR = "splits"
GENERATOR = "browsernet train"


def read(folder: Path) -> dict[str, Any] | None:
    """The training report in ``folder``, or None if there is none (or it is not one)."""
    try:
        data = json.loads((folder / REPORT_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("generator") == GENERATOR else None


def foreign_to_output(folder: Path) -> list[str] | None:
    """The files in ``folder`` that the ``browsernet train`` run there did not write (notes, a backup of a
    model), relative to it; None when ``folder`` is no training output. A new run replaces the folder."""
    if read(folder) is None:
        return None
    from builder.train import plots

    from builder.train.dataset import SPLITS

    written = {REPORT_FILE, MODEL_FILE, LABELS_FILE, plots.CURVES, plots.CONFUSION}
    splits = {f"{SPLITS_DIR}/{name}.txt" for name in SPLITS}
    return [path for path in (p.relative_to(folder).as_posix() for p in sorted(folder.rglob("*")) if p.is_file())
            if path not in written and path not in splits]


@dataclass
class Trained:
    """A model file written by ``browsernet train``, with its report."""

    model: Path
    labels: Path | None  # its labels.txt; None when that file is gone (the report's classes still name them)
    report: dict[str, Any]

    @property
    def photo_folder(self) -> Path | None:
        """The folder of photos it was trained on, as its report records it (None if the report names none)."""
        data = self.report.get("data")
        folder = data.get("folder") if isinstance(data, dict) else None
        return Path(folder) if isinstance(folder, str) and folder else None

    @property
    def preprocess(self) -> str | None:
        """The --preprocess mode of the pixels the model was trained on ("raw": train puts the input scaling inside
        the model), or None where the report does not say."""
        pixels = str(self.report.get("input", {}).get("pixels", ""))
        return "raw" if pixels.startswith("raw") else None

    @property
    def classes(self) -> list[str]:
        """The class names in the order of the model's outputs, as training found them (its folder names)."""
        return list(self.report["classes"])

    def check_labels(self, labels: list[str], source: str | Path) -> str | None:
        """Hold the labels a site will show (from ``source``) to the classes the model was trained on.

        The same names in another order would name every prediction wrongly without a sign of it, so that
        raises :class:`~builder.errors.LabelsError`, naming the first output that would be misnamed; so does
        any training class name given to another output, in any case or spacing ("Birds" for 'carnivores'
        when 'birds' is another output). Other names for the same outputs (a translation, capitals) are fine:
        returns a note saying which ones differ. A count that differs is left to the check against the
        model's outputs."""
        from builder.errors import LabelsError
        from builder.model.labels import comparable

        classes = self.classes
        # A labels file's lines are read without the spaces at their ends, so a class folder named with them
        # (' cats') is the same label there.
        if len(labels) != len(classes) or labels == [cls.strip() for cls in classes]:
            return None
        keys = [comparable(cls) for cls in classes]
        for i, (label, cls) in enumerate(zip(labels, classes)):
            if comparable(label) != keys[i] and comparable(label) in keys:
                raise LabelsError(
                    f"{source}: output {i} of {self.model} was trained as '{cls}' (its {REPORT_FILE}), but these "
                    f"labels name it '{label}', the name of output {keys.index(comparable(label))}: the page would "
                    f"name its predictions wrongly; give the labels in the training order ({', '.join(classes)})")
        renamed = [f"'{cls}' as '{label}'" for label, cls in zip(labels, classes) if label != cls.strip()]
        return (f"{source}: names {len(renamed)} of the classes {self.model} was trained on differently "
                f"({', '.join(renamed[:3])}{', …' if len(renamed) > 3 else ''}); the page shows these labels")

    def card(self, labels: list[str] | None = None) -> dict[str, Any]:
        """What the site's model card shows: test accuracy, per-class precision/recall, image counts; each
        class under the site's label for it (``labels``, in output order), else its training name."""
        test = self.report["test"]
        shown = dict(zip(self.classes, labels or self.classes))
        return {
            "test_accuracy": test["accuracy"],
            "test_accuracy_95ci": _interval(test),
            "test_images": test["images"],
            "test_near_copies": test.get("near_copies_in_training", 0),  # seen: a near-copy in training/validation
            "validation_accuracy": self.report["validation"]["accuracy"],
            "train_images": self.report["images"]["total"]["train"],
            "per_class": {shown.get(name, name): {k: m[k] for k in ("precision", "recall", "support")}
                          for name, m in test["per_class"].items()},
            "base": self._base_name(),
        }

    def _base_name(self) -> str:
        """The base as the published card names it: a model file by its name alone (train records ``--base`` as
        typed, ``../models/base.h5``: no folder of the training machine goes out with the site), a stock base by
        its family and settings, a ``--weights`` file among them by its name alone too."""
        base = self.report["base"]
        identity = base.get("identity") if isinstance(base.get("identity"), dict) else {}
        if "sha256" in identity:
            return Path(base["name"]).name
        weights = identity.get("weights")
        if isinstance(weights, str) and weights not in ("imagenet", "none"):
            return base["name"].replace(weights, Path(weights).name)
        return base["name"]

    def photos(self, split: str, at_most: int | None = None,
               leave_out: set[str] = frozenset()) -> tuple[list[Path], np.ndarray] | str:
        """The photos of ``split`` ("train", "validation" or "test") as (paths, true class indices), or why
        they cannot be used: a photo moved or deleted (the data folder moved, or a photo was removed since
        training), or one whose content is not what training recorded (another photo saved under its name).
        ``at_most``: that many, spread evenly over the split (sorted by path, so over the classes); ``leave_out``:
        paths (relative to the photo folder) to leave out."""
        from builder.report import sha256_of

        root = Path(self.report["data"]["folder"])
        classes = self.report["classes"]
        # Every photo's content ("held_out_sha256": only validation and test, in reports before 2 Dec 2026).
        recorded = self.report["data"].get("sha256") or self.report["data"].get("held_out_sha256", {})
        names = [n for n in self.report["data"]["splits"].get(split, []) if n not in leave_out]
        if at_most is not None and len(names) > at_most:
            names = [names[int(i)] for i in np.linspace(0, len(names) - 1, at_most).round()]
        paths, labels = [], []
        for rel in names:
            path = root / rel
            if not path.is_file():
                return f"{path} is gone"
            if rel in recorded and sha256_of(path) != recorded[rel]:
                return f"{path} has changed since training"
            paths.append(path)
            labels.append(classes.index(Path(rel).parts[0]))
        return paths, np.asarray(labels, np.int64)


def beside(model: str | Path) -> Trained | None:
    """The training record of the model file ``model`` (a ``--model`` argument) if ``browsernet train``
    wrote it: its report beside it names this very file by SHA-256. Else (a stock model name, another
    file) None."""
    from builder.report import sha256_of

    model = Path(model)
    if model.suffix.lower() != ".keras" or not model.is_file():
        return None
    data = read(model.parent)
    if data is None:
        return None
    if data.get("model", {}).get("sha256") != sha256_of(model):
        log.info("%s: %s describes another model file; not using it", model, REPORT_FILE)
        return None
    labels = model.parent / LABELS_FILE
    return Trained(model, labels if labels.is_file() else None, data)


# --quantize auto on a trained model calibrates on its validation photos and on training photos up to this many
# in all: enough for a search whose cost grows with the images, and never a test photo.
CALIBRATION_PHOTOS = 100


@dataclass
class Photos:
    """A trained model's photos for ``--quantize auto``: what it calibrates on, and the test photos on which the
    chosen weight dtypes are then measured against the true classes (none: nothing to measure)."""

    calibration: Any  # builder.convert.calibration.CalibrationSet: validation photos, then training ones
    test_images: np.ndarray  # (N, H, W, 3) float32 0..255, as the page feeds the model
    test_labels: np.ndarray  # (N,) true class indices


def quantization_photos(trained: Trained, size: tuple[int, int], rule: str,
                        note: Callable[[str], None] = log.warning) -> Photos | None:
    """The model's own photos as the page sees them, for ``--quantize auto``: it calibrates on validation and
    training photos (:data:`CALIBRATION_PHOTOS` at most), so that the test photos, which choose nothing, give
    the shipped weights' honest test accuracy. None, after ``note`` has said why (a photo gone, changed or no
    longer an image) and that the built-in set is used."""
    from PIL import UnidentifiedImageError

    from builder.convert.calibration import CalibrationSet
    from builder.model import page_input

    def unusable(why: str) -> None:
        note(f"note: the photos of training cannot be used ({why}); --quantize auto calibrates on the built-in "
             "images instead (or give --calibration DIR), and the test accuracy of the stored weights is not "
             "measured")

    from builder.train.near_duplicates import seen_in_training

    # A training or validation photo that is a near-copy of a test photo would let the test photos choose after all.
    copies_of_test = {copy for copies in seen_in_training(trained.report.get("near_duplicates", [])).values()
                      for copy in copies}

    def pixels(split: str, at_most: int | None = None, leave_out: set[str] = frozenset()):
        found = trained.photos(split, at_most, leave_out)
        if isinstance(found, str):
            return found
        paths, labels = found
        images = []
        for path in paths:
            try:
                images.append(page_input.resize_to_input(page_input.decode(path), size, rule))
            except (UnidentifiedImageError, OSError, ValueError) as e:
                return f"{path} is not an image any more ({str(e).splitlines()[0][:120]})"
        return (np.stack(images) if images else np.zeros((0, *size, 3), np.float32)), labels

    validation = pixels("validation", CALIBRATION_PHOTOS, leave_out=copies_of_test)
    if isinstance(validation, str):
        return unusable(validation)
    training = pixels("train", CALIBRATION_PHOTOS - len(validation[0]), leave_out=copies_of_test)
    if isinstance(training, str):
        return unusable(training)
    count = len(validation[0]) + len(training[0])
    if count == 0:
        return unusable("no validation or training photo is listed")
    calibration = CalibrationSet(np.concatenate([validation[0], training[0]]), f"the validation and training "
                                 f"photos of {trained.report['data']['folder']} (no test photo)", count)
    test = pixels("test")
    if isinstance(test, str):  # the calibration stands; only the test measure is lost
        note(f"note: the test photos of training cannot be used ({test}); the test accuracy of the stored weights "
             "is not measured")
        return Photos(calibration, np.zeros((0, *size, 3), np.float32), np.zeros(0, np.int64))
    return Photos(calibration, *test)


def _interval(test: dict) -> list[float] | None:
    """The test accuracy's 95% confidence interval, [low, high]; from its accuracy and image count for a report
    written before train recorded it (the count right is accuracy × images, a whole number)."""
    if test.get("accuracy_95ci"):
        return list(test["accuracy_95ci"])
    if test.get("accuracy") is None or not test.get("images"):
        return None
    from builder.train.evaluate import accuracy_interval

    return list(accuracy_interval(round(test["accuracy"] * test["images"]), test["images"]))
