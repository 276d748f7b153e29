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

Figures are measurements, not assertions: nothing here fails because it is slow.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import statistics
import tempfile
import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

from builder import __version__, browser, report
from builder.bench import graph_model as baseline
from builder.errors import BrowsernetError
from builder.progress import Reporter
from builder.site.render import TEMPLATES

log = logging.getLogger(__name__)

BACKENDS = ("wasm", "webgl", "cpu")
HARNESS = TEMPLATES / "bench"
# The harness page loads TF.js's complete scripts under these fixed names: the site's own
# runtime bundle has no converter, and the graph-model baseline needs it.
HARNESS_SCRIPTS = ("tf.js", "tf-backend-wasm.js")
PAGE_TIMEOUT_MS = 180_000
# Return visits are quick and noisy: the figures are the median of this many.
WARM_VISITS = 5


@dataclass(frozen=True)
class BenchOptions:
    site: Path = Path("site")
    backends: tuple[str, ...] = BACKENDS
    runs: int = 20
    max_seconds: float = 30.0  # per measurement loop: slow backends stop early (after at least 3 runs)
    baseline: bool = True  # also time the TF.js graph model
    native: bool = True  # also time Keras natively


@dataclass
class BenchResult:
    """What :func:`bench` measured; :meth:`as_json` is what ``--json`` writes. Times in milliseconds, sizes in bytes."""

    site: str
    model: dict[str, Any]  # the measured site's model, from its report.json
    machine: dict[str, Any]  # cpus, platform, python, chromium
    options: dict[str, Any]  # backends, runs, max_seconds
    site_backends: dict[str, dict[str, Any]] = field(default_factory=dict)  # backend -> the site's figures
    harness: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # format -> backend -> figures
    native: dict[str, Any] | None = None  # Keras on this CPU
    ratios: dict[str, float] = field(default_factory=dict)  # paired ratios between the rows above
    browsernet: str = __version__

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def bench(opts: BenchOptions, reporter: Reporter | None = None) -> BenchResult:
    """Measure ``opts.site``: the site on each backend, the TF.js layers and graph models in one harness, and
    Keras natively. Raises :class:`~builder.errors.BrowsernetError` for a folder that is not a built site,
    bad options, or a browser that cannot be started."""
    reporter = reporter or Reporter()
    data = _check(opts)
    result = BenchResult(
        site=str(opts.site),
        model={"model": data.model, "family": data.family, "alpha": data.alpha, "input_size": data.input_size,
               "classes": data.classes, "layers": data.layers, "quantization": data.quantization,
               "model_bytes": data.model_bytes, "total_bytes": data.total_bytes},
        machine={"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        options={"backends": list(opts.backends), "runs": opts.runs, "max_seconds": opts.max_seconds},
    )
    input_size = tuple(data.input_size)
    with browser.launch() as chromium, tempfile.TemporaryDirectory(prefix="browsernet-bench-") as tmp:
        result.machine["chromium"] = chromium.version
        with _serving(opts.site) as (url, sent):
            for backend in opts.backends:
                with reporter.step(f"site on {backend}: load, warm-up, {opts.runs} classifications, return visit"):
                    result.site_backends[backend] = _site(chromium, url, sent, backend, input_size, opts)
            if "wasm" in opts.backends and (os.cpu_count() or 1) > 1:
                # The site's threaded WASM against one thread, on this machine.
                with reporter.step("site on wasm with 1 thread"):
                    result.site_backends["wasm-1thread"] = _site(chromium, url, sent, "wasm", input_size, opts,
                                                                    "&threads=1")
        model = None
        if opts.baseline or opts.native:
            with reporter.step("loading the Keras model"):
                model = _keras_model(data)
        if opts.native:
            with reporter.step(f"native Keras: {opts.runs} inferences"):
                result.native = baseline.native_latency(model, input_size, opts.runs, opts.max_seconds)
        root = Path(tmp) / "harness"
        _harness(root, opts.site / "model")
        formats = {"layers": "layers/model.json"}
        if opts.baseline:
            with reporter.step("converting to a TF.js graph model (the baseline)"):
                graph_json = baseline.graph_model(model, Path(tmp) / "baseline")
                shutil.copytree(graph_json.parent, root / "graph")
            formats["graph"] = "graph/model.json"
        with _serving(root) as (url, _):
            # Two alternating rounds (layers, graph, layers, graph), so a slow spell on the
            # machine does not land on one format only; each round does half the runs.
            rounds: dict[tuple[str, str], list[dict]] = {}
            half = BenchOptions(**{**opts.__dict__, "runs": max(3, opts.runs // 2),
                                   "max_seconds": opts.max_seconds / 2})
            for round_no in (1, 2):
                for backend in opts.backends:
                    for fmt, model_url in formats.items():
                        with reporter.step(f"{fmt} model on {backend}, round {round_no} of 2"):
                            rounds.setdefault((fmt, backend), []).append(_harness_run(
                                chromium, url, fmt, model_url, backend, input_size, half))
            for (fmt, backend), runs in rounds.items():
                result.harness.setdefault(fmt, {})[backend] = {
                    "load_ms": round(min(r["loadMs"] for r in runs), 1),
                    "first_ms": round(min(r["firstMs"] for r in runs), 1),
                    **baseline.summarise([t for r in runs for t in r["times"]]),
                    "threads": runs[0]["threads"]}
    result.ratios = _ratios(result)
    return result


def write_json(result: BenchResult, path: Path) -> None:
    try:
        path.write_text(json.dumps(result.as_json(), indent=2) + "\n")
    except OSError as e:
        raise BrowsernetError(f"{path}: cannot write the bench results: {e.strerror or e}") from e


def table(result: BenchResult) -> list[str]:
    """The figures as a few aligned lines for the terminal."""
    lines = [f"{'site':<14}{'load':>9}{'1st inf':>9}{'median':>9}{'p90':>9}{'1st cold':>10}{'1st warm':>10}"
             f"{'bytes 1st':>11}{'bytes ret':>11}{'threads':>8}"]
    for backend, f in result.site_backends.items():
        lines.append(f"{backend:<14}{_ms(f['load_ms']):>9}{_ms(f['first_inference_ms']):>9}{_ms(f['median_ms']):>9}"
                     f"{_ms(f['p90_ms']):>9}{_ms(f['cold_first_prediction_ms']):>10}"
                     f"{_ms(f['warm_first_prediction_ms']):>10}{_bytes(f['bytes_first_visit']):>11}"
                     f"{_bytes(f['bytes_return_visit']):>11}{f.get('threads') or '-':>8}")
    for backend, f in result.site_backends.items():
        stages = sorted(f.get("warm_startup_ms", {}).items(), key=lambda item: item[1])
        if stages:
            marks = " · ".join(f"{stage} {_ms(ms)}" for stage, ms in stages)
            lines.append(f"{backend} warm start-up, ms after navigation: {marks} · "
                         f"first prediction {_ms(f['warm_first_prediction_ms'])}")
    if result.harness:
        lines.append(f"{'harness':<14}{'format':>9}{'load':>9}{'first':>9}{'median':>9}{'p90':>9}")
        for fmt, backends in result.harness.items():
            for backend, f in backends.items():
                lines.append(f"{backend:<14}{fmt:>9}{_ms(f['load_ms']):>9}{_ms(f['first_ms']):>9}"
                             f"{_ms(f['median_ms']):>9}{_ms(f['p90_ms']):>9}")
    if result.native:
        n = result.native
        lines.append(f"native Keras (TensorFlow, CPU): median {_ms(n['median_ms'])}, p90 {_ms(n['p90_ms'])}")
    for name, value in result.ratios.items():
        lines.append(f"{name}: {value:.2f}")
    return lines


def _check(opts: BenchOptions) -> report.BuildReport:
    data = report.load(opts.site)
    if data is None:
        raise BrowsernetError(f"{opts.site}: not a built site (no {report.REPORT_FILE}); "
                              "run 'browsernet build-site' first")
    unknown = [b for b in opts.backends if b not in BACKENDS]
    if unknown or not opts.backends:
        raise BrowsernetError(f"--backends {','.join(opts.backends)}: choose from {', '.join(BACKENDS)}")
    if opts.runs < 3:
        raise BrowsernetError(f"--runs must be at least 3, got {opts.runs}")
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


def _visit(context: Any, url: str, size: list[int]) -> tuple[Any, float, float]:
    """Open the page; return it, the time from navigation to ready, and to the first prediction."""
    from playwright.sync_api import Error

    page = context.new_page()
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
            threads = stats.get("threads") if stats else None
        except Error as e:
            raise BrowsernetError(f"{url}: classification failed in Chromium: {str(e).splitlines()[0]}") from e
        page.close()
        warm_firsts, warm_startups, bytes_return = [], [], 0
        for _ in range(WARM_VISITS):
            sent.clear()
            page, _, first = _visit(context, f"{url}?backend={backend}{query}", size)
            bytes_return = max(bytes_return, sum(sent.values()))
            warm_firsts.append(first)
            warm_startups.append(page.evaluate("window.browsernet.stats().startup") or {})
            page.close()
    finally:
        context.close()
    figures = baseline.summarise(times)
    return {
        "load_ms": round(load_ms, 1),
        "first_inference_ms": round(stats["warmupMs"], 1) if stats and stats.get("warmupMs") is not None else None,
        **figures,
        "cold_first_prediction_ms": round(cold_first, 1),
        "warm_first_prediction_ms": round(statistics.median(warm_firsts), 1),
        "warm_visits": WARM_VISITS,
        # Where a warm visit's start-up went: each stage's end, in ms after navigation (medians).
        "warm_startup_ms": {stage: round(statistics.median(v[stage] for v in warm_startups), 1)
                            for stage in warm_startups[0] if all(stage in v for v in warm_startups)},
        "bytes_first_visit": bytes_first,
        "bytes_return_visit": bytes_return,
        "threads": threads,
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
    for path, source in runtime.sources.items():
        if path.endswith(".wasm"):
            shutil.copyfile(source, root / path)
    shutil.copytree(layers_dir, root / "layers")


def _harness_run(chromium: Any, url: str, fmt: str, model_url: str, backend: str, input_size: tuple,
                 opts: BenchOptions) -> dict[str, Any]:
    """One harness page: ``{loadMs, firstMs, times, threads}``."""
    from playwright.sync_api import Error

    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(f"{url}harness.html", timeout=PAGE_TIMEOUT_MS)
        got = page.evaluate("(o) => window.benchModel(o)", {
            "format": fmt, "url": model_url, "backend": backend, "inputSize": list(input_size),
            "runs": opts.runs, "maxMs": opts.max_seconds * 1000})
    except Error as e:
        raise BrowsernetError(f"bench harness: the {fmt} model on {backend} failed: {str(e).splitlines()[0]}") from e
    finally:
        context.close()
    return got


def _keras_model(data: report.BuildReport) -> Any:
    """The Keras model the site was built from: its recorded model file, or the stock model with its recorded
    options and weights file (absolute paths, so that bench may run from another folder)."""
    from builder.model import tf_runtime
    from builder.model import zoo as models

    tf_runtime.load()
    source = data.sources.get("model", {}).get("path", data.model)
    weights = data.sources.get("weights", {}).get("path", data.options.get("weights", "imagenet"))
    model, _ = models.load(source, alpha=data.options.get("alpha", 1.0),
                           input_size=data.options.get("input_size", 224), weights=weights)
    return model


def _ratios(result: BenchResult) -> dict[str, float]:
    ratios = {}
    harness = result.harness
    native = result.native
    for backend in result.options["backends"]:
        layers = harness.get("layers", {}).get(backend)
        graph = harness.get("graph", {}).get(backend)
        if layers and graph:
            ratios[f"{backend}: layers / graph"] = round(layers["median_ms"] / graph["median_ms"], 3)
        if layers and native:
            ratios[f"{backend}: layers / native"] = round(layers["median_ms"] / native["median_ms"], 3)
        site = result.site_backends.get(backend)
        if site and native:
            ratios[f"{backend}: site classify / native"] = round(site["median_ms"] / native["median_ms"], 3)
    return ratios


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}ms" if value >= 10 else f"{value:.1f}ms"


def _bytes(n: int) -> str:
    return f"{n / 1e6:.2f}MB" if n >= 1e5 else f"{n / 1e3:.0f}KB"
