"""Drive a site in headless Chromium and gather what :mod:`builder.verify.checks` judges.

One browser, one context (so the service worker, its cache and the HTTP cache carry from one
visit to the next, as for a real visitor). With ``webgpu`` asked, Chromium starts with its WebGPU
flags and must first offer the site an adapter (else one :class:`VerifyError` line). Then:

1. the first visit, with the backend the page picks (or the first one asked for);
2. the site's files fetched directly from the host: every file of the build, compared with
   report.json's sha256, as are the bytes the first visit's page and workers received for them;
3. a return visit to the same URL, counting the model bytes that came from the network;
4. one visit per other backend asked for (``?backend=NAME``);
5. the last page reloaded with the network cut off.

On every visit that becomes ready, the page classifies the report's reference images, recreated
here exactly (``sample_images``, PNG, at the model's input size, so the page's resize leaves
them as they are) through ``window.browsernet.classify`` as a visitor's files are.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import math
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

from builder import report as reports
from builder.errors import OptionError, VerifyError
from builder.progress import Reporter
from builder.site import hosting
from builder.site.render import CONFIG_FILE
from builder.verify import checks
from builder.verify.checks import Check, Privacy, Served, Visit

log = logging.getLogger(__name__)

AUTO = "auto"
WEBGPU = "webgpu"
BACKENDS = (WEBGPU, "webgl", "wasm", "cpu")
DEFAULT_BACKENDS = (AUTO, "wasm")
DEFAULT_TIMEOUT = 180.0  # seconds for one visit to settle (a first visit on a slow link or a slow CPU)
MAX_TIMEOUT = 86400.0  # seconds: --timeout's most (a day)
REPORT_TIMEOUT = 30.0  # seconds for report.json, the first request (at most --timeout)

# A Playwright wait_for_function must be given a *function*: a bare expression is evaluated with
# eval, which the page's Content-Security-Policy refuses (no 'unsafe-eval').
SETTLED = "() => document.body !== null && (document.body.dataset.state || 'loading') !== 'loading'"
PAGE_FACTS = """() => ({
  state: document.body.dataset.state,
  error: (document.getElementById('error') || {}).textContent || '',
  backend: window.browsernet ? window.browsernet.backend : null,
  thread: window.browsernet ? window.browsernet.thread : null,
  threads: window.browsernet ? window.browsernet.stats().threads : null,
  isolated: self.crossOriginIsolated === true,
  controlled: Boolean(navigator.serviceWorker && navigator.serviceWorker.controller),
  secure: self.isSecureContext === true,
  labels: window.browsernet && window.browsernet.labels ? Array.from(window.browsernet.labels, String) : null,
})"""
# PNG files, as a visitor's files: classify(Blob) decodes them without colour conversion.
CLASSIFY_PNGS = """async (pngs) => {
  const n = window.browsernet.labels.length;
  const out = [];
  for (const b64 of pngs) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const results = await window.browsernet.classify(new Blob([bytes], { type: 'image/png' }), n);
    const row = new Array(n).fill(0);
    for (const { index, probability } of results) row[index] = probability;
    out.push(row);
  }
  return out;
}"""
# Violations reported as events, besides Chromium's own console message.
CSP_LISTENER = """document.addEventListener('securitypolicyviolation', (e) => console.error(
  'securitypolicyviolation ' + e.violatedDirective + ' ' + e.blockedURI + ' at ' + e.sourceFile + ':' + e.lineNumber));"""


@dataclass(frozen=True)
class VerifyOptions:
    target: str  # a URL (http:// or https://) or a local site folder
    backends: tuple[str, ...] = DEFAULT_BACKENDS  # "auto" (the page's pick) and/or backends to force
    timeout: float = DEFAULT_TIMEOUT  # seconds per visit
    # For a URL: the local site folder whose build the host should serve. Its report.json, not the host's, is
    # then what the files and answers are checked against, and a host serving another build fails Right files.
    expect: str | None = None


@dataclass(frozen=True)
class _Target:
    """Where the page is and what it is checked against."""

    url: str  # the page's URL (a folder's ends in /)
    stale: str | None = None  # a local build's input file that changed since (report.stale_sources's clause)
    extra: list[str] = field(default_factory=list)  # files in a local site folder that the build did not write
    expected: dict[str, Any] | None = None  # --expect: that folder's report.json, as published
    expected_from: str | None = None  # --expect's folder
    links: list[str] = field(default_factory=list)  # symbolic links in a local site folder (the build writes none)
    edited: list[str] = field(default_factory=list)  # a local site's CNAME, changed since the build (deploy checks it)


@dataclass
class VerifyResult:
    target: str
    url: str  # the page's URL (for a folder: where the preview server served it)
    checks: list[Check]
    visits: list[Visit]
    seconds: float
    version: str | None = None  # browsernet version that built the site, from its report.json
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, "url": self.url, "ok": self.ok, "seconds": round(self.seconds, 2),
                "built_by": self.version, "checks": [asdict(c) for c in self.checks],
                "visits": [{k: v for k, v in asdict(visit).items() if k != "probabilities"} for visit in self.visits]}


def verify(options: VerifyOptions, reporter: Reporter | None = None) -> VerifyResult:
    """Run every check on ``options.target``; the result holds one :class:`Check` per row of the table.

    Raises :class:`~builder.errors.VerifyError` when the site cannot be verified at all: no such folder,
    no report.json at the URL, Chromium or Playwright missing. Failed checks are in the result, not raised.
    """
    reporter = reporter or Reporter()
    started = time.perf_counter()
    check_options(options)
    from builder.browser import WEBGPU_ARGS, launch

    with _site_url(options.target, options.expect) as target:
        # says how to get Playwright or Chromium if either is missing; WebGPU needs its flags
        with launch(WEBGPU_ARGS if WEBGPU in options.backends else None) as browser:
            from playwright.sync_api import Error

            context = browser.new_context()
            try:
                if _is_url(options.target):
                    final, redirected = _final_url(context, target.url, options.timeout)
                    if redirected and final != target.url:
                        reporter.note(f"{target.url} redirects to {final}: verifying the site there, where "
                                      "visitors end up")
                    target = replace(target, url=final)
                checks_, visits, data = _drive(context, target, options, reporter)
            except Error as e:  # the browser itself failed (crashed, closed): not a verdict on the site
                raise VerifyError(f"{target.url}: Chromium failed while verifying: {_first_line(str(e))}") from e
            finally:
                context.close()
    return VerifyResult(options.target, target.url, checks_, visits, time.perf_counter() - started,
                        data.get("version"))


def table(result: VerifyResult) -> list[str]:
    """The result for people: one line per check, ✓ or ✗, then the reason."""
    width = max(len(c.name) for c in result.checks)
    lines = [f"{'✓' if c.ok else '✗'} {c.name:<{width}}  {c.detail}" for c in result.checks]
    failed = sum(not c.ok for c in result.checks)
    verdict = "all checks pass" if not failed else f"{failed} of {len(result.checks)} checks failed"
    lines.append(f"{result.url}: {verdict} ({result.seconds:.1f}s)")
    return lines


def write_json(result: VerifyResult, stream: Any) -> None:
    json.dump(result.as_dict(), stream, indent=2)
    stream.write("\n")


def check_options(options: VerifyOptions) -> None:
    """Raise :class:`~builder.errors.OptionError` (one line) for --backends naming nothing, or a backend the
    page does not know; cheap, so the CLI calls it before it starts anything."""
    if not options.backends:
        raise OptionError(f"--backends: name at least one of {AUTO}, {', '.join(BACKENDS)}")
    for backend in options.backends:
        if backend != AUTO and backend not in BACKENDS:
            raise OptionError(f"--backends {backend}: choose from {AUTO}, {', '.join(BACKENDS)}")
    twice = sorted({b for b in options.backends if options.backends.count(b) > 1})
    if twice:
        raise OptionError(f"--backends {','.join(options.backends)}: {', '.join(twice)} named twice")
    # Chromium's timers hold at most 2**31 ms (about 25 days): past that a wait ends at once, and every visit
    # "timed out", the site blamed.
    if not (math.isfinite(options.timeout) and 1 <= options.timeout <= MAX_TIMEOUT):
        raise OptionError(f"--timeout {options.timeout:g}: give the seconds a visit may take, from 1 to {MAX_TIMEOUT:g} "
                          "(a day)")
    if options.expect is not None and not _is_url(options.target):
        raise OptionError(f"--expect is for a URL: the site folder {options.target} is checked against its own "
                          f"{reports.REPORT_FILE}")


def check_target(target: str) -> None:
    """Raise :class:`~builder.errors.VerifyError` (one line) for a target that is neither an http(s) URL nor a
    folder; cheap, so the CLI calls it before it says it is verifying anything."""
    if not _is_url(target) and not Path(target).is_dir():
        raise VerifyError(f"{target}: neither a URL (http:// or https://) nor a site folder")


def _is_url(target: str) -> bool:
    return re.match(r"^https?://", target, re.I) is not None


def _local_build(site: Path) -> dict[str, Any]:
    """The report of the browsernet build in the folder ``site`` (:func:`report.read`), or one-line VerifyError."""
    if site.is_dir():
        data = reports.read(site)
        if data is not None:
            return data
        reports.load(site)  # a report.json that is there but broken, or another tool's, is said as such
    raise VerifyError(reports.not_a_site(site))


@contextmanager
def _site_url(target: str, expect: str | None = None) -> Iterator[_Target]:
    """A URL as given (a folder's URL ends in /), or a local site folder served by browsernet's preview server
    on a free port until the block ends. A stale input file is known for a local folder, or ``expect``'s."""
    if _is_url(target):
        try:
            parts = urlsplit(target)
            parts.port  # noqa: B018 - raises ValueError for a port that is no number or out of range
        except ValueError as e:
            raise VerifyError(f"{target}: not a valid URL ({e})") from e
        if not parts.hostname:
            raise VerifyError(f"{target}: a URL with no host name; give the site's address, e.g. "
                              "https://USER.github.io/REPO/")
        url = _folder_url(target)
        if parts.query or parts.fragment:
            left_out = (f"?{parts.query}" if parts.query else "") + (f"#{parts.fragment}" if parts.fragment else "")
            log.warning("%s: verify leaves out %s; it visits %s as a visitor does, with ?backend=NAME for each of "
                        "--backends", target, left_out, url.split("://", 1)[1])
        if expect is None:
            yield _Target(url)
            return
        local = _local_build(Path(expect))
        published = json.loads((Path(expect) / reports.REPORT_FILE).read_text())
        yield _Target(url, reports.stale_sources(local, Path(expect)), [], published, expect)
        return
    check_target(target)
    site = Path(target)
    data = _local_build(site)
    from builder.serve import make_server, url_of

    server = make_server(site, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        from builder.publish.base import symlinks, unlisted

        built_cname = (data.get("sha256") or {}).get(hosting.CNAME)
        cname = site / hosting.CNAME
        edited = [hosting.CNAME] if built_cname and (not cname.is_file() or reports.sha256_of(cname) != built_cname) \
            else []
        yield _Target(url_of(server), reports.stale_sources(data, site), unlisted(site, data.get("files") or {}),
                      links=symlinks(site), edited=edited)
    finally:
        server.shutdown()
        server.server_close()


def _folder_url(url: str, *, landed: bool = False) -> str:
    """The site's folder URL for ``url``, which the checks compare the page's requests with: scheme and host in
    lower case, no default port (:80, :443), the path ending in / (``index.html`` and any ?query or #fragment left
    out). ``http://LOCALHOST:80/app`` is ``http://localhost/app/``. ``landed``: ``url`` is where a redirect ended,
    a page: its folder (``/app/home.html`` is ``/app/``). A host in another script is left to Playwright, whose
    request gives it as Chromium writes it (:func:`_final_url`)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # IPv6
    port = parts.port
    netloc = host if port is None or port == {"http": 80, "https": 443}.get(scheme) else f"{host}:{port}"
    if "@" in parts.netloc:
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
    path = parts.path or "/"
    if landed:
        path = path[: path.rfind("/") + 1] or "/"
    elif path.endswith("/index.html"):
        path = path[: -len("index.html")]
    elif not path.endswith("/"):
        path += "/"
    return f"{scheme}://{netloc}{path}"


def _final_url(context: Any, url: str, timeout: float) -> tuple[str, bool]:
    """The site's folder URL as the browser writes it (``bücher.example`` as ``xn--bcher-kva.example``, a space as
    ``%20``), after the host's redirects (http:// to https://, a github.io address to the custom domain the site
    moved to): where a visitor's browser ends up, which every request the page makes is compared with. And
    whether the host redirected. ``url`` itself when the host cannot be reached (reading report.json says so)."""
    from playwright.sync_api import Error

    ms = min(timeout, REPORT_TIMEOUT) * 1000
    try:
        first = context.request.get(url, timeout=ms, max_redirects=0)
        if 300 <= first.status < 400 and first.headers.get("location"):
            return _folder_url(context.request.get(url, timeout=ms).url, landed=True), True
    except Error:
        return url, False
    return _folder_url(first.url), False


class _Observer:
    """Everything the context's pages, workers and service worker request and log."""

    def __init__(self, context: Any, origin: str) -> None:
        self.origin = origin
        self.recording = True  # off for the offline visit, whose failed update checks are expected
        self.privacy = Privacy()
        self.requested: list[str] = []
        self.responses: list[Any] = []
        self.finished: list[Any] = []  # requests whose response arrived whole (its body can be read without waiting)
        context.add_init_script(CSP_LISTENER)
        context.on("request", self._request)
        context.on("response", lambda r: self.responses.append(r))
        context.on("requestfinished", lambda r: self.finished.append(r))
        context.on("console", self._console)
        context.on("weberror", lambda e: self._error(f"uncaught {e.error.name}: {e.error.message}"))
        context.on("page", self._page)

    def _page(self, page: Any) -> None:
        page.on("worker", lambda w: w.on("console", self._console))
        try:  # Playwright misses some requests (e.g. ones answered from the memory cache); CDP does not
            cdp = page.context.new_cdp_session(page)
            cdp.on("Network.requestWillBeSent", lambda e: self._request_url(e["request"]["url"]))
            cdp.send("Network.enable")
        except Exception as e:  # noqa: BLE001 - CDP is Chromium's; the Playwright events remain
            log.debug("no CDP session for %s: %s", page, e)

    def _request(self, request: Any) -> None:
        self._request_url(request.url)

    def _request_url(self, url: str) -> None:
        self.requested.append(url)
        if self.recording and not checks.same_origin(url, self.origin) and url not in self.privacy.foreign:
            self.privacy.foreign.append(url)

    def _console(self, message: Any) -> None:
        if message.type != "error" or not self.recording:
            return
        text = message.text
        if "securitypolicyviolation" in text or "Content Security Policy" in text:
            self.privacy.csp.append(text)
        else:
            self._error(text)

    def _error(self, text: str) -> None:
        if self.recording:
            self.privacy.errors.append(text)


