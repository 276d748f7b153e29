"""The build pipeline: resolve → convert → self-check → render → vendor → compress → report → swap.

Cheap checks (output folder, runtime, labels file, quantization options) run before
TensorFlow is even imported, so a typo fails in a second, not after a model load.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from builder import __version__
from builder.convert import quantization as quantize
from builder.errors import BrowsernetError, OptionError, OutputDirError, WeightsError, named
from builder.model import labels as labelling
from builder.model import preprocessing
from builder.model import tf_runtime
from builder.model.preprocessing import MODES as PREPROCESS_MODES
from builder.progress import Reporter
from builder.site import hosting, inventory, page_scripts, precompress, pwa, render, vendor
from builder.site import staging as output
from builder.train import report as training
from builder.report import REPORT_FILE, BuildReport, source_record
from builder.report import read as read_build_report

if TYPE_CHECKING:
    from builder.convert.heads import Head

log = logging.getLogger(__name__)

DEFAULT_SHARD_SIZE = 4 * 1024 * 1024
MAX_SHARDS = 500  # the page fetches every shard at once (see _check_shard_count)
DEFAULT_TOP_K = 5
# How the page fits an image to the model's input: "squash" resizes ignoring the aspect
# ratio (Keras's image_dataset_from_directory default), "crop" first takes the largest
# centred box of the input's aspect ratio (its crop_to_aspect_ratio=True). Both bilinear.
RESIZE_RULES = ("squash", "crop")
NO_QUANTIZE = "none"  # --quantize none: every weight float32 (the default's opposite for stock ImageNet builds)


@dataclass(frozen=True)
class BuildOptions:
    model: str = "mobilenet_v2"
    alpha: float = 1.0
    input_size: int | None = None  # pixels, square; None: 224 for a stock model, a model file's own
    weights: str = "imagenet"
    labels: Path | None = None
    preprocess: str | None = None  # None: the model's default (mobilenet for MobileNets)
    scaled_twice: bool = False  # --preprocess's scaling before the model's own, as it was trained (else refused)
    quantize: tuple[str, ...] = ()  # () means the default: see default_quantize()
    calibration: Path | None = None  # --quantize auto: a folder of images (None: the built-in set)
    agreement: float | None = None  # --quantize auto: min top-1 agreement (None: autoquant.AGREEMENT)
    max_prob_error: float | None = None  # --quantize auto: bound on |p - p_float32| (None: autoquant.MAX_PROB_ERROR)
    shard_size: int = DEFAULT_SHARD_SIZE
    out: Path = Path("site")
    title: str | None = None
    top_k: int = DEFAULT_TOP_K
    resize: str = "squash"
    wasm_threads: str = "auto"  # WASM threads in the page: "auto" (every CPU) or a count
    force: bool = False
    target: str = hosting.GENERIC  # where the site will be published: generic, github-pages, firebase
    cname: str | None = None  # github-pages: custom domain
    firebase_project: str | None = None  # firebase: default project ID
    optimize: bool = True  # fold BatchNorms, fuse ReLUs, drop Dropout (--no-optimize: write the layers as they are)
    minimalistic: bool = False  # MobileNetV3: Keras's minimalistic variant
    head: str = "auto"  # what the model outputs (builder.convert.heads): auto, softmax, logits, sigmoid, logit

    def __post_init__(self) -> None:
        """Options that cannot work together, or a value out of range, fail here, in one line, before
        TensorFlow is imported (:class:`~builder.errors.BrowsernetError`)."""
        _check_options(self)

    def recorded(self) -> dict:
        """The options as written to report.json (paths as strings)."""
        data = asdict(self)
        data["labels"] = None if self.labels is None else str(self.labels)
        data["out"] = str(self.out)
        data["quantize"] = list(self.quantize)
        data["calibration"] = None if self.calibration is None else str(self.calibration)
        from builder.model.zoo import is_stock

        if not is_stock(self.model):  # a model file brings its own width and weights: these did not apply
            data["alpha"] = data["weights"] = None
        return data


def build(opts: BuildOptions, reporter: Reporter | None = None) -> BuildReport:
    """Build the site described by ``opts`` into ``opts.out``; return its report.

    Raises a :class:`~builder.errors.BrowsernetError` subclass on any failure, in
    which case ``opts.out`` is left untouched.
    """
    reporter = reporter or Reporter()
    started = time.perf_counter()
    trained = training.beside(opts.model)  # a `browsernet train` model: labels, test figures, its photos
    output.check_target(opts.out, opts.force, inputs=_inputs(opts, trained))
    runtime = vendor.locate()
    scripts = page_scripts.locate(runtime, render.TEMPLATES)
    specs = default_quantize(opts)
    auto = quantize.is_auto(specs)
    qmap = {} if auto or specs == (NO_QUANTIZE,) else quantize.parse(specs)
    if trained is not None and opts.labels is None:
        opts = replace(opts, labels=trained.labels)
    user_labels = labelling.read(opts.labels) if opts.labels is not None else None
    labels_source = None if opts.labels is None else str(opts.labels)
    if user_labels is None and trained is not None:  # its labels.txt is gone: the report names the classes
        user_labels, labels_source = trained.classes, str(Path(opts.model).parent / training.REPORT_FILE)
    if user_labels is not None and labelling.numbered(user_labels):
        user_labels = labelling.without_numbers(user_labels)
        reporter.note(f"{opts.labels}: numbered labels ('0 {user_labels[0]}', as Teachable Machine writes them); "
                      "the page shows them without the numbers")
    for label, where in (labelling.repeated(user_labels) if user_labels is not None else {}).items():
        reporter.note(f"{opts.labels}: '{label}' names {len(where)} classes (labels {', '.join(map(str, where))}); "
                      "the page will show them alike")
    if trained is not None and user_labels is not None:
        renamed = trained.check_labels(user_labels, labels_source)
        if renamed:
            reporter.note(renamed)
    if trained is not None and opts.preprocess is not None and trained.preprocess not in (None, opts.preprocess):
        # The tool knows this one for certain: a page that scales the pixels otherwise is wrong on every image.
        raise BrowsernetError(
            f"--preprocess {opts.preprocess}: {opts.model} was written by browsernet train, which puts the input "
            f"scaling inside the model, so it takes {preprocessing.RANGES[trained.preprocess]} "
            f"({training.REPORT_FILE}); leave --preprocess out")
    trained_resize = trained.report.get("input", {}).get("resize") if trained is not None else None
    if trained_resize and trained_resize != opts.resize:
        reporter.note(f"--resize {opts.resize}: {opts.model} was trained, and its test figures measured, on photos "
                      f"fitted by '{trained_resize}'; the page will fit visitors' images by '{opts.resize}'")

    with reporter.step("loading TensorFlow"):
        tf_runtime.load()
    from builder.convert import layers_model as convert
    from builder.model import zoo as models
    from builder.convert import self_check as parity

    with reporter.step(f"loading {opts.model}"):
        model, info = models.load(opts.model, alpha=opts.alpha, input_size=opts.input_size, weights=opts.weights,
                                  minimalistic=opts.minimalistic, note=reporter.note)
    if info.mixed_precision:
        reporter.note(f"{info.source}: saved with mixed precision ({info.mixed_precision}); the site computes in "
                      "float32, so it is built and checked against the same model computing in float32")
    from builder.convert import heads

    model, info, head, graph, lowered = heads.prepare(model, info, opts.head, reporter)
    labels, labels_source = _labels_for(info, user_labels, labels_source, head)
    with reporter.step("reading the model and rewriting it for inference"):
        plan = convert.plan(model, info.source, optimize=opts.optimize, graph=graph)
    preprocess = preprocessing.choose(opts.preprocess, plan.input_scaling, info.family, plan.where, reporter.note,
                                      scaled_twice=opts.scaled_twice)
    if opts.preprocess is None and plan.input_scaling is not None:
        reporter.note(f"the model rescales its own input, made for {preprocessing.RANGES[preprocess]}, so the page "
                      f"feeds it those (--preprocess {preprocess})")
    from builder.convert.self_check import sample_images
    from builder.model.preprocessing import apply as scaled

    heads.check_probabilities(model, scaled(sample_images(info.input_size), preprocess), info.source, head)
    choice = calibration = tested = None
    if auto:
        from builder.convert import mixed_precision as autoquant
        from builder.convert import calibration as calibrate
        from builder.model.preprocessing import apply as preprocessed

        with reporter.step("calibration images"):
            own = None if trained is None or opts.calibration is not None else \
                training.quantization_photos(trained, info.input_size, opts.resize, note=reporter.note)
            calibration = own.calibration if own else calibrate.load(opts.calibration, info.input_size,
                                                                     rule=opts.resize)
        with reporter.step(f"choosing weight dtypes on {len(calibration.images)} images (--quantize auto)"):
            choice = autoquant.search(model, plan, preprocessed(calibration.images, preprocess),
                                      agreement=opts.agreement or autoquant.AGREEMENT,
                                      max_prob_error=opts.max_prob_error or autoquant.MAX_PROB_ERROR)
        if own is not None and len(own.test_images):
            with reporter.step(f"test accuracy of the weight dtypes on the {len(own.test_images)} test photos"):
                maps = {dtype: {name: dtype for name in choice.dtypes} for dtype in ("float32", *autoquant.PLAIN)}
                tested = len(own.test_images), autoquant.measure_maps(
                    model, plan, preprocessed(own.test_images, preprocess), own.test_labels,
                    {**maps, "auto": choice.dtypes})
        qmap = quantize.from_dtypes(choice.dtypes)
    with output.staging(opts.out) as site:
        with reporter.step("converting to a TF.js layers model"):
            conversion = convert.write(plan, site / convert.MODEL_DIR, qmap=qmap, shard_size=opts.shard_size)
            _check_shard_count(site / convert.MODEL_DIR, conversion.shard_sha256, opts.shard_size)
        with reporter.step("self-check: TF.js vs Keras"):
            check = parity.check(model, conversion.model_json, input_size=info.input_size, preprocess=preprocess,
                                 weights=conversion.weights, dtypes=conversion.dtypes)
        _warn_quantization_error(check, choice, specs, reporter)
        with reporter.step("rendering the site"):
            title = opts.title or _default_title(info, opts.model, trained.photo_folder if trained else None)
            hashes = vendor.copy_into(runtime, site)
            shards = conversion.shard_sha256
            render.render_site(site, title=title, runtime_scripts=runtime.script_tags(hashes), scripts=scripts, config={
                "title": title,
                "labels": labels,
                "inputSize": list(info.input_size),
                "preprocess": preprocess,
                "resize": opts.resize,
                "topK": min(opts.top_k, len(labels)),
                "modelUrl": f"{convert.MODEL_DIR}/{convert.MODEL_JSON}",
                "shardSha256": shards,
                "wasmThreads": "auto" if opts.wasm_threads == "auto" else int(opts.wasm_threads),
                # What the weights download is, for "3.2 MB of 9.1 MB" progress.
                "modelBytes": sum((conversion.model_json.parent / path).stat().st_size for path in shards),
                "version": __version__,
            })
            pwa.write_manifest(site, title)
            previous = opts.out if read_build_report(opts.out) is not None else None  # a build of ours, replaced
            hosting.write_target_files(site, opts.target, cname=opts.cname, firebase_project=opts.firebase_project,
                                       previous=previous)
            files = inventory.take(site, known={f"{convert.MODEL_DIR}/{p}": d for p, d in shards.items()})
            pwa.write_service_worker(site, files, later=(REPORT_FILE,))  # last: it lists every file
            files.update(inventory.take(site, paths=[pwa.SERVICE_WORKER]))
        with reporter.step("pre-compressing (.br, .gz)"):
            compressed = precompress.write_copies(site, cache=runtime.compression_cache,
                                                  sha256={path: entry.sha256 for path, entry in files.items()})
        quantization = _quantization_record(specs, qmap, plan, conversion, choice, calibration, tested)
        result = _report(opts, info, site, plan, conversion, check, labels, labels_source, preprocess, quantization,
                         started, shards, compressed, files)
        result.head, result.lowered = head.as_dict(), lowered
        result.training = trained.card(labels) if trained is not None else {}
        result.build_id = uuid.uuid4().hex
        result.write(site)
        output.swap(site, opts.out, opts.force, inputs=_inputs(opts, trained))
    log.info("built %s in %.1fs", opts.out, result.build_seconds)
    return result


def _inputs(opts: BuildOptions, trained: training.Trained | None) -> list[Path]:
    """The files the build reads, which ``--out`` (even with ``--force``) must never replace: a model written by
    ``browsernet train`` (``trained``, its record) brings its photo folder (its photos calibrate and test
    ``--quantize auto``)."""
    from builder.model.zoo import is_stock

    files = [] if is_stock(opts.model) else [Path(opts.model)]
    if is_stock(opts.model) and opts.weights not in ("imagenet", "none"):
        files.append(Path(opts.weights))
    if trained is not None and trained.photo_folder is not None:
        files.append(trained.photo_folder)
    return files + [p for p in (opts.labels, opts.calibration) if p is not None]


def _labels_for(info, user_labels: list[str] | None, source: str | None, head: "Head") -> tuple[list[str], str]:
    # A one-unit head is shown as two classes: say so where the count is checked, not "2 outputs".
    where = info.source if head.outputs == head.classes else (
        f"{info.source} (one {head.kind} output, shown as 2 classes: the one it scores 0, then the one it scores 1)")
    if user_labels is None:
        return labelling.resolve(None, info.num_outputs, where)
    labelling.check_count(user_labels, Path(source), info.num_outputs, where)
    return user_labels, source


def _report(opts: BuildOptions, info, site: Path, plan, conversion, check, labels: list[str], labels_source: str,
            preprocess: str, quantization: dict, started: float, shards: dict[str, str],
            compressed: dict[str, dict[str, int]], inventoried: inventory.Inventory) -> BuildReport:
    """The report of a finished build. ``files`` is the site's payload (report.json itself and the
    pre-compressed copies excluded; those are in ``precompressed``)."""
    from builder.convert.layers_model import MODEL_DIR
    from builder.convert.self_check import reference_record

    files = {path: entry.bytes for path, entry in sorted(inventoried.items()) if path != REPORT_FILE}
    digests = {path: inventoried[path].sha256 for path in files}
    dtype_counts: dict[str, int] = {}
    for w in conversion.weights:
        dtype = conversion.dtypes.get(w.name, "float32")
        dtype_counts[dtype] = dtype_counts.get(dtype, 0) + 1
    return BuildReport(
        version=__version__,
        model=opts.model,
        family=info.family,
        alpha=info.alpha,
        input_size=list(info.input_size),
        weights=info.weights,
        labels=labels_source,
        classes=len(labels),
        preprocess=preprocess,
        resize=opts.resize,
        parameters=plan.parameters,
        multiply_adds=plan.multiply_adds,
        layers=conversion.layers,
        optimization=_optimization(conversion),
        quantization=quantization,
        weight_dtypes=dtype_counts,
        files=files,
        model_bytes=sum(n for p, n in files.items() if p.startswith(f"{MODEL_DIR}/")),
        shard_sha256=shards,
        total_bytes=sum(files.values()),
        precompressed=compressed,
        parity={k: v for k, v in asdict(check).items() if k != "reference"},
        reference=reference_record(check, info.input_size),
        sha256=digests,
        build_seconds=round(time.perf_counter() - started, 2),
        options=opts.recorded(),
        sources=_sources(opts),
    )


def _optimization(conversion) -> dict:
    """report.json's record of the inference rewrites: whether they ran, layer counts, what they did."""
    record = {"enabled": conversion.optimization is not None, "layers_before": conversion.layers_before,
              "layers_after": conversion.layers}
    if conversion.optimization is not None:
        record.update(conversion.optimization.as_dict())
    return record


