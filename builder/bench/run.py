"""``browsernet bench``: measure a built site in headless Chromium, against its baselines.

Three sets of figures, all from one run on one machine:

* **The site** as a visitor gets it, per backend: time to load (navigation until
  ``browsernet.ready``), the first inference (the model's slow one), classify latency
  (median, p90), navigation to first prediction on a cold and on a warm cache (the
  median of several return visits, and where their start-up went), and the bytes
  the server sent for the first and for the return visit.
* **Layers vs graph**: the site's model.json and the same Keras model converted to a
  TF.js graph model (tensorflowjs's converter), timed by one harness page in exactly
  the same way, so their ratio compares the formats and nothing else.
* **Native**: the Keras model in TensorFlow on this CPU.

The site and the harness's formats are measured in alternating rounds (each in turn, then again), so that a
slow spell on the machine does not land on one of them only.

Figures are measurements, not assertions: nothing here fails because it is slow.
"""

from __future__ import annotations

import json
import logging
import math
import platform
import shutil
import statistics
import tempfile
import threading
from collections import Counter
from contextlib import contextmanager
import dataclasses
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

from builder import __version__, browser, report
from builder.bench import graph_model as baseline
from builder.bench import litert, onnx_runtime
from builder.bench import profile as profiling
from builder.errors import BrowsernetError, OptionError
from builder.progress import Reporter
from builder.site import hosting
from builder.site.render import TEMPLATES

log = logging.getLogger(__name__)

WEBGPU = "webgpu"
BACKENDS = ("wasm", "webgl", "cpu", WEBGPU)  # the ones --backends accepts
DEFAULT_BACKENDS = ("wasm", "webgl", "cpu")
HARNESS = TEMPLATES / "bench"
# The harness page loads TF.js's complete scripts under these fixed names: the site's own
# runtime bundle has no converter, and the graph-model baseline needs it.
HARNESS_SCRIPTS = ("tf.js", "tf-backend-wasm.js")
# The site's own WebGPU script, which harness.js loads after them for a webgpu run only: it registers
# the webgpu backend with the engine that tf.js made.
HARNESS_WEBGPU = "tf-backend-webgpu.js"
PAGE_TIMEOUT_MS = 180_000
# Return visits are quick and noisy: the figures are the median of this many per round (ROUNDS rounds).
WARM_VISITS = 3
# The baselines next to the site's own layers model, by the name their harness rows carry.
BASELINES = {"graph": "a TF.js graph model", "litert": "TFLite for LiteRT.js", "onnx": "ONNX for onnxruntime-web"}
TFJS_FORMATS = ("layers", "graph")
# Harness rounds: every format in turn, then again, each round doing half the runs.
ROUNDS = 2
# A runtime's output agrees with Keras's when no element differs by more (float32, as self-check).
PARITY_TOLERANCE = 1e-4


@dataclass(frozen=True)
class BenchOptions:
    site: Path = Path("site")
    backends: tuple[str, ...] = DEFAULT_BACKENDS
    runs: int = 20
    max_seconds: float = 30.0  # per measurement loop: slow backends stop early (after at least 3 runs)
    baselines: tuple[str, ...] = tuple(BASELINES)  # also time these conversions of the Keras model
    native: bool = True  # also time Keras natively
    # Also trace the layers model on WASM (each thread count) with V8's CPU profiler; the traces go here.
    profile: Path | None = None