def _drive(context: Any, target: _Target, options: VerifyOptions,
           reporter: Reporter) -> tuple[list[Check], list[Visit], dict]:
    url = target.url
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    observer = _Observer(context, origin)
    with reporter.step(f"reading {url}{reports.REPORT_FILE}"):
        data = host = _fetch_report(context, url, options.timeout)
    other_build = None
    if target.expected is not None:
        other_build = checks.other_build(data, target.expected, target.expected_from)
        data = target.expected  # the build that should be live is the reference, whatever the host's report says
    if WEBGPU in options.backends:
        with reporter.step("asking Chromium for a WebGPU adapter"):
            _require_webgpu(context.browser, url)
    pngs = _reference_pngs(data)
    timeout_ms = options.timeout * 1000
    backends = list(dict.fromkeys(options.backends))
    first_asked = backends.pop(0)

    with reporter.step(f"first visit ({'the page picks the backend' if first_asked == AUTO else first_asked})"):
        page, first = _visit(context, url, first_asked, timeout_ms, pngs)
    received = _received(observer.finished, url, data)  # while the page is open: its bodies go with it
    with reporter.step("fetching the site's files from the host"):
        served, headers = _served(context, url, data, observer.requested)
    page.close()

    visits = [first]
    if first.state == "timeout":  # every later visit would wait as long again: name the cause once
        skipped = Visit(first_asked, "timeout", f"{checks.NOT_TRIED}: the first visit never became ready")
        second = off = skipped
        downloaded: dict[str, int] = {}
    else:
        mark = len(observer.responses)
        with reporter.step("return visit"):
            page, second = _visit(context, url, first_asked, timeout_ms, [])
        downloaded = _model_downloads(observer.responses[mark:], url)
        for backend in backends:
            if backend == first.backend and first_asked == AUTO:
                continue  # the page's pick is this backend already
            page.close()
            with reporter.step(f"visit with ?backend={backend}"):
                page, visit = _visit(context, url, backend, timeout_ms, pngs)
            visits.append(visit)

        observer.recording = False
        with reporter.step("offline visit"):
            context.set_offline(True)
            try:
                off = _reload(page, visits[-1].asked, timeout_ms, pngs)
            finally:
                context.set_offline(False)
        page.close()

    wasm = [s for s in served if s.path.endswith(".wasm")]
    result = [
        checks.loads(visits),
        checks.right_files(data, served, target.stale, target.extra, other_build,
                           f"{target.expected_from.rstrip('/')}/{reports.REPORT_FILE}" if target.expected_from
                           else reports.REPORT_FILE, received, target.links, target.edited),
        checks.right_answers(data, visits, checks.built_labels(data, served, _expected_config(target)),
                             other_build=other_build is not None),
        checks.private(origin, observer.privacy),
        checks.host(first, headers, wasm),
        checks.return_visit(second, downloaded),
        checks.offline(off, data),
    ]
    return result, visits, host  # the host's report: the version it names is what the host serves