def default_quantize(opts: BuildOptions) -> tuple[str, ...]:
    """The ``--quantize`` options a build uses: the given ones, else ``auto`` for a stock model with
    ImageNet weights (whose classes the built-in photos exercise), else none.

    A user's model keeps float32 by default: the built-in photos may be far from what it was
    trained on, so its calibration should be the user's own images (``--calibration DIR``).
    """
    if opts.quantize:
        return tuple(opts.quantize)
    from builder.model.zoo import is_stock

    if training.beside(opts.model) is not None:  # `browsernet train`'s: calibrated and tested on its own photos
        return (quantize.AUTO,)
    return (quantize.AUTO,) if is_stock(opts.model) and opts.weights == "imagenet" else (NO_QUANTIZE,)


def _warn_quantization_error(check, choice, specs: tuple[str, ...], reporter: Reporter) -> None:
    """A manual ``--quantize`` whose weights move the self-check's probabilities by more than ``--quantize auto``'s
    default bound (which auto holds on calibration photos, not on these images) is said as a warning: the build
    stands, it is what was asked for, but its answers may be far from the model's."""
    from builder.convert.mixed_precision import MAX_PROB_ERROR

    error = check.quantization_error
    if choice is None and error is not None and error > MAX_PROB_ERROR:
        asked = " ".join(f"--quantize {spec}" for spec in specs)
        reporter.note(f"warning: {asked} moves the probabilities by up to {error:.3g} on the self-check's "
                      f"{check.samples} synthetic images (over {MAX_PROB_ERROR:g}): its answers may be far from the "
                      "model's; measure a map on your photos with --quantize auto --calibration DIR, or keep "
                      "float16/float32")