@dataclass
class BenchResult:
    """What :func:`bench` measured; :meth:`as_json` is what ``--json`` writes. Times in milliseconds, sizes in bytes."""

    site: str
    model: dict[str, Any]  # the measured site's model, from its report.json
    machine: dict[str, Any]  # cpus, platform, python, chromium
    options: dict[str, Any]  # backends, runs, max_seconds
    # backend -> the site's figures, or {"error": one line} for a backend Chromium cannot run (no WebGPU adapter)
    site_backends: dict[str, dict[str, Any]] = field(default_factory=dict)
    # format (layers, graph, litert, onnx) -> row (backend; wasm-1thread) -> figures with their
    # parity against Keras, or {"error": one line} for a runtime that could not run the model
    harness: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    native: dict[str, Any] | None = None  # Keras on this CPU
    ratios: dict[str, float] = field(default_factory=dict)  # paired ratios between the rows above
    # --profile: wasm row (wasm, wasm-1thread) -> {"trace": file, "runs", "threads": profile.summarise()}
    # or {"error": one line}
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    browsernet: str = __version__

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def bench(opts: BenchOptions, reporter: Reporter | None = None) -> BenchResult:
    """Measure ``opts.site``: the site on each backend, the TF.js layers and graph models in one harness, and
    Keras natively. Raises :class:`~builder.errors.BrowsernetError` for a folder that is not a built site,
    bad options, or a browser that cannot be started."""
    reporter = reporter or Reporter()
    data = check(opts)
    result = BenchResult(
        site=str(opts.site),
        model={"model": data.model, "family": data.family, "alpha": data.alpha, "input_size": data.input_size,
               "classes": data.classes, "layers": data.layers, "quantization": data.quantization,
               "model_bytes": data.model_bytes, "total_bytes": data.total_bytes,
               # uint8 kernels written channel-scaled (builder.convert.per_channel), each with a BatchNorm after it
               # that puts the scales back (its activation unfused): layers a float32 build of the model folds away
               "channel_scaled_kernels": int((data.optimization or {}).get("scaled_kernels") or 0)},
        machine={"cpus": baseline.usable_cpus(), "platform": platform.platform(), "python": platform.python_version()},
        options={"backends": list(opts.backends), "runs": opts.runs, "max_seconds": opts.max_seconds,
                 "baselines": list(opts.baselines), "parity_tolerance": PARITY_TOLERANCE},
    )
    input_size = tuple(data.input_size)
    webgpu = WEBGPU in opts.backends
    unavailable: dict[str, str] = {}  # backend -> why Chromium cannot run it here
    with browser.launch(browser.WEBGPU_ARGS if webgpu else None) as chromium, \
            tempfile.TemporaryDirectory(prefix="browsernet-bench-") as tmp:
        result.machine["chromium"] = chromium.version
        with reporter.step("loading the Keras model"):
            model = _keras_model(data, opts.site)
        reference, varies = _keras_output(model, input_size)
        # Parity means something only if the output depends on the input (a model with
        # --weights none gives every image the same output).
        result.model["output_depends_on_input"] = varies
        if opts.native:
            with reporter.step(f"native Keras: {opts.runs} inferences"):
                result.native = baseline.native_latency(model, input_size, opts.runs, opts.max_seconds)
        root = Path(tmp) / "harness"
        _harness(root, opts.site / "model")
        formats, failed = _baselines(model, input_size, root, Path(tmp) / "baselines", opts.baselines, reporter)
        for fmt, reason in failed.items():
            result.harness[fmt] = {backend: {"error": reason} for backend in _configs(fmt, opts.backends)}
        with _serving(opts.site) as (site_url, site_sent), _serving(root) as (url, sent):
            if webgpu:
                with reporter.step("asking Chromium for a WebGPU adapter"):
                    reason = _webgpu_unavailable(chromium, site_url)
                if reason is not None:
                    log.warning("bench: %s", reason)
                    unavailable[WEBGPU] = reason
            for fmt in formats:
                for backend, reason in unavailable.items():
                    if backend in _configs(fmt, opts.backends):
                        result.harness.setdefault(fmt, {})[backend] = {"error": reason}
            # Alternating rounds (the site and each format in turn, then again), so a slow spell on the
            # machine does not land on one of them only; each round does half the runs.
            site_rounds: dict[str, list[dict]] = {}
            rounds: dict[tuple[str, str], list[dict]] = {}
            half = BenchOptions(**{**opts.__dict__, "runs": max(3, opts.runs // 2),
                                   "max_seconds": opts.max_seconds / 2})
            for round_no in range(1, ROUNDS + 1):
                for backend in opts.backends:
                    if backend in unavailable:
                        continue
                    for config, threads in _thread_configs(backend):
                        if "error" not in (site_rounds.get(config) or [{}])[-1]:
                            with reporter.step(f"site on {config}, round {round_no} of {ROUNDS}: load, "
                                               f"{half.runs} classifications, return visits"):
                                try:
                                    got = _site(chromium, site_url, site_sent, backend, input_size, half,
                                                "&threads=1" if threads == 1 else "")
                                except BrowsernetError as e:  # this backend's row says so; the others go on
                                    log.warning("bench: the site on %s failed: %s", config, e)
                                    got = {"error": str(e)}
                                site_rounds.setdefault(config, []).append(got)
                        for fmt, model_url in formats.items():
                            if config not in _configs(fmt, opts.backends) or "error" in (
                                    rounds.get((fmt, config)) or [{}])[-1]:
                                continue
                            with reporter.step(f"{fmt} model on {config}, round {round_no} of {ROUNDS}"):
                                sent.clear()
                                got = _harness_run(chromium, url, fmt, model_url, backend, threads, input_size,
                                                   half)
                                got["bytes"] = _row_bytes(fmt, model_url, sent)
                                rounds.setdefault((fmt, config), []).append(got)
            # In the order of --backends (a WebGPU row that failed before the rounds included).
            for config in [c for backend in opts.backends for c, _ in _thread_configs(backend)]:
                if config in site_rounds:
                    result.site_backends[config] = _site_row(site_rounds[config])
                elif config in unavailable:
                    result.site_backends[config] = {"error": unavailable[config]}
            stored = report.weight_map(result.model.get("quantization"))
            for (fmt, config), runs in rounds.items():
                row = result.harness.setdefault(fmt, {})[config] = _row(runs, reference)
                if fmt == "layers" and stored and "parity" in row:
                    # The site's own weights are quantized, and Keras's reference is float32: a difference is the
                    # quantization's (verify checks the page against Keras with the weights as stored).
                    row["parity"]["quantized"] = stored
            if opts.profile is not None and "wasm" in opts.backends and "wasm" not in unavailable:
                # After the timed rounds, which tracing would slow down.
                for config, threads in _thread_configs("wasm"):
                    path = opts.profile / f"layers-{config}.json"
                    with reporter.step(f"profiling the layers model on {config}"):
                        got = _harness_run(chromium, url, "layers", formats["layers"], "wasm", threads, input_size,
                                           opts, trace=path)
                    result.profiles[config] = got if "error" in got else {
                        "trace": str(path), "runs": len(got["times"]), "threads": got["profile"]}
    result.ratios = _ratios(result)
    return result


def _webgpu_unavailable(chromium: Any, url: str) -> str | None:
    """Why the site at ``url`` gets no WebGPU adapter in ``chromium`` (one line), or None."""
    from playwright.sync_api import Error

    try:
        reason = browser.webgpu_unavailable(chromium, url + report.REPORT_FILE)
    except Error as e:
        reason = f"the adapter check failed: {str(e).splitlines()[0]}"
    return None if reason is None else f"unavailable: Chromium offers no WebGPU adapter here ({reason})"


def _baseline_modules(fmt: str) -> Path:
    """The node_modules that hold ``fmt``'s browser runtime (LiteRT.js, onnxruntime-web). An installed wheel
    brings the site's TF.js runtime but not these (they come from a checkout's ``npm ci``): raises
    :class:`BrowsernetError` saying so, for that baseline's row."""
    from builder.errors import RuntimeMissingError
    from builder.site import vendor

    try:
        return vendor.find_node_modules()
    except RuntimeMissingError as e:
        runtime = {"litert": "LiteRT.js", "onnx": "onnxruntime-web"}[fmt]
        raise BrowsernetError(f"{runtime} is not installed here: it comes with a checkout's node_modules "
                              "('npm ci'), which a pip or pipx install has none of; set $BROWSERNET_NODE_MODULES to "
                              "one, or leave it out (--baselines graph)") from e


def _differs_by_quantization(check: dict[str, Any]) -> bool:
    """Whether a row's output differs from Keras's only as the site's quantized weights make it: the site's own
    row (marked ``quantized``), with a finite output. TF.js dequantizes the weights as they load, so it computes
    in float32 as the baselines do, and is timed as the site visitors get (its channel-scaled uint8 kernels add a
    BatchNorm layer each, which the table says)."""
    return bool(check.get("quantized")) and check["max_abs_diff"] is not None


def _row(runs: list[dict[str, Any]], reference: Any) -> dict[str, Any]:
    """One harness row from its rounds: the best load and first inference, the pooled timings, the
    bytes sent, and the first round's output against Keras's; or ``{"error": ...}`` if a round failed."""
    failed = [r["error"] for r in runs if "error" in r]
    if failed:
        return {"error": failed[0]}
    return {
        "load_ms": round(min(r["loadMs"] for r in runs), 1),
        "first_ms": round(min(r["firstMs"] for r in runs), 1),
        **baseline.summarise([t for r in runs for t in r["times"]]),
        "threads": runs[0]["threads"],
        # CPU time per timed inference, all threads together: over median_ms it is how many cores
        # the runtime kept busy (a thread pool that spins while it waits shows as cores used for no gain).
        "cpu_ms_per_inference": _cpu_per_run(runs),
        **runs[0]["bytes"],
        "parity": parity(reference, runs[0]["output"]),
    }


def _cpu_per_run(runs: list[dict[str, Any]]) -> float | None:
    if any(r.get("cpuMs") is None for r in runs):
        return None
    return round(sum(r["cpuMs"] for r in runs) / sum(len(r["times"]) for r in runs), 2)


def parity(reference: Any, output: list[float], tolerance: float = PARITY_TOLERANCE) -> dict[str, Any]:
    """How a runtime's output compares with Keras's on the same input: ``max_abs_diff`` (over every
    element of the flattened output), ``top1_agrees``, and ``ok`` (same shape and max diff within
    ``tolerance``, 1e-4 for float32 by default)."""
    import numpy as np

    ref = np.asarray(reference, dtype="float64").reshape(-1)
    got = np.asarray(output, dtype="float64").reshape(-1)
    if ref.shape != got.shape:
        return {"ok": False, "max_abs_diff": None, "top1_agrees": False,
                "problem": f"{got.size} outputs, Keras gives {ref.size}"}
    diff = float(np.max(np.abs(ref - got))) if ref.size else 0.0
    finite = bool(np.all(np.isfinite(got)))
    return {"ok": finite and diff <= tolerance, "max_abs_diff": diff if finite else None,
            "top1_agrees": bool(int(np.argmax(ref)) == int(np.argmax(got)))}


def bench_input(input_size: tuple[int, int]) -> Any:
    """The harness's input, ``[1, height, width, 3]`` float32 in [-1, 1]: element i (row-major) is
    ``((i * 2654435761) % 251) / 125 - 1``, as templates/bench/harness.js computes it."""
    import numpy as np

    i = np.arange(input_size[0] * input_size[1] * 3, dtype=np.int64)
    return (((i * 2654435761) % 251) / 125 - 1).astype("float32").reshape(1, *input_size, 3)


def _keras_output(model: Any, input_size: tuple[int, int]) -> tuple[Any, bool]:
    """Keras's output on the harness's input, and whether it differs (beyond the parity tolerance) from its
    output on the input mirrored left to right or on the input halved (a model that pools a 1x1 convolution
    gives a mirrored input the same answer)."""
    import numpy as np

    from builder.model import tf_runtime

    x = bench_input(input_size)
    with tf_runtime.quiet():
        y = model(x, training=False).numpy()
        others = [model(variant, training=False).numpy() for variant in (x[:, :, ::-1, :].copy(), x * 0.5)]
    return y, any(bool(np.max(np.abs(y - other)) > PARITY_TOLERANCE) for other in others)


def _thread_configs(backend: str) -> list[tuple[str, int | None]]:
    """(row name, WASM threads) per harness measurement of ``backend``: WASM on every CPU and,
    on a multi-core machine, on one thread (``wasm-1thread``), as the site is measured."""
    if backend != "wasm":
        return [(backend, None)]
    cpus = baseline.usable_cpus()
    return [("wasm", cpus)] + ([("wasm-1thread", 1)] if cpus > 1 else [])


def _configs(fmt: str, backends: tuple[str, ...]) -> list[str]:
    """The rows ``fmt`` runs in: TF.js's formats on every backend asked for, LiteRT.js and
    onnxruntime-web on their WASM CPU runtimes only."""
    return [config for backend in backends if fmt in TFJS_FORMATS or backend == "wasm"
            for config, _ in _thread_configs(backend)]


def _baselines(model: Any, input_size: tuple[int, int], root: Path, work: Path, wanted: tuple[str, ...],
               reporter: Reporter) -> tuple[dict[str, str], dict[str, str]]:
    """Convert ``model`` for each baseline in ``wanted`` and stage it (and its runtime) under the
    harness ``root``. Returns the formats to time (name -> model URL, the site's layers model
    first) and those that could not be set up (name -> one-line reason)."""
    from builder.site import vendor

    formats = {"layers": "layers/model.json"}
    failed: dict[str, str] = {}
    for fmt in wanted:
        with reporter.step(f"converting to {BASELINES[fmt]} (a baseline)"):
            try:
                if fmt == "graph":
                    graph_json = baseline.graph_model(model, work / "graph")
                    shutil.copytree(graph_json.parent, root / "graph")
                    formats[fmt] = "graph/model.json"
                    continue
                module = litert if fmt == "litert" else onnx_runtime
                modules = _baseline_modules(fmt)  # before converting: a runtime that is not here costs nothing
                path = module.convert(model, input_size, work / fmt)
                module.stage(modules, root / "vendor")
                (root / fmt).mkdir()
                shutil.copyfile(path, root / fmt / path.name)
                formats[fmt] = f"{fmt}/{path.name}"
            except BrowsernetError as e:
                log.warning("bench: no %s row: %s", fmt, e.message)
                failed[fmt] = e.message
    return formats, failed


def _row_bytes(fmt: str, model_url: str, sent: Counter) -> dict[str, int]:
    """What the server sent for one harness page: the model's files, and its runtime's scripts and
    WASM binaries (uncompressed: the harness folder has no .br/.gz copies)."""
    model_dir = "/" + model_url.rsplit("/", 1)[0] + "/"
    runtime = {"litert": ("/vendor/@litertjs/",), "onnx": ("/vendor/onnxruntime-web/",)}.get(
        fmt, ("/vendor/tf",))
    return {"model_bytes": sum(n for path, n in sent.items() if path.startswith(model_dir)),
            "runtime_bytes": sum(n for path, n in sent.items() if path.startswith(runtime))}




def write_json(result: BenchResult, path: Path) -> None:
    # Strict JSON, which any reader parses: a figure that is not a finite number (a NaN output's difference) is null.
    text = json.dumps(_finite(result.as_json()), indent=2, allow_nan=False)
    try:
        path.write_text(text + "\n")
    except OSError as e:
        raise BrowsernetError(f"{path}: cannot write the bench results: {e.strerror or e}") from e


def _finite(value: Any) -> Any:
    """``value`` (JSON-like) with every NaN or infinite float replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def table(result: BenchResult) -> list[str]:
    """The figures as a few aligned lines for the terminal."""
    lines = [f"{'site':<14}{'load':>9}{'1st inf':>9}{'median':>9}{'p90':>9}{'infer':>9}{'1st cold':>10}"
             f"{'1st warm':>10}{'bytes 1st':>11}{'bytes ret':>11}{'threads':>8}"]
    for backend, f in result.site_backends.items():
        if "error" in f:
            lines.append(f"{backend:<14}  failed: {f['error']}")
            continue
        lines.append(f"{backend:<14}{_ms(f['load_ms']):>9}{_ms(f['first_inference_ms']):>9}{_ms(f['median_ms']):>9}"
                     f"{_ms(f['p90_ms']):>9}{_ms(f.get('inference_median_ms')):>9}{_ms(f['cold_first_prediction_ms']):>10}"
                     f"{_ms(f['warm_first_prediction_ms']):>10}{_bytes(f['bytes_first_visit']):>11}"
                     f"{_bytes(f['bytes_return_visit']):>11}{f.get('threads') or '-':>8}")
    for backend, f in result.site_backends.items():
        stages = sorted(f.get("warm_startup_ms", {}).items(), key=lambda item: item[1])
        if stages:
            marks = " · ".join(f"{stage} {_ms(ms)}" for stage, ms in stages)
            lines.append(f"{backend} warm start-up, ms after navigation: {marks} · "
                         f"first prediction {_ms(f['warm_first_prediction_ms'])}")
    if result.harness and not result.model.get("output_depends_on_input", True):
        lines.append("Keras's output does not depend on the input (weights none?): the parity checks below "
                     "cannot tell one computation from another")
    scaled = result.model.get("channel_scaled_kernels") or 0
    if scaled:
        lines.append(f"the site's {scaled} uint8 kernels are channel-scaled (per-channel quantization in TF.js's "
                     f"per-tensor format), each followed by a BatchNorm layer that puts the scales back: its model "
                     f"runs {result.model.get('layers')} TF.js layers, more than a float32 build of it, and its rows "
                     "time that")
    if result.harness:
        lines.append(f"{'harness':<14}{'format':>9}{'threads':>8}{'load':>9}{'first':>9}{'median':>9}{'p90':>9}"
                     f"{'cpu':>9}{'model':>10}{'runtime':>10}  parity with Keras")
        for fmt, rows in result.harness.items():
            for config, f in rows.items():
                if "error" in f:
                    lines.append(f"{config:<14}{fmt:>9}  failed: {f['error']}")
                    continue
                check = f["parity"]
                top1 = f"top-1 {'same' if check['top1_agrees'] else 'differs'}"
                if check["ok"]:
                    agrees = f"agrees (max |diff| {check['max_abs_diff']:.1e})"
                elif _differs_by_quantization(check):
                    agrees = (f"differs by its quantized weights ({check['quantized']}): max |diff| {_diff(check)}, "
                              f"{top1}")
                else:
                    agrees = f"DISAGREES (max |diff| {_diff(check)}, {top1}) - not the same computation"
                lines.append(f"{config:<14}{fmt:>9}{f.get('threads') or '-':>8}{_ms(f['load_ms']):>9}"
                             f"{_ms(f['first_ms']):>9}{_ms(f['median_ms']):>9}{_ms(f['p90_ms']):>9}"
                             f"{_ms(f.get('cpu_ms_per_inference')):>9}{_bytes(f['model_bytes']):>10}{_bytes(f['runtime_bytes']):>10}  {agrees}")
    if result.native:
        n = result.native
        threads = f", {n['threads']} threads" if n.get("threads") else ""
        lines.append(f"native Keras (TensorFlow, CPU{threads}): median {_ms(n['median_ms'])}, p90 {_ms(n['p90_ms'])}")
    for name, value in result.ratios.items():
        lines.append(f"{name}: {value:.2f}")
    for config, got in result.profiles.items():
        lines.append(f"{config} profile failed: {got['error']}" if "error" in got
                     else profiling.describe(config, got["threads"]) + f" ({got['trace']})")
    return lines


def check(opts: BenchOptions) -> report.BuildReport:
    """The site's build report, once ``opts`` are known to be usable; else :class:`BrowsernetError` (one line).
    Cheap: the CLI calls it before it starts anything."""
    unknown = [b for b in opts.backends if b not in BACKENDS]
    if unknown or not opts.backends:
        raise OptionError(f"--backends {','.join(opts.backends)}: choose from {', '.join(BACKENDS)}")
    for option, names in (("--backends", opts.backends), ("--baselines", opts.baselines)):
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:  # each row is one measurement: a second would replace the first's figures
            raise OptionError(f"{option} {','.join(names)}: {', '.join(twice)} named twice")
    unknown = [b for b in opts.baselines if b not in BASELINES]
    if unknown:
        raise OptionError(f"--baselines {','.join(opts.baselines)}: choose from {', '.join(BASELINES)}")
    if opts.runs < 3:
        raise OptionError(f"--runs must be at least 3, got {opts.runs}")
    if not (math.isfinite(opts.max_seconds) and opts.max_seconds > 0):
        raise OptionError(f"--max-seconds must be a positive number of seconds, got {opts.max_seconds}")
    if opts.profile is not None and "wasm" not in opts.backends:
        raise OptionError(f"--profile traces the site's model on WASM: add wasm to --backends "
                              f"(got {','.join(opts.backends)})")
    data = report.load(opts.site)
    if data is None:
        raise BrowsernetError(report.not_a_site(opts.site))
    # Every run checks the site's outputs against Keras running the model it was built from.
    for role in ("model", "weights"):
        record = data.sources.get(role)
        path = report.source_path(record, opts.site) if record else None
        if record and path is None:
            raise BrowsernetError(f"{opts.site}: the {role} file it was built from ({record.get('name')}) is not known "
                                  "on this machine (built elsewhere?), and bench checks the site's answers against "
                                  "Keras running it; build the site here")
        if path is not None and not path.is_file():
            raise BrowsernetError(f"{path}: the {role} file {opts.site} was built from is gone, and bench checks the "
                                  "site's answers against Keras running it; put it back or rebuild the site")
    # The site as built: a page or model file changed since would time (and check) something else.
    changed = data.changed_file(opts.site, skip=hosting.HOST_FILES)
    if changed:
        raise BrowsernetError(f"{changed}; bench measures the site as built, so rebuild it")
    stale = data.stale_source(opts.site, roles=("model", "weights"))
    if stale:
        raise BrowsernetError(f"{opts.site}: {stale} since the build, so Keras running it is not the site's model "
                              "(bench checks the site's answers against it); rebuild the site, or put the file back "
                              "as it was")
    return data


@contextmanager
def _serving(root: Path) -> Iterator[tuple[str, Counter]]:
    from builder.serve import make_server, url_of

    sent: Counter = Counter()
    server = make_server(root, port=0, sent=sent)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url_of(server), sent
    finally:
        server.shutdown()
        server.server_close()


_CLASSIFY = """async ([size, runs, maxMs]) => {
  const [h, w] = size;
  const rgba = new Uint8ClampedArray(h * w * 4);
  for (let i = 0; i < rgba.length; i++) rgba[i] = (i * 2654435761) % 251;
  const image = new ImageData(rgba, w, h);
  const times = [];
  const loop = performance.now();
  while (times.length < runs && (times.length < 3 || performance.now() - loop < maxMs)) {
    const t0 = performance.now();
    await window.browsernet.classify(image);
    times.push(performance.now() - t0);
  }
  return times;
}"""

# Classifies as soon as the page is ready, in the task that resolves `ready` (as a visitor's
# image queued during loading would be), so that it is the model's first inference; asked any
# later, the page's idle warm-up would run first and this would time two inferences.
_FIRST_PREDICTION = """async ([size]) => {
  const [h, w] = size;
  const image = new ImageData(new Uint8ClampedArray(h * w * 4).fill(128), w, h);
  await window.browsernet.ready;
  const ready = performance.now();
  await window.browsernet.classify(image);
  return [ready, performance.now()];  // since navigation start
}"""


def _timed_inferences(stats: dict | None, runs: int) -> list[float]:
    """The worker's own ms for the last ``runs`` inferences in the page's log (``stats()``'s ``inferences``,
    oldest first); empty when the page kept none."""
    return [record["ms"] for record in (stats or {}).get("inferences") or []][-runs:] if runs > 0 else []


def _visit(context: Any, url: str, size: list[int], page: Any = None) -> tuple[Any, float, float]:
    """Open the page (in a new tab, or in ``page`` again: a return visit); return it, the time from
    navigation to ready, and to the first prediction."""
    from playwright.sync_api import Error

    if page is None:
        page = context.new_page()
    else:
        page.goto("about:blank")
    try:
        page.goto(url, wait_until="commit", timeout=PAGE_TIMEOUT_MS)
        page.wait_for_function("() => window.browsernet !== undefined || document.body?.dataset.state === 'error'",
                               timeout=PAGE_TIMEOUT_MS)
        ready_ms, first_ms = page.evaluate(_FIRST_PREDICTION, [size])
    except Error as e:
        problem = page.evaluate("document.getElementById('error')?.textContent || ''") if not page.is_closed() else ""
        raise BrowsernetError(f"{url}: the page failed in Chromium: {problem or str(e).splitlines()[0]}") from e
    return page, ready_ms, first_ms


def _site(chromium: Any, url: str, sent: Counter, backend: str, input_size: tuple, opts: BenchOptions,
          query: str = "") -> dict[str, Any]:
    """One round of the site on ``backend``, in a fresh browser context (an empty cache): a first visit,
    ``opts.runs`` timed classifications, then :data:`WARM_VISITS` return visits. The raw figures, which
    :func:`_site_row` pools over the rounds. Raises :class:`BrowsernetError` when the page fails."""
    from playwright.sync_api import Error

    context = chromium.new_context()
    try:
        size = list(input_size)
        sent.clear()
        page, load_ms, cold_first = _visit(context, f"{url}?backend={backend}{query}", size)
        if page.evaluate("window.browsernet.backend") != backend:
            raise BrowsernetError(f"{url}: the {backend} backend did not start in Chromium "
                                  f"(the page runs {page.evaluate('window.browsernet.backend')})")
        bytes_first = sum(sent.values())
        try:
            times = page.evaluate(_CLASSIFY, [size, opts.runs, opts.max_seconds * 1000])
            stats = page.evaluate("window.browsernet.stats ? window.browsernet.stats() : null")
        except Error as e:
            raise BrowsernetError(f"{url}: classification failed in Chromium: {str(e).splitlines()[0]}") from e
        # Return visits come back in the same tab, as a visitor does: in Chromium's headless mode a
        # new tab is a new window, whose own start-up (the omnibox's WebUI, 0.2-0.7 s of CPU time)
        # would run beside the visit on a small machine.
        warm_firsts, warm_startups, bytes_return = [], [], 0
        for _ in range(WARM_VISITS):
            sent.clear()
            page, _, first = _visit(context, f"{url}?backend={backend}{query}", size, page)
            bytes_return = max(bytes_return, sum(sent.values()))
            warm_firsts.append(first)
            warm_startups.append(page.evaluate("window.browsernet.stats().startup") or {})
        page.close()
    finally:
        context.close()
    return {"load_ms": load_ms, "first_inference_ms": (stats or {}).get("warmupMs"), "times": times,
            "inference_ms": _timed_inferences(stats, len(times)), "cold_first_ms": cold_first,
            "warm_firsts": warm_firsts, "warm_startups": warm_startups, "bytes_first": bytes_first,
            "bytes_return": bytes_return, "threads": stats.get("threads") if stats else None}


def _site_row(visits: list[dict[str, Any]]) -> dict[str, Any]:
    """The site's figures on one backend from its rounds (:func:`_site`), as the harness rows pool theirs: the
    better load, first inference and cold first prediction of the rounds (a first run is the one a slow spell
    hurts most), the timed classifications pooled, and the medians of every return visit."""
    failed = [v["error"] for v in visits if "error" in v]
    if failed:
        return {"error": failed[0]}
    firsts = [v["first_inference_ms"] for v in visits if v["first_inference_ms"] is not None]
    inferences = [ms for v in visits for ms in v["inference_ms"]]
    warm_startups = [startup for v in visits for startup in v["warm_startups"]]
    stages = list(dict.fromkeys(stage for startup in warm_startups for stage in startup))
    return {
        "load_ms": round(min(v["load_ms"] for v in visits), 1),
        "first_inference_ms": round(min(firsts), 1) if firsts else None,
        **baseline.summarise([t for v in visits for t in v["times"]]),
        # The worker's own timing of the same inferences (preprocessing ops, the model, reading the
        # output back): classify() less its message round trip, image resize and top-k. Only the timed
        # runs' records: the page's log also holds the visit's first prediction, the slow first inference.
        "inference_median_ms": round(statistics.median(inferences), 2) if inferences else None,
        "cold_first_prediction_ms": round(min(v["cold_first_ms"] for v in visits), 1),
        "warm_first_prediction_ms": round(statistics.median(ms for v in visits for ms in v["warm_firsts"]), 1),
        "warm_visits": len(warm_startups),
        # Where a warm visit's start-up went: each stage's end, in ms after navigation (medians over the visits
        # that report it).
        "warm_startup_ms": {stage: round(statistics.median(v[stage] for v in warm_startups if stage in v), 1)
                            for stage in stages},
        "bytes_first_visit": visits[0]["bytes_first"],
        "bytes_return_visit": max(v["bytes_return"] for v in visits),
        "threads": visits[0]["threads"],
    }


def _harness(root: Path, layers_dir: Path) -> None:
    from builder.site import vendor

    root.mkdir(parents=True)
    for name in ("harness.html", "harness.js"):
        shutil.copyfile(HARNESS / name, root / name)
    shutil.copyfile(TEMPLATES / "js" / "tfjs-fixes.js", root / "tfjs-fixes.js")
    shutil.copyfile(HARNESS / "harness.html", root / "index.html")
    runtime = vendor.locate()
    (root / "vendor").mkdir()
    for source, name in zip(vendor.full_scripts(runtime), HARNESS_SCRIPTS, strict=True):
        shutil.copyfile(source, root / "vendor" / name)
    shutil.copyfile(runtime.sources[vendor.webgpu_script()], root / "vendor" / HARNESS_WEBGPU)
    for path, source in runtime.sources.items():
        if path.endswith(".wasm"):
            shutil.copyfile(source, root / path)
    # Without the site's .br/.gz copies: the harness's server sends every model uncompressed, as its bytes say.
    shutil.copytree(layers_dir, root / "layers", ignore=shutil.ignore_patterns("*.br", "*.gz"))


PROFILE_RUNS = 30  # --profile: inferences traced per thread setting, at least (--max-seconds still caps them)


def _harness_run(chromium: Any, url: str, fmt: str, model_url: str, backend: str, threads: int | None,
                 input_size: tuple, opts: BenchOptions, trace: Path | None = None) -> dict[str, Any]:
    """One harness page: ``{loadMs, firstMs, times, threads, output, cpuMs}``, or ``{error}`` (one line)
    when the runtime fails to load or run the model. ``cpuMs`` is the CPU time the page's renderer
    process (its main thread, workers and WASM threads together) used during the timed runs. With
    ``trace``, the timed runs are traced with V8's CPU profiler instead: the trace is written there and
    ``profile`` holds :func:`builder.bench.profile.summarise`'s figures (no ``cpuMs``)."""
    from playwright.sync_api import Error

    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(f"{url}harness.html", timeout=PAGE_TIMEOUT_MS)
        got = page.evaluate("(o) => window.benchLoad(o)", {
            "format": fmt, "url": model_url, "backend": backend, "threads": threads, "inputSize": list(input_size)})
        # A profile is a sample (one every few hundred microseconds): a few runs of a small model give too few
        # samples to say where the time went, so a traced run makes at least PROFILE_RUNS.
        runs = opts.runs if trace is None else max(opts.runs, PROFILE_RUNS)
        timed = ("(o) => window.benchTime(o)", {"runs": runs, "maxMs": opts.max_seconds * 1000})
        if trace is None:
            before = _renderer_cpu_ms(chromium)
            got.update(page.evaluate(*timed))
            after = _renderer_cpu_ms(chromium)
            got["cpuMs"] = after - before if before is not None and after is not None else None
        else:
            chromium.start_tracing(page=page, categories=list(profiling.CATEGORIES))
            try:
                got.update(page.evaluate(*timed))
            finally:
                traced = chromium.stop_tracing()
            got["profile"] = profiling.summarise(profiling.write(traced, trace), len(got["times"]))
        return got
    except Error as e:
        reason = str(e).splitlines()[0]
        for prefix in ("Page.evaluate: ", "Error: "):
            reason = reason.removeprefix(prefix)
        log.warning("bench: the %s model on %s failed: %s", fmt, backend, reason)
        return {"error": reason}
    finally:
        context.close()


def _renderer_cpu_ms(chromium: Any) -> float | None:
    """CPU milliseconds used so far by Chromium's renderer processes (10 ms resolution), from the
    DevTools protocol's SystemInfo; None where the browser does not report it."""
    from playwright.sync_api import Error

    try:
        session = chromium.new_browser_cdp_session()
        try:
            info = session.send("SystemInfo.getProcessInfo")["processInfo"]
        finally:
            session.detach()
    except Error:
        return None
    return 1000 * sum(p.get("cpuTime", 0) for p in info if p.get("type") == "renderer")


def _keras_model(data: report.BuildReport, site: Path) -> Any:
    """The Keras model the site was built from: its recorded model file, or the stock model with its recorded
    options and weights file (absolute paths, so that bench may run from another folder; found beside the
    ``site`` folder when the project moved as a whole), with the head the build added (a softmax over logits,
    [1 - p, p] from one sigmoid unit: :mod:`builder.convert.heads`), so that it computes what the site's model
    computes, and the baselines converted from it do too."""
    from builder.convert import heads
    from builder.model import tf_runtime
    from builder.model import zoo as models

    tf_runtime.load()
    model_record, weights_record = data.sources.get("model"), data.sources.get("weights")
    source = str(report.source_path(model_record, site)) if model_record else data.model
    weights = (str(report.source_path(weights_record, site)) if weights_record
               else data.options.get("weights") or "imagenet")
    model, _ = models.load(source, alpha=data.options.get("alpha") or 1.0,
                           input_size=data.options.get("input_size"), weights=weights)
    if not data.head:
        return model
    known = {f.name for f in dataclasses.fields(heads.Head)}  # a report of another version may hold more
    return heads.apply(model, heads.Head(**{k: v for k, v in data.head.items() if k in known}))


def _ratios(result: BenchResult) -> dict[str, float]:
    """Ratios of medians within this run. Rows that failed or disagree with Keras are left out:
    they do not time the same computation (the site's own rows, whose weights differ only by their quantization,
    stay). So are pairs that ran on different thread counts."""
    ratios = {}
    native = result.native

    def timed(fmt: str, config: str) -> dict[str, Any] | None:
        row = result.harness.get(fmt, {}).get(config)
        same = row and "error" not in row and (row["parity"]["ok"] or _differs_by_quantization(row["parity"]))
        return row if same else None

    def paired(a: dict[str, Any], b: dict[str, Any]) -> bool:
        """Whether two rows ran on as many threads (a WASM row on one thread against TensorFlow on every CPU
        would measure the thread count; a row without threads, WebGL's or the cpu backend's, pairs with any)."""
        return a.get("threads") is None or b.get("threads") is None or a["threads"] == b["threads"]

    configs = [config for backend in result.options["backends"] for config, _ in _thread_configs(backend)]
    for config in configs:
        layers, graph, lite = timed("layers", config), timed("graph", config), timed("litert", config)
        if layers and graph:
            ratios[f"{config}: layers / graph"] = round(layers["median_ms"] / graph["median_ms"], 3)
        if layers and native and paired(layers, native):
            ratios[f"{config}: layers / native"] = round(layers["median_ms"] / native["median_ms"], 3)
        site = result.site_backends.get(config)
        site = site if site and "error" not in site else None
        if site and native and paired(site, native):
            ratios[f"{config}: site classify / native"] = round(site["median_ms"] / native["median_ms"], 3)
        if lite:
            for fmt in ("layers", "graph", "onnx"):
                row = timed(fmt, config)
                if row:
                    ratios[f"{config}: {fmt} / litert"] = round(row["median_ms"] / lite["median_ms"], 3)
            if site and paired(site, lite):  # a site built with --wasm-threads 1 runs one thread in its wasm row
                ratios[f"{config}: site classify / litert"] = round(site["median_ms"] / lite["median_ms"], 3)
                if site.get("inference_median_ms"):
                    ratios[f"{config}: site inference / litert"] = round(
                        site["inference_median_ms"] / lite["median_ms"], 3)
    # Thread scaling: one thread's median over all CPUs', per format (and the site).
    if "wasm" in result.options["backends"]:
        for fmt in result.harness:
            one, many = timed(fmt, "wasm-1thread"), timed(fmt, "wasm")
            if one and many and (many.get("threads") or 0) > (one.get("threads") or 1):
                ratios[f"{fmt}: 1 thread / {many['threads']} threads"] = round(one["median_ms"] / many["median_ms"], 3)
        one, many = result.site_backends.get("wasm-1thread"), result.site_backends.get("wasm")
        # A site built with --wasm-threads 1 runs one thread in both rows: no scaling to measure.
        if one and many and "error" not in one and "error" not in many \
                and (many.get("threads") or 0) > (one.get("threads") or 1):
            ratios[f"site: 1 thread / {many.get('threads')} threads"] = round(one["median_ms"] / many["median_ms"], 3)
            if one.get("inference_median_ms") and many.get("inference_median_ms"):
                ratios[f"site inference: 1 thread / {many.get('threads')} threads"] = round(
                    one["inference_median_ms"] / many["inference_median_ms"], 3)
    return ratios


def _diff(check: dict[str, Any]) -> str:
    return "-" if check.get("max_abs_diff") is None else f"{check['max_abs_diff']:.1e}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}ms" if value >= 10 else f"{value:.1f}ms"


def _bytes(n: int) -> str:
    return f"{n / 1e6:.2f}MB" if n >= 1e5 else f"{n / 1e3:.0f}KB"