def _expected_config(target: _Target) -> bytes | None:
    """``--expect``'s config.json, as the build wrote it there: the labels the host's page must show."""
    if target.expected_from is None:
        return None
    try:
        return (Path(target.expected_from) / CONFIG_FILE).read_bytes()
    except OSError:
        return None


def _require_webgpu(browser: Any, url: str) -> None:
    """Raise :class:`VerifyError` (one line) when Chromium offers the site no WebGPU adapter: the
    ``?backend=webgpu`` visit would then run on another backend, and verify nothing about WebGPU."""
    from builder.browser import webgpu_unavailable

    reason = webgpu_unavailable(browser, url + reports.REPORT_FILE)
    if reason is not None:
        raise VerifyError(f"--backends {WEBGPU}: Chromium offers no WebGPU adapter here ({reason}); "
                          f"leave {WEBGPU} out of --backends to verify the others")


def _fetch_report(context: Any, url: str, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    from playwright.sync_api import Error

    try:
        # A small file: a host that holds it longer than REPORT_TIMEOUT is as good as unreachable, whatever a visit
        # may take to become ready (--timeout, 180 s by default).
        response = context.request.get(url + reports.REPORT_FILE, timeout=min(timeout, REPORT_TIMEOUT) * 1000)
    except Error as e:
        raise VerifyError(f"{url}: cannot be reached ({_first_line(str(e))})") from e
    if response.status != 200:
        raise VerifyError(f"{url}{reports.REPORT_FILE}: HTTP {response.status}; is this a site built by browsernet, "
                          "deployed with its report.json?")
    try:
        data = json.loads(response.body())
    except ValueError as e:
        raise VerifyError(f"{url}{reports.REPORT_FILE}: not JSON ({response.headers.get('content-type')}); is this "
                          "a site built by browsernet?") from e
    if not isinstance(data, dict) or data.get("generator") != reports.GENERATOR:
        raise VerifyError(f"{url}{reports.REPORT_FILE}: not a browsernet build report")
    return data


def _reference_pngs(data: dict[str, Any]) -> list[str]:
    """The report's reference images as base64 PNGs (lossless, 8-bit RGB, no colour profile)."""
    import numpy as np
    from PIL import Image

    from builder.convert.self_check import SAMPLE_SEED, sample_images

    recipe = data.get("reference", {}).get("images")
    if not recipe:
        return []
    if recipe.get("generator") != "sample_images" or recipe.get("seed") != SAMPLE_SEED:
        raise VerifyError(f"report.json's reference images ({recipe}) are not ones this browsernet can make; "
                          "verify with the browsernet version that built the site, or rebuild it")
    pngs = []
    for image in sample_images(tuple(recipe["size"]), int(recipe["count"])):
        buffer = io.BytesIO()
        Image.fromarray(image.astype(np.uint8), "RGB").save(buffer, format="PNG")
        pngs.append(base64.b64encode(buffer.getvalue()).decode("ascii"))
    return pngs


def _visit(context: Any, url: str, asked: str, timeout_ms: float, pngs: list[str]) -> tuple[Any, Visit]:
    page = context.new_page()
    loads = [0]
    page.on("load", lambda _: loads.__setitem__(0, loads[0] + 1))  # documents, not history.replaceState
    from playwright.sync_api import Error

    try:
        page.goto(url if asked == AUTO else f"{url}?backend={asked}", timeout=timeout_ms)
    except Error as e:
        return page, Visit(asked, "error", f"the page did not load: {_first_line(str(e))}")
    visit = _settle(page, asked, timeout_ms, pngs)
    visit.navigations = loads[0]
    return page, visit


def _reload(page: Any, asked: str, timeout_ms: float, pngs: list[str]) -> Visit:
    from playwright.sync_api import Error

    try:
        page.reload(timeout=timeout_ms)
    except Error as e:
        return Visit(asked, "error", f"the page did not load: {_first_line(str(e))}")
    return _settle(page, asked, timeout_ms, pngs)


def _settle(page: Any, asked: str, timeout_ms: float, pngs: list[str]) -> Visit:
    """Wait (through the service worker's isolation reload) until the page is ready or failed; then
    read its facts and classify ``pngs``."""
    from playwright.sync_api import Error

    try:
        state = settled_state(page, timeout_ms)
        facts = page.evaluate(PAGE_FACTS) if state != "timeout" else None
    except Error as e:
        return Visit(asked, "error", _first_line(str(e)))
    if facts is None:
        return Visit(asked, "timeout", f"still loading after {timeout_ms / 1000:.0f}s: {_status(page)}")
    visit = Visit(asked, facts["state"], _first_line(facts["error"]), facts["backend"], facts["thread"],
                  facts["threads"], facts["isolated"], facts["controlled"], facts["secure"], labels=facts["labels"])
    if visit.ready and pngs:
        try:
            visit.probabilities = page.evaluate(CLASSIFY_PNGS, pngs)
        except Error as e:
            visit.classify_error = _first_line(str(e))
    return visit


def settled_state(page: Any, timeout_ms: float = DEFAULT_TIMEOUT * 1000) -> str:
    """Wait until a browsernet page leaves ``loading``, through the service worker's one isolation
    reload; return its ``<body data-state>`` ("ready" or "error"), or "timeout".

    Raises Playwright's ``Error`` if the page keeps navigating away or the browser fails.
    """
    from playwright.sync_api import Error, TimeoutError as PlaywrightTimeout

    deadline = time.monotonic() + timeout_ms / 1000
    for _ in range(4):
        try:
            page.wait_for_function(SETTLED, timeout=max(1.0, (deadline - time.monotonic()) * 1000))
            return page.evaluate("() => document.body.dataset.state")
        except PlaywrightTimeout:
            return "timeout"
        except Error as e:
            if "context was destroyed" not in str(e) and "navigat" not in str(e):
                raise
            page.wait_for_load_state()
    raise Error("the page kept reloading")


def _status(page: Any) -> str:
    try:
        return _first_line(page.evaluate("() => (document.getElementById('status') || {}).textContent || ''"))
    except Exception:  # noqa: BLE001 - only for the message
        return "no status"


def _served(context: Any, url: str, data: dict[str, Any], requested: list[str]) -> tuple[list[Served], dict]:
    """Every file of the build (report.json's sha256), the model files first, and any other site file the page
    requested, as the host sends them (fetched directly, past the service worker); and the page's own response
    headers. Every one but the host's own configuration (.nojekyll, CNAME, firebase.json: hosts need not serve
    it), not only what this visit asked for: a missing WebGPU bundle breaks only the visitors whose page picks
    WebGPU."""
    page_response = _get(context, url, "index.html")
    headers = page_response[1]
    model_json = _get(context, url, checks.MODEL_DIR + "model.json")
    paths = checks.model_paths(data, model_json[0].body if model_json[0].status == 200 else None)
    known = set(data.get("sha256", {})) or set(data.get("files", {}))
    for u in requested:
        if u.startswith(url):
            path = u[len(url):].split("?", 1)[0].split("#", 1)[0] or "index.html"
            if path in known and path != reports.REPORT_FILE:
                paths.append(path)
    paths += [p for p in data.get("files", {}) if p.endswith(".wasm")]
    paths += [p for p in data.get("sha256", {}) if p != reports.REPORT_FILE and p not in hosting.HOST_FILES]
    served = {checks.MODEL_DIR + "model.json": model_json[0], "index.html": page_response[0]}
    for path in dict.fromkeys(paths):
        if path not in served:
            served[path] = _get(context, url, path)[0]
    model_first = sorted(served.values(), key=lambda s: (not s.path.startswith(checks.MODEL_DIR), s.path))
    return model_first, headers


def _get(context: Any, url: str, path: str) -> tuple[Served, dict[str, str]]:
    from playwright.sync_api import Error

    try:
        response = context.request.get(url + ("" if path == "index.html" else path), timeout=120_000)
        headers = {k.lower(): v for k, v in response.headers.items()}
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        return Served(path, response.status, media, response.body()), headers
    except Error as e:
        return Served(path, 0, "", b"", _first_line(str(e))), {}


def _received(finished: list[Any], url: str, data: dict[str, Any]) -> dict[str, str]:
    """Site path -> sha256 of the bytes the page and its workers received for each file the build wrote
    (report.json's sha256), from the host or from the page's service worker, as far as Chromium still
    holds them: a cache that sends browsers another copy than verify's own request gets (it keys on
    headers only browsers send) is seen only here. Decoded bytes: a Content-Encoding is undone first. Only
    ``finished`` requests: the body of one the page gave up on (a .wasm it could not compile) never comes."""
    import hashlib

    from playwright.sync_api import Error

    known = set(data.get("sha256") or {}) - {reports.REPORT_FILE}
    received: dict[str, str] = {}
    for request in finished:
        try:
            response = request.response()
        except Error:  # its page closed
            continue
        if response is None or not response.url.startswith(url) or response.status != 200:
            continue
        path = response.url[len(url):].split("?", 1)[0].split("#", 1)[0] or "index.html"
        if path not in known:
            continue
        try:
            body = response.body()
        except Error as e:  # gone with a navigation (the isolation reload), or read from a cache Chromium keeps
            log.debug("%s: no body to check (%s)", response.url, _first_line(str(e)))
            continue
        if not body:  # Chromium keeps no body for some (the manifest's icons): unknown, not empty
            continue
        digest = hashlib.sha256(body).hexdigest()
        if received.get(path, data["sha256"][path]) == data["sha256"][path]:  # a wrong copy, once seen, stays named
            received[path] = digest
    log.debug("the bytes the page received: %d of the build's %d files (%s)", len(received), len(known),
              ", ".join(sorted(received)))
    return received


def _model_downloads(responses: list[Any], url: str) -> dict[str, int]:
    """Model file path -> bytes that came over the network (not from the service worker, not a 304)."""
    downloaded: dict[str, int] = {}
    for response in responses:
        if not response.url.startswith(url + checks.MODEL_DIR) or response.from_service_worker:
            continue
        if response.status == 304:
            continue
        try:  # bytes that came over the wire: 0 (or less) for the browser's HTTP cache
            size = int(response.request.sizes()["responseBodySize"])
        except Exception:  # noqa: BLE001 - a response without sizes (e.g. its page closed): its body
            try:
                size = len(response.body())
            except Exception:  # noqa: BLE001 - gone: nothing to count
                size = 0
        if size > 0:
            path = response.url[len(url):].split("?", 1)[0]
            downloaded[path] = downloaded.get(path, 0) + size
    return downloaded


def _first_line(text: str) -> str:
    return (str(text).strip().splitlines() or [""])[0][:300]