def _quantization_record(specs: tuple[str, ...], qmap: quantize.QuantizeMap, plan, conversion, choice,
                         calibration, tested: tuple[int, dict] | None = None) -> dict:
    """report.json's ``quantization`` section: the map, its bytes (``float32_weight_bytes``: what the same model
    built with ``--quantize none`` writes, the plan's weights before per-channel scaling adds a BatchNormalization's
    vectors beside a uint8 kernel) and, for auto, what it measured; for a
    trained model, ``tested``: how many test photos, and each plain dtype's and the chosen map's
    :class:`~builder.convert.mixed_precision.Measure` on them."""
    sizes = {w.name: int(w.data.size) for w in conversion.weights}
    record = {
        "mode": "auto" if choice else "none" if not qmap else "manual",
        "map": quantize.describe(qmap) if not choice else "auto: " + ", ".join(
            f"{n} {d}" for d, n in sorted(choice.counts.items(), key=lambda kv: -kv[1])),
        "weight_bytes": quantize.weight_bytes(sizes, conversion.dtypes),
        "float32_weight_bytes": quantize.weight_bytes({w.name: int(w.data.size) for w in plan.weights}, {}),
        "dtypes": {name: conversion.dtypes.get(name, "float32") for name in sizes},
    }
    if choice:
        record["auto"] = {
            "calibration": calibration.describe(),
            "calibration_source": calibration.source,
            "images": choice.images,
            "agreement": choice.measure.agreement,
            "max_prob_error": round(choice.measure.max_prob_error, 6),
            "bounds": {"agreement": choice.agreement, "max_prob_error": choice.max_prob_error},
            "evaluations": choice.evaluations,
            "plain": {dtype: {"weight_bytes": m.weight_bytes, "agreement": m.agreement,
                              "max_prob_error": round(m.max_prob_error, 6)}
                      for dtype, m in choice.plain.items()},
        }
        if tested:  # a trained model's test photos, which chose nothing: the stored weights' honest accuracy
            images, measures = tested
            record["auto"]["test"] = {
                "images": images,
                "accuracy": {name: m.accuracy for name, m in measures.items()},
                "agreement": {name: m.agreement for name, m in measures.items()},
            }
    return record


