"""The training pipeline: scan and split → base → features (cached) → head → fine-tuning → evaluation → output.

Cheap checks (options, the output folder, every photo decoded) run before TensorFlow is
imported. The output folder is written beside the target and renamed into place only when
complete, so a failure or Ctrl-C leaves the previous output as it was.
"""

from __future__ import annotations

import json
import logging
import math
import time
import zipfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from builder import __version__
from builder.errors import OptionError, TrainError, named
from builder.model.preprocessing import MODES as PREPROCESS_MODES
from builder.progress import Reporter
from builder.site import staging
from builder.train import dataset as photos
from builder.train import near_duplicates
from builder.train import report as records

log = logging.getLogger(__name__)

MAX_BATCH_SIZE = 65_536  # photos per training step; far beyond what fits in memory at a MobileNet's input size


@dataclass(frozen=True)
class TrainOptions:
    data: Path  # one sub-folder of photos per class
    out: Path = Path("trained")
    model: str | None = None  # mobilenet_v1 | mobilenet_v2 (None: mobilenet_v2 unless base is given)
    base: Path | None = None  # a Keras model file whose feature extractor is reused
    alpha: float = 1.0
    input_size: int | None = None  # pixels, square; None: 224 for a stock base, a base file's own
    weights: str = "imagenet"
    preprocess: str | None = None  # what the base expects (None: raw if it rescales itself, else mobilenet)
    validation_percent: float = photos.DEFAULT_VALIDATION_PERCENT
    test_percent: float = photos.DEFAULT_TEST_PERCENT
    epochs: int = 50
    batch_size: int = 32
    learning_rate: float = 1e-2
    dropout: float = 0.2
    patience: int = 5  # early stopping: epochs without a lower validation loss
    fine_tune: int = 0  # unfreeze this many of the base's top layers after training the head
    augment: bool | None = None  # None: on when fine-tuning
    seed: int = 0
    cache_dir: Path | None = None  # None: no feature cache
    force: bool = False
    progress: bool = False  # Keras's per-epoch progress bars (on stdout)

    def recorded(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("data", "out", "base", "cache_dir"):
            data[key] = None if data[key] is None else str(data[key])
        data["augment"] = self.augmenting
        data.pop("progress")
        return data

    @property
    def inputs(self) -> list[Path]:
        """The files training reads besides the photos, which ``--out`` (even with ``--force``) must never replace."""
        files = [self.base] if self.base is not None else []
        return files + ([Path(self.weights)] if self.weights not in ("imagenet", "none") else [])

    @property
    def augmenting(self) -> bool:
        return self.fine_tune > 0 if self.augment is None else self.augment


@dataclass
class TrainResult:
    out: Path
    report: dict[str, Any]
    table: list[str] = field(default_factory=list)  # per-class precision/recall on the test split


def train(opts: TrainOptions, reporter: Reporter | None = None) -> TrainResult:
    """Train a classifier on ``opts.data`` and write it, with its report and plots, to ``opts.out``.

    Raises a :class:`~builder.errors.BrowsernetError` subclass on any failure, in which case
    ``opts.out`` is left untouched.
    """
    reporter = reporter or Reporter()
    started = time.perf_counter()
    seconds: dict[str, float] = {}

    @contextmanager
    def stage(key: str, label: str, *, bars: bool = False) -> Iterator[None]:
        t0 = time.perf_counter()
        if bars:  # Keras draws its own progress bars: announce the stage, then its time
            reporter.note(f"{label}:")
            yield
            seconds[key] = round(time.perf_counter() - t0, 2)
            reporter.note(f"{label}: {seconds[key]:.1f}s")
        else:
            with reporter.step(label):
                yield
            seconds[key] = round(time.perf_counter() - t0, 2)

    check_options(opts)
    foreign = records.foreign_to_output
    kind = "browsernet train output"
    staging.check_target(opts.out, opts.force, foreign, kind, inputs=opts.inputs)
    if opts.cache_dir is not None:  # known before the photos are read and the base is loaded, not after
        cache, data = opts.cache_dir.resolve(), opts.data.resolve()
        if cache == data or data in cache.parents:  # its files would be read as photos by the next run
            raise TrainError(f"--cache-dir {opts.cache_dir}: inside the photo folder {opts.data}; choose a folder "
                             "outside it (the default is ~/.cache/browsernet/features)")
        _refuse_cache_inside(opts.cache_dir, opts.out, "--out")
        staging.check_writable(opts.cache_dir, "--cache-dir")

    with stage("scan", f"checking the photos in {opts.data}"):
        data = photos.scan(opts.data, validation_percent=opts.validation_percent, test_percent=opts.test_percent)
    _notes(data, reporter)

    with stage("tensorflow", "loading TensorFlow"):
        _load_tensorflow(opts.seed)
    from builder.train import evaluate as evaluation
    from builder.train import features as extraction
    from builder.train import fine_tune as tuning
    from builder.train import head as heads
    from builder.train import plots

    import keras

    from builder.train import saving

    paths = [opts.data / im.path for im in data.images]
    digests = [im.sha256 for im in data.images]
    asked = extraction.request(opts.model, opts.base, alpha=opts.alpha, input_size=opts.input_size,
                               weights=opts.weights, preprocess=opts.preprocess)
    # A head-only run whose features are all cached needs the base only for model.keras, which it writes
    # from the template an earlier run with this base kept (builder.train.saving): the base is not loaded.
    base = None if opts.fine_tune else extraction.recall(opts.cache_dir, asked)
    template = None
    if base is not None:
        template = saving.template_path(opts.cache_dir / base.key[:32], keras.__version__)
        if saving.readable(template) and extraction.all_cached(base, digests, opts.cache_dir):
            for line in base.notes:
                reporter.note(line)
        else:
            base = None
    if base is None:
        with stage("base", f"loading the base ({opts.base or opts.model or 'mobilenet_v2'})"):
            base = extraction.load_base(opts.model, opts.base, alpha=opts.alpha, input_size=opts.input_size,
                                        weights=opts.weights, preprocess=opts.preprocess, note=reporter.note)
        extraction.remember(opts.cache_dir, asked, base)
    if opts.fine_tune:
        tuning.check_count(base.extractor, opts.fine_tune)  # before any training time
    with stage("features", f"features of {len(paths)} photos"):
        extracted = extraction.extract(base, paths, digests, opts.cache_dir)
    speed = extracted.images_per_second
    reporter.note(f"features: {extracted.cached} cached, {extracted.computed} computed"
                  + (f" ({speed:.1f} images/s)" if speed else ""))
    copies = []
    if base.identity.get("weights") == "none":  # a random base's features point alike for every photo
        reporter.note("note: near-copies across the splits are not looked for: the base has random weights")
    else:
        copies = near_duplicates.find(extracted.features, [im.path for im in data.images],
                                      [im.split for im in data.images], [data.classes[im.label] for im in data.images])
    for line in near_duplicates.warnings_for(copies):
        reporter.note(line)
    extractor_trained_on = _extractor_trained_on(opts.base)
    seen_by_base = sorted(im.path.as_posix() for im in data.split("test") if im.sha256 in extractor_trained_on)
    if seen_by_base:
        reporter.note(f"warning: {len(seen_by_base)} test photo(s) trained the base (its {records.REPORT_FILE} lists "
                      f"them): {named(seen_by_base)}; the test "
                      "accuracy counts them as unseen, so it is optimistic: give --validation-percent and "
                      "--test-percent as the base's run had them, so that its training photos stay in training")
    index = {name: np.array([i for i, im in enumerate(data.images) if im.split == name], np.int64)
             for name in photos.SPLITS}
    labels_all = np.array([im.label for im in data.images], np.int64)
    labels = {name: labels_all[idx] for name, idx in index.items()}
    settings = heads.Settings(epochs=opts.epochs, batch_size=opts.batch_size, learning_rate=opts.learning_rate,
                              dropout=opts.dropout, patience=opts.patience, seed=opts.seed, verbose=opts.progress)

    with stage("head", f"training the head ({base.dimension} features → {len(data.classes)} classes, "
                       f"{len(index['train'])} photos)", bars=opts.progress):
        head = heads.train({name: extracted.features[idx] for name, idx in index.items()}, labels,
                           len(data.classes), settings)
    model = heads.inference_model(base.extractor, head, base.input_size, base.preprocess) if base.loaded else None

    tuned = None
    if opts.fine_tune:
        with stage("decode", "decoding the photos for fine-tuning"):
            pixels = {name: _pixels(index[name], paths, digests, base.input_size) for name in ("train", "validation")}
        with stage("fine_tune", f"fine-tuning the top {opts.fine_tune} layers of the base", bars=opts.progress):
            tuned = tuning.run(model, base.extractor, pixels, labels, opts.fine_tune, opts.augmenting, settings)
        del pixels

    with stage("evaluate", "evaluating on the held-out photos"):
        scores = {}
        for name in ("validation", "test"):
            idx = index[name]
            if tuned is None:  # the same function as the model: frozen features through the head
                probabilities = np.asarray(head.dense(head.dropout(extracted.features[idx], training=False)))
            else:
                x = _pixels(idx, paths, digests, base.input_size)
                probabilities = extraction.predict(model, x) if len(idx) else np.zeros((0, len(data.classes)))
            if not np.isfinite(probabilities).all():
                raise TrainError(f"training diverged: the model's outputs on the {name} photos are NaN or infinite; "
                                 f"lower --learning-rate (now {opts.learning_rate:g}"
                                 + ("; fine-tuning uses a hundredth of it" if opts.fine_tune else "") + ")")
            scores[name] = evaluation.evaluate(probabilities.reshape(len(idx), len(data.classes)), labels[name],
                                               data.classes, [data.images[i].path.as_posix() for i in idx])

    with staging.staging(opts.out) as folder:
        with stage("write", f"writing {opts.out}/"):
            model_path = folder / records.MODEL_FILE
            _save(model, head, base, template, model_path, tuned is None, opts.cache_dir)
            (folder / records.LABELS_FILE).write_text("".join(f"{c}\n" for c in data.classes), encoding="utf-8")
            split_dir = folder / records.SPLITS_DIR
            split_dir.mkdir()
            for name in photos.SPLITS:
                (split_dir / f"{name}.txt").write_text(
                    "".join(f"{im.path.as_posix()}\n" for im in data.split(name)), encoding="utf-8")
            stages = [("head", head.history)] + ([("fine-tuning", tuned.history)] if tuned else [])
            plots.curves(folder / plots.CURVES, stages)
            test = scores["test"]
            title = "Test split" + ("" if test.accuracy is None else f": accuracy {test.accuracy:.1%}")
            plots.confusion(folder / plots.CONFUSION, test.confusion_matrix, data.classes, title)
        seconds["total"] = round(time.perf_counter() - started, 2)
        if tuned:  # the extractor's weights now also come from this run's training photos (validation chose the epoch)
            extractor_trained_on |= {im.sha256 for split in ("train", "validation") for im in data.split(split)}
        result = _report(opts, data, base, extracted, head, tuned, scores, seconds, model_path, copies, seen_by_base,
                         extractor_trained_on)
        (folder / records.REPORT_FILE).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        staging.swap(folder, opts.out, opts.force, foreign, kind, inputs=opts.inputs)
    return TrainResult(opts.out, result, evaluation.table(scores["test"]))


def _save(model, head, base, template: Path | None, path: Path, head_only: bool, cache_dir: Path | None) -> None:
    """Write ``model.keras``: through Keras when the base is loaded (keeping a head-only run's file as the
    template for the next runs with this base), else from the template with ``head``."""
    import keras

    from builder.train import saving

    if model is None:
        try:
            saving.compose(template, head.model, path, keras.__version__)
            return
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
            raise TrainError(f"{template}: a cached model template that cannot be used ({e}); "
                             "delete it, or pass --no-cache") from e
    try:
        model.save(path)
    except Exception as e:  # Keras's saving raises many kinds
        raise TrainError(f"could not save the model: {e}") from e
    if head_only and cache_dir is not None:
        saving.keep(path, saving.template_path(cache_dir / base.key[:32], keras.__version__))


def site_cname(site: Path, target: str) -> str | None:
    """The custom domain ``train --build-site`` writes for ``target``: for GitHub Pages, the one the previous site
    at ``site`` has in its CNAME (train has no --cname of its own), so that a retrained site keeps its domain."""
    from builder.site import hosting

    return hosting.read_cname(site) if target == hosting.GITHUB_PAGES else None


def check_site_target(site: Path, opts: TrainOptions, target: str = "generic") -> None:
    """``train --build-site SITE_DIR``: raise (one line) unless the site may go to ``site``, checked before
    training: not the training output ``--out`` or the photo folder (nor inside or around either), holding
    none of the files training reads (the base, a weights file; not even with ``--force``), and absent, empty,
    a previous site, or ``--force``; a previous site's host files are checked for the build for ``target``
    (:func:`builder.build.check_previous_hosting`)."""
    resolved = site.resolve()
    for other, what in ((opts.out.resolve(), f"the training output --out {opts.out}"),
                        (opts.data.resolve(), f"the photo folder {opts.data}")):
        if resolved == other or other in resolved.parents or resolved in other.parents:
            raise TrainError(f"--build-site {site}: overlaps {what}; choose a separate folder for the site")
    staging.check_target(site, opts.force, inputs=opts.inputs, option="--build-site")
    from builder.build import check_previous_hosting

    # What the user added to a previous site's host files; a GitHub Pages build keeps its custom domain.
    check_previous_hosting(site, target, opts.force, site_cname(site, target), keep_domain="--target github-pages")
    if opts.cache_dir is not None:
        _refuse_cache_inside(opts.cache_dir, site, "--build-site")


def _refuse_cache_inside(cache: Path, folder: Path, option: str) -> None:
    """A feature cache inside an output folder would be deleted with it when the next run replaces it (after
    all the training, and with ``--force`` without a word): refuse it before anything runs."""
    where, resolved = cache.resolve(), folder.resolve()
    if where == resolved or resolved in where.parents:
        raise TrainError(f"the feature cache {cache} (--cache-dir) is inside {option} {folder}, which each run "
                         "replaces; give --cache-dir a folder outside it (the default is ~/.cache/browsernet/features)")


def check_options(opts: TrainOptions) -> None:
    """Raise (one line) for options that cannot be used: :class:`~builder.errors.OptionError` for a value out
    of range or options that contradict each other, :class:`~builder.errors.ModelError` for a --base that is not
    a model file. Cheap: the CLI calls it before it starts anything."""
    from builder.model.zoo import STOCK, check_file, check_input_size, stock_only_options

    check_input_size(opts.input_size)

    if opts.base is not None and opts.model is not None:
        raise OptionError("give --model or --base, not both")
    if opts.model is not None and opts.model not in STOCK:
        raise OptionError(f"--model {opts.model}: choose from {', '.join(STOCK)} (or --base FILE for a model file)")
    if opts.base is not None:
        if str(opts.base) in STOCK and not opts.base.exists():
            raise OptionError(f"--base {opts.base}: a stock model; give it as --model {opts.base} (--base is for a "
                             "model file)")
        check_file(opts.base, stock=f"a stock base: --model {' / '.join(STOCK)}")
        given = stock_only_options(opts.alpha, opts.weights)
        if given:
            raise OptionError(f"{', '.join(given)}: for a stock base (--model); the --base file has its own")
    if opts.preprocess is not None and opts.preprocess not in PREPROCESS_MODES:
        raise OptionError(f"--preprocess {opts.preprocess}: choose from {', '.join(PREPROCESS_MODES)}")
    for name, value, low in (("--epochs", opts.epochs, 1), ("--batch-size", opts.batch_size, 1),
                             ("--patience", opts.patience, 1), ("--fine-tune", opts.fine_tune, 0)):
        if value < low:
            raise OptionError(f"{name} must be at least {low}, got {value}")
    if not 0 < opts.learning_rate < math.inf:
        raise OptionError(f"--learning-rate must be a positive number, got {opts.learning_rate:g}")
    if opts.batch_size > MAX_BATCH_SIZE:
        raise OptionError(f"--batch-size must be at most {MAX_BATCH_SIZE:,}, got {opts.batch_size:,}")
    if not 0 <= opts.dropout < 1:
        raise OptionError(f"--dropout must be in [0, 1), got {opts.dropout:g}")
    photos.check_percentages(opts.validation_percent, opts.test_percent)
    data, out = opts.data.resolve(), opts.out.resolve()
    if out == data or data in out.parents:
        raise TrainError(f"--out {opts.out} is inside the photo folder {opts.data}; it would become a class")
    if out in data.parents:
        raise TrainError(f"--out {opts.out} contains the photo folder {opts.data}; replacing it would delete them")


def _notes(data: photos.Dataset, reporter: Reporter) -> None:
    loose = [f for f in data.skipped if "/" not in f]  # beside the class folders: in no class
    for files, why in (([f for f in data.skipped if "/" in f], "that are not images"),
                       (loose, f"outside the class folders of {data.root}")):
        if files:
            reporter.note(f"warning: skipped {len(files)} file(s) {why}: {named(files, 10)}")
    if data.broken_links:
        reporter.note(f"warning: skipped {len(data.broken_links)} link(s) that point nowhere: "
                      f"{named(data.broken_links, 10)}")
    if data.duplicates:
        reporter.note(f"warning: {len(data.duplicates)} duplicate photo(s) counted once: "
                      + named([f"{d} = {o}" for d, o in data.duplicates.items()], most=5))
    counts = data.counts()
    for split in ("validation", "test"):
        empty = [c for c, row in counts.items() if row[split] == 0]
        if empty:
            reporter.note(f"note: no {split} photo in {', '.join(empty)} (the content-hash split); "
                          f"{'its recall is not measured' if split == 'test' else 'add photos to measure it'}")
    totals = {s: sum(row[s] for row in counts.values()) for s in photos.SPLITS}
    reporter.note(f"{len(data.images)} photos in {len(data.classes)} classes: {totals['train']} training, "
                  f"{totals['validation']} validation, {totals['test']} test")


def _load_tensorflow(seed: int) -> None:
    from builder.model import tf_runtime

    tf_runtime.load(converter=False)
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()  # the same command gives the same figures


def _pixels(indices, paths: list[Path], digests: list[str], size: tuple[int, int]) -> np.ndarray:
    """The photos ``paths[i]`` for ``i`` in ``indices`` as the page feeds them, each still the photo the split
    knows by ``digests[i]`` (features.photo_pixels)."""
    from builder.train.features import photo_pixels

    if not len(indices):
        return np.zeros((0, *size, 3), np.float32)
    return np.stack([photo_pixels(paths[i], digests[i], size) for i in indices])


def _rounded(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def _extractor_trained_on(base: Path | None) -> set[str]:
    """The sha256 of every photo that trained the feature extractor of ``base`` (or chose the epoch its training
    stopped at), when browsernet trained it (its train-report.json beside it names it): its own photos if its run
    fine-tuned the extractor, and those its own base's extractor had. A run that trained only the head trained
    nothing the next run keeps: the head is cut away. The split is by content hash, so other --test-percent or
    --validation-percent than those runs had move some of these photos into this run's test."""
    trained = records.beside(base) if base is not None else None
    if trained is None:
        return set()
    report = trained.report
    if "feature_extractor" in report:
        return set(report["feature_extractor"].get("trained_on") or [])
    # A report written before browsernet recorded it: its training photos, as it then counted them.
    record = report.get("data") or {}
    hashes, splits = record.get("sha256") or {}, record.get("splits") or {}
    return {hashes.get(path) for path in splits.get("train") or []} - {None}


def _report(opts: TrainOptions, data: photos.Dataset, base, extracted, head, tuned, scores: dict, seconds: dict,
            model_path: Path, copies: list | None = None, seen_by_base: list[str] | None = None,
            extractor_trained_on: set[str] | None = None) -> dict[str, Any]:
    from builder.report import sha256_of
    from builder.train import head as heads

    counts = data.counts()
    counts_total = {s: sum(row[s] for row in counts.values()) for s in (*photos.SPLITS, "total")}
    identity = base.identity
    name = (str(opts.base) if "sha256" in identity
            else f"{identity['base']} (alpha {identity['alpha']:g}, {base.input_size[0]} px, {identity['weights']} weights)")
    record: dict[str, Any] = {
        "generator": records.GENERATOR,
        "version": __version__,
        "classes": data.classes,
        "images": {**counts, "total": counts_total},
        "skipped": data.skipped,
        "duplicates": data.duplicates,
        # Photos that are one picture in other bytes, in two splits or two classes (builder.train.near_duplicates).
        "near_duplicates": [d.as_dict() for d in copies or []],
        "data": {"folder": str(data.root.resolve()),
                 "split": {"method": "sha256 of each file's bytes: the first 64 bits as a fraction of 2^64 below "
                                     "test% is test, below test% + validation% validation, else training",
                           "validation_percent": opts.validation_percent, "test_percent": opts.test_percent},
                 "splits": {s: [im.path.as_posix() for im in data.split(s)] for s in photos.SPLITS},
                 # build-site calibrates on the validation and training photos and measures the test ones: every
                 # photo's content, so that a changed one is noticed.
                 "sha256": {im.path.as_posix(): im.sha256 for im in data.images}},
        "base": {"name": name, "family": base.family, "input_size": list(base.input_size),
                 "features": base.dimension, "preprocess": base.preprocess, "identity": identity},
        # What model.keras takes: raw 0..255 pixels, squashed to input_size (it rescales them itself).
        "input": {"size": list(base.input_size), "pixels": "raw 0..255 RGB", "resize": "squash"},
        # The photos (sha256) whose content trained model.keras's feature extractor, in this run (fine-tuning) or
        # in a browsernet run it continues from: a run continuing from this model must not test on them.
        "feature_extractor": {"trained_on": sorted(extractor_trained_on or [])},
        "options": opts.recorded(),
        "history": {"head": head.history, **({"fine_tune": tuned.history} if tuned else {})},
        "head": {"epochs": len(head.history), "best_epoch": head.best_epoch, "stopped_early": head.stopped_early},
        "epoch_seconds": {"head": [round(t, 3) for t in head.epoch_seconds],
                          **({"fine_tune": [round(t, 3) for t in tuned.epoch_seconds]} if tuned else {})},
        "validation": {"images": scores["validation"].images, "accuracy": scores["validation"].accuracy},
        # The test photos training saw: a near-copy in training, or the photo itself training the base (a model
        # browsernet trained, continued from). The test accuracy counts them as unseen.
        "test": {**scores["test"].as_dict(), "near_copies_in_training": len(
            set(near_duplicates.seen_in_training(copies or [])) | set(seen_by_base or [])),
            "trained_the_base": list(seen_by_base or [])},
        "cache": {"dir": None if opts.cache_dir is None else str(opts.cache_dir), "key": base.key,
                  "hits": extracted.cached, "computed": extracted.computed},
        "throughput": {"feature_extraction_images_per_second":
                       None if extracted.images_per_second is None else round(extracted.images_per_second, 2),
                       "head_training_images_per_second": _rounded(heads.images_per_second(
                           counts_total["train"], head.epoch_seconds))},
        "seconds": seconds,
        "model": {"file": records.MODEL_FILE, "sha256": sha256_of(model_path)},
    }
    if tuned:
        record["fine_tune"] = {"layers": len(tuned.unfrozen), "unfrozen": tuned.unfrozen,
                               "learning_rate": tuned.learning_rate, "augment": tuned.augment,
                               "epochs": len(tuned.history), "best_epoch": tuned.best_epoch,
                               "stopped_early": tuned.stopped_early}
        record["throughput"]["fine_tune_images_per_second"] = (None if tuned.images_per_second is None
                                                                else round(tuned.images_per_second, 2))
    return record