def _sources(opts: BuildOptions) -> dict[str, dict]:
    """The input files the site was built from, with their hashes (deploy refuses a stale site)."""
    from builder.model.zoo import is_stock

    files = {"model": None if is_stock(opts.model) else Path(opts.model), "labels": opts.labels}
    if is_stock(opts.model) and opts.weights not in ("imagenet", "none"):
        files["weights"] = Path(opts.weights)
    return {role: source_record(path, opts.out) for role, path in files.items() if path is not None}


def _check_options(opts: BuildOptions) -> None:
    from builder.model.zoo import check_file, is_stock

    if not is_stock(opts.model):
        check_file(Path(opts.model))
    elif opts.weights not in ("imagenet", "none") and not Path(opts.weights).is_file():
        what = "a folder, not a weights file" if Path(opts.weights).is_dir() else "weights file not found"
        raise WeightsError(f"{opts.weights}: {what}")
    from builder.model.labels import comparable

    if opts.title is not None and not comparable(opts.title):
        raise OptionError("--title: shows nothing (only spaces or invisible characters); give the page a title, "
                              "or leave --title out for the model's name")
    if opts.preprocess is not None and opts.preprocess not in PREPROCESS_MODES:
        raise OptionError(f"--preprocess {opts.preprocess}: choose from {', '.join(PREPROCESS_MODES)}")
    if opts.scaled_twice and opts.preprocess is None:
        raise OptionError("--scaled-twice says the model was trained on pixels scaled by --preprocess before its "
                          "own scaling: give that --preprocess too")
    if opts.resize not in RESIZE_RULES:
        raise OptionError(f"--resize {opts.resize}: choose from {', '.join(RESIZE_RULES)}")
    if opts.wasm_threads != "auto" and not (opts.wasm_threads.isdigit() and 1 <= int(opts.wasm_threads) <= 64):
        raise OptionError(f"--wasm-threads {opts.wasm_threads}: use 'auto' or a count from 1 to 64")
    from builder.convert.heads import CHOICES as HEADS

    if opts.head not in HEADS:
        raise OptionError(f"--head {opts.head}: choose from {', '.join(HEADS)}")
    if opts.top_k < 1:
        raise OptionError(f"--top-k must be at least 1, got {opts.top_k}")
    from builder.model.zoo import check_input_size, is_stock, stock_only_options

    check_input_size(opts.input_size)  # before TensorFlow loads
    if not is_stock(opts.model):
        given = stock_only_options(opts.alpha, opts.weights, opts.minimalistic)
        if given:
            raise OptionError(f"{', '.join(given)}: for a stock --model (mobilenet_v2, ...); the model file "
                                  f"{opts.model} has its own")
    if opts.target not in hosting.TARGETS:
        raise OptionError(f"--target {opts.target}: choose from {', '.join(hosting.TARGETS)}")
    if opts.cname is not None:
        if opts.target != hosting.GITHUB_PAGES:
            raise OptionError("--cname is for --target github-pages")
        hosting.check_cname(opts.cname)
    if opts.firebase_project is not None:
        if opts.target != hosting.FIREBASE:
            raise OptionError("--firebase-project is for --target firebase")
        hosting.check_project(opts.firebase_project)
    check_previous_hosting(opts.out, opts.target, opts.force, opts.cname)
    auto = quantize.is_auto(default_quantize(opts))
    for name, value in (("--calibration", opts.calibration), ("--agreement", opts.agreement),
                        ("--max-prob-error", opts.max_prob_error)):
        if value is not None and not auto:
            raise OptionError(f"{name} is for --quantize auto")
    if NO_QUANTIZE in opts.quantize and len(opts.quantize) > 1:
        raise OptionError("--quantize none cannot be combined with other --quantize options")
    if not auto and opts.quantize != (NO_QUANTIZE,):
        quantize.parse(opts.quantize)  # an unknown dtype is said before anything starts
    if opts.calibration is not None and not opts.calibration.is_dir():
        raise BrowsernetError(f"--calibration {opts.calibration}: no such folder")
    if opts.shard_size < 1024:
        raise OptionError(f"--shard-size must be at least 1 KiB, got {opts.shard_size} bytes")


def check_previous_hosting(out: Path, target: str, force: bool, cname: str | None = None,
                           keep_domain: str = "build-site --target github-pages --cname {domain}") -> None:
    """Raise (one line, before anything is converted) when rebuilding the site ``out`` for ``target`` would lose
    what the user added to its host files: a custom domain in ``CNAME`` (written by an earlier build's
    ``--cname``, or by hand) that this build, without ``cname``, would not write again, unless ``force``; for
    Firebase, an edited ``hosting`` section of ``firebase.json`` (browsernet writes its own); for another target,
    which writes neither ``firebase.json`` nor ``.firebaserc`` (``deploy firebase`` puts them in the site), any
    addition to them, unless ``force``. Also called by ``train --build-site`` before it trains, which keeps a
    GitHub Pages site's domain itself (``keep_domain``: how to keep it, in the error)."""
    if read_build_report(out) is None:
        return
    domain = hosting.read_cname(out)
    if domain and not force and (target != hosting.GITHUB_PAGES or cname is None):
        raise OutputDirError(f"{out}: its CNAME names the custom domain {domain}, which this build would drop (a "
                             f"deploy would then stop serving the site there); keep it with "
                             f"{keep_domain.format(domain=domain)}, or pass --force to drop it")
    if target == hosting.FIREBASE:
        hosting.previous_firebase_files(out)
        return
    additions = [] if force else hosting.firebase_additions(out)
    if additions:
        try:
            hosting.previous_firebase_files(out)
            keep = "rebuild with --target firebase to keep them"
        except BrowsernetError:  # an edited hosting section, a file that is not JSON: Firebase's build refuses too
            keep = "move the files out of the site folder to keep them"
        raise OutputDirError(f"{out}: holds {named(additions)}, which a --target {target} build does not write; "
                             f"{keep}, or pass --force to drop them")


def _check_shard_count(model_dir: Path, shards: dict[str, str], shard_size: int) -> None:
    """Refuse more than MAX_SHARDS weight shards: the page fetches every shard at once, and Chromium failed
    ("Failed to fetch") on 8,716 of 1 KiB while 545 loaded."""
    if len(shards) <= MAX_SHARDS:
        return
    total = sum((model_dir / name).stat().st_size for name in shards)
    needed = -(-total // MAX_SHARDS)
    raise BrowsernetError(f"--shard-size {shard_size} splits the {total:,} bytes of weights into {len(shards):,} shards, "
                          f"and the page fetches them all at once (browsers fail past a few hundred); use "
                          f"--shard-size {needed} or more (at most {MAX_SHARDS} shards)")


# Folder names that say nothing about what a model tells apart: `browsernet train`'s default --out, and the usual
# names of output and photo folders.
_GENERIC_FOLDERS = frozenset({"trained", "model", "models", "out", "output", "outputs", "build", "dist", "export",
                              "site", "tmp", "temp", "data", "dataset", "datasets", "photos", "images", "pictures",
                              "train", "training"})


def _default_title(info, model: str, data_folder: str | Path | None = None) -> str:
    """The page title without --title: the model file's name, else, for a generic name such as
    `browsernet train`'s model.keras, its folder's name, else the name of the photo folder it was trained on
    (``data_folder``), else "Image classifier". Generic folder names (trained, output, photos, ...) and the home
    folder (whose name is the user's, and the title is published) are passed over. A stock MobileNet: its
    version and width."""
    from builder.model.zoo import is_stock

    if not is_stock(model):
        path = Path(model).resolve()
        if path.stem.lower() not in ("model", "saved_model", "keras_model"):
            return f"{path.stem} image classifier"
        home = Path.home().resolve()
        for folder in (path.parent, Path(data_folder).resolve() if data_folder else None):
            if folder is not None and folder.name and folder != home and folder.name.lower() not in _GENERIC_FOLDERS:
                return f"{folder.name} image classifier"
        return "Image classifier"
    name = {"mobilenet_v1": "MobileNet V1", "mobilenet_v2": "MobileNet V2", "mobilenet_v3_small": "MobileNet V3 Small",
            "mobilenet_v3_large": "MobileNet V3 Large"}[info.family]
    alpha = f"{info.alpha:.2f}".rstrip("0") if info.alpha is not None else ""
    alpha = f" (α {alpha}0)" if alpha.endswith(".") else f" (α {alpha})" if alpha else ""
    return f"{name}{alpha} image classifier"
