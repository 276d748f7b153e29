"""The checks of ``browsernet verify``: pure functions from what the browser and the host showed to a verdict.

:mod:`builder.verify.run` drives Chromium and gathers the observations (:class:`Visit`,
:class:`Served`); each function here turns some of them into one :class:`Check`, with the
reason in words. Nothing here touches the network or a browser, so every verdict is testable
from plain data.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from builder.errors import named
from builder.report import REPORT_FILE, weight_map, without_sha256
from builder.site.hosting import HOST_FILES
from builder.site.render import CONFIG_FILE

# SwiftShader or a GPU computes in float32 with its own rounding: the page's tests hold WebGL to 1e-3
# (README, "Tests"), the build's own tolerance (1e-4) is for WASM and CPU.
WEBGL_TOLERANCE = 1e-3
MODEL_DIR = "model/"
WASM_TYPE = "application/wasm"
HTML_TYPES = ("text/html", "application/xhtml+xml")
MAX_LISTED = 3  # problems named per check; the rest are counted
NOT_TRIED = "not tried"  # a visit skipped because an earlier one never settled


@dataclass(frozen=True)
class Check:
    """One row of verify's table."""

    name: str
    ok: bool
    detail: str  # what was found (✓) or what is wrong and why (✗), one line


@dataclass(frozen=True)
class Served:
    """One site file as the host sends it, fetched directly (not through the page's service worker)."""

    path: str  # site-relative, e.g. "model/group1-shard1of2.bin"
    status: int  # HTTP status; 0 when the request itself failed
    content_type: str  # the Content-Type's media type, lower-case ("" when absent)
    body: bytes = b""
    error: str = ""  # why the request failed (status 0)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


@dataclass
class Visit:
    """One visit of the page, as Chromium saw it."""

    asked: str  # "auto" (the page's pick) or the backend forced with ?backend=
    state: str  # the page's <body data-state>: "ready" or "error"; "timeout" if it never settled
    error: str = ""  # the page's error message (state "error"), or what timed out
    backend: str | None = None  # window.browsernet.backend
    thread: str | None = None  # "worker" or "main"
    threads: int | None = None  # WASM threads (None off WASM)
    isolated: bool = False  # crossOriginIsolated
    controlled: bool = False  # a service worker controls the page
    secure: bool = True  # isSecureContext
    probabilities: list[list[float]] | None = None  # the page's answers on the reference images (class order)
    classify_error: str = ""  # why classifying them failed
    navigations: int = 1  # documents loaded until settled (2: the service worker's isolation reload)
    labels: list[str] | None = None  # window.browsernet.labels: the class names the page shows, in output order

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    def label(self) -> str:
        return "the page's pick" if self.asked == "auto" else f"?backend={self.asked}"


@dataclass
class Privacy:
    """What the online visits did beyond the site: requests, policy violations, errors."""

    foreign: list[str] = field(default_factory=list)  # URLs requested outside the site's origin
    csp: list[str] = field(default_factory=list)  # Content-Security-Policy violations
    errors: list[str] = field(default_factory=list)  # uncaught exceptions and console errors


def loads(visits: list[Visit]) -> Check:
    """Every visit reached ``ready``, each forced backend is the one running; names the backend."""
    problems, found = [], []
    for v in visits:
        if not v.ready:
            why = v.error or "no error message"
            problems.append(f"{v.label()}: {'never became ready' if v.state == 'timeout' else 'error'}: {why}")
        elif v.asked != "auto" and v.backend != v.asked:
            problems.append(f"{v.label()}: runs on {v.backend} instead ({v.asked} did not start here)")
        else:
            where = "in a worker" if v.thread == "worker" else "on the main thread"
            threads = f", {v.threads} thread{'s' if v.threads != 1 else ''}" if v.threads else ""
            found.append(f"{v.backend} {where}{threads} ({v.label()})" if v.asked == "auto"
                         else f"{v.backend} {where}{threads}")
    if problems:
        return Check("Loads", False, _listed(problems))
    return Check("Loads", True, "ready on " + "; ".join(found))


def model_paths(report: dict[str, Any], model_json: bytes | None) -> list[str]:
    """Site paths of every model file: model.json and the shards its ``weightsManifest`` lists
    (the served model.json's, else the report's)."""
    import json

    shards: list[str] = []
    try:
        manifest = json.loads(model_json or b"")["weightsManifest"]
        shards = [p for group in manifest for p in group["paths"]]
    except (ValueError, KeyError, TypeError):
        shards = list(report.get("shard_sha256", {}))
    return [MODEL_DIR + "model.json"] + [MODEL_DIR + p for p in shards]


def other_build(host: dict[str, Any], expected: dict[str, Any], folder: str | None) -> str | None:
    """Why the host's report.json (``host``) is not the report of the local build it should serve (``expected``,
    from the site folder ``folder``, as published), or None when it is: for ``verify URL --expect SITE``."""
    if host == expected:
        return None
    folder = (folder or "the site").rstrip("/") or "/"
    ours, theirs = expected.get("build_id") or "?", host.get("build_id") or "?"
    if ours == theirs:
        return (f"the host's {REPORT_FILE} differs from {folder}/'s although it names the same build: it was "
                "changed after the build")
    return (f"the host serves another build (build_id {theirs[:12]}…) than {folder}/ (build_id {ours[:12]}…): "
            f"deploy {folder}/, or wait until the host publishes it")


def right_files(report: dict[str, Any], served: list[Served], stale: str | None = None,
                extra: list[str] | None = None, other: str | None = None, against: str = REPORT_FILE,
                received: dict[str, str] | None = None, links: list[str] | None = None,
                edited: list[str] | None = None) -> Check:
    """Every file the host sent for the site (model files first) is the file the build wrote:
    HTTP 200, not an HTML page in a non-HTML file's place, and the sha256 that report.json records.
    ``stale``: for a local site, which input file changed since the build (report.stale_sources's clause);
    ``extra``: for a local site, the files in its folder that the build did not write (deploy refuses them);
    ``links``: for a local site, its symbolic links (deploy refuses them too);
    ``edited``: for a local site, the host files deploy checks (``CNAME``) that changed since the build;
    ``other``: for ``--expect``, why the host's report.json is not the expected build's (:func:`other_build`),
    ``report`` then being the expected build's, and ``against`` naming its report.json in the lines;
    ``received``: site path -> sha256 of the bytes the page itself received (a file served right to a direct
    request may still reach browsers as another copy, from a cache that keys on what browsers send)."""
    expected = dict(report.get("sha256") or {})
    problems = [other] if other else []
    # Every build records each file's sha256: a file listed without one (the report edited, or damaged) could be
    # served changed, and pass.
    unrecorded = without_sha256(report.get("files") or {}, expected, HOST_FILES)
    if unrecorded:
        problems.append(f"{named(unrecorded)}: {against} lists without a sha256 (edited or damaged), so "
                        "what is served cannot be checked; rebuild the site")
    if links:
        problems.append(f"{named(links)}: a symbolic link, which the build never writes; deploy would "
                        "refuse to publish the folder")
    if stale:
        problems.append(f"stale: {stale} since the site was built; rebuild it")
    if extra:
        problems.append(f"{named(extra)}: in the folder but not written by the build (not in "
                        "report.json); deploy would refuse to publish the folder")
    if edited:
        problems.append(f"{named(edited)}: changed since the build; deploy would refuse to publish the folder")
    always = {"index.html", MODEL_DIR + "model.json", *(MODEL_DIR + p for p in report.get("shard_sha256") or {})}
    checked = 0
    for s in served:
        if s.status == 0:
            problems.append(f"{s.path}: could not be fetched ({s.error})")
        elif s.status != 200:
            problems.append(f"{s.path}: HTTP {s.status}" + (" (missing on the host)" if s.status == 404 else ""))
        elif s.content_type in HTML_TYPES and not s.path.endswith((".html", ".htm")):
            problems.append(f"{s.path}: the host sent an HTML page (HTTP 200, {s.content_type}) instead of the "
                            "file; it is missing there and the host answers with its fallback page")
        elif s.path in expected and s.sha256 != expected[s.path]:
            problems.append(f"{s.path}: sha256 {s.sha256[:12]}… is not {against}'s {expected[s.path][:12]}…: "
                            "the host serves another file than the build wrote (changed since, or a stale copy)")
        elif s.path in expected:
            checked += 1
        elif other is None and s.path in always and s.path not in unrecorded:
            # The page, model.json and the report's own shards are fetched whatever the report says, and a build
            # records them all: a report without them (edited) must not pass as "0 files match". (Shards that
            # another build's model.json names are that build's: `other` says so.)
            problems.append(f"{s.path}: {against} records no sha256 for it (edited or damaged), so what is served "
                            "cannot be checked; rebuild the site")
    wrong = {s.path for s in served if s.status != 200 or s.sha256 != expected.get(s.path, s.sha256)}
    for path, digest in (received or {}).items():
        if path in expected and digest != expected[path] and path not in wrong:
            problems.append(f"{path}: the page received sha256 {digest[:12]}…, not {against}'s "
                            f"{expected[path][:12]}…, though a direct request gets the build's file: a cache "
                            "sends browsers a stale copy (purge it, or wait for it to expire)")
    if problems:
        return Check("Right files", False, _listed(problems))
    shards = sum(1 for s in served if s.path.startswith(MODEL_DIR)) - 1
    seen = sum(1 for path in (received or {}) if path in expected)
    also = f"; {seen} of them also as the page received them" if seen else ""
    return Check("Right files", True, f"{checked} files match {against}'s sha256 (model.json and "
                                      f"{shards} weight shard{'' if shards == 1 else 's'} among them{also})")


def tolerance_for(backend: str | None, report: dict[str, Any]) -> float:
    """How far the page's probabilities may be from Keras's on ``backend``."""
    build = float(report.get("reference", {}).get("tolerance", 1e-4))
    return max(build, WEBGL_TOLERANCE) if backend == "webgl" else build


def answer_error(visit: Visit, report: dict[str, Any]) -> tuple[float | None, str]:
    """``(max |page - Keras|, "")`` over the reference images, or ``(None, why not)``."""
    reference = np.asarray(report.get("reference", {}).get("probabilities", []), dtype=np.float64)
    if reference.size == 0:
        return None, "report.json has no reference probabilities (an older build); rebuild the site"
    if not visit.ready:
        return None, f"{visit.label()}: not checked, the page did not load"
    if visit.classify_error or visit.probabilities is None:
        return None, f"{visit.label()}: classify() failed: {visit.classify_error or 'no answer'}"
    got = np.asarray(visit.probabilities, dtype=np.float64)
    if got.shape != reference.shape:
        return None, f"{visit.label()}: {got.shape[-1]} classes per image, report.json has {reference.shape[-1]}"
    return float(np.max(np.abs(got - reference))), ""


def built_labels(report: dict[str, Any], served: list[Served], local: bytes | None = None) -> list[str] | None:
    """The class names of the build, from the first config.json that is the file the build wrote (its sha256 is
    report.json's): ``local``, the bytes of the one in ``--expect``'s folder, else the host's as it sent it to
    verify. None when neither is (no build to compare the page's labels with; Right files says why)."""
    built = (report.get("sha256") or {}).get(CONFIG_FILE)
    host = next((s.body for s in served if s.path == CONFIG_FILE and s.status == 200), None)
    for body in (local, host):
        if body is None or built is None or hashlib.sha256(body).hexdigest() != built:
            continue
        try:
            labels = json.loads(body).get("labels")
        except (ValueError, AttributeError):
            return None
        return [str(label) for label in labels] if isinstance(labels, list) else None
    return None


def right_answers(report: dict[str, Any], visits: list[Visit], labels: list[str] | None = None,
                  other_build: bool = False) -> Check:
    """The page's probabilities on the reference images are Keras's, within the build's tolerance
    (1e-3 on WebGL), and the page names each output as the build did (``labels``, from :func:`built_labels`):
    right numbers under shifted names (a stale config.json in a cache the browser reads) are wrong answers.
    ``other_build``: the host serves another build than ``--expect``'s (Right files says so), which is then why."""
    problems, found = [], []
    count = len(report.get("reference", {}).get("probabilities", []))
    for v in visits:
        if labels is not None and v.ready and v.labels is not None and v.labels != labels:
            wrong = [i for i, (a, b) in enumerate(zip(v.labels, labels)) if a != b]
            first = (f"output {wrong[0]} as '{v.labels[wrong[0]]}', not '{labels[wrong[0]]}'" if wrong
                     else f"{len(v.labels)} classes, not {len(labels)}")
            problems.append(f"{v.label()}: the page names {first}: " + (
                "the host does not serve the expected build (Right files says why)" if other_build else
                "it did not get the build's config.json (a stale copy in a cache between the host and the browser?)"))
            continue
        diff, why = answer_error(v, report)
        if diff is None:
            problems.append(why)
            continue
        limit = tolerance_for(v.backend, report)
        text = f"{diff:.2g} on {v.backend} (limit {limit:g})"
        (found if diff <= limit else problems).append(text if diff <= limit else f"max |page - Keras| = {text}")
    if problems:
        return Check("Right answers", False, _listed(problems))
    return Check("Right answers", True, f"max |page - Keras| = {', '.join(found)}, {count} images"
                                        f"{quantization_note(report)}")


def quantization_note(report: dict[str, Any]) -> str:
    """For a site with quantized weights: the reference is Keras running those weights dequantized, so the
    page matching it says nothing about the quantization's own error; this says that error, as the build
    measured it (on the calibration photos for --quantize auto, else on its test images). "" otherwise."""
    quantization = report.get("quantization") or {}
    stored = weight_map(quantization)
    if stored is None:
        return ""
    auto = (quantization.get("auto") if isinstance(quantization, dict) else None) or {}
    if auto.get("max_prob_error") is not None:
        error, where = auto["max_prob_error"], f"{auto.get('images', '?')} calibration images"
    else:
        error = (report.get("parity") or {}).get("quantization_error")
        where = f"the build's {(report.get('parity') or {}).get('samples', '?')} test images"
    moved = "" if error is None else f", which differ from the float32 model's by up to {error:.2g} on {where}"
    return f" (Keras with the weights as stored: {stored}{moved})"


def private(origin: str, privacy: Privacy) -> Check:
    """No request left ``origin``, no CSP violation, no uncaught error or console error."""
    problems = []
    if privacy.foreign:
        hosts = sorted({urlsplit(u).netloc or u for u in privacy.foreign})
        problems.append(f"{len(privacy.foreign)} request(s) left the site's origin, to {', '.join(hosts)} "
                        f"(first: {privacy.foreign[0][:120]})")
    if privacy.csp:
        problems.append(f"{len(privacy.csp)} Content-Security-Policy violation(s): {_first_line(privacy.csp[0])}")
    if privacy.errors:
        problems.append(f"{len(privacy.errors)} error(s) in the console: {_first_line(privacy.errors[0])}")
    if problems:
        return Check("Private", False, "; ".join(problems))
    return Check("Private", True, f"every request stayed on {origin}, no CSP violation, no console error")


def same_origin(url: str, origin: str) -> bool:
    """Whether ``url`` belongs to ``origin`` (scheme://host:port); data: and blob: URLs never leave the page."""
    if url.startswith(("data:", "blob:", "about:")):
        return True
    a, b = urlsplit(url), urlsplit(origin)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def host(visit: Visit, headers: dict[str, str], wasm: list[Served]) -> Check:
    """Cross-origin isolation (from the host's headers or the site's service worker) and WASM threads;
    every ``.wasm`` served as application/wasm. ``headers``: the page's response headers, lower-case names."""
    problems = [f"{s.path} is served as {s.content_type or 'no type'!r}, not {WASM_TYPE}: browsers will not "
                "compile it while it downloads (the page falls back to a slower path and warns); set the host's "
                "type for .wasm" for s in wasm if s.status == 200 and s.content_type != WASM_TYPE]
    by_host = headers.get("cross-origin-opener-policy") == "same-origin" and \
        headers.get("cross-origin-embedder-policy") in ("require-corp", "credentialless")
    threads = f"WASM on {visit.threads} thread{'s' if visit.threads != 1 else ''}" if visit.threads else \
        f"{visit.backend} backend (WASM threads unused)"
    if not visit.ready:
        problems.append("not checked: the page did not load")
    elif not visit.isolated:
        if not visit.secure:
            why = ("the page is not a secure context (plain http:// on a non-local address), so the service worker "
                   "that adds the isolation headers cannot run; serve it over https")
        elif not visit.controlled:
            why = ("the host sends no COOP/COEP headers and the site's service worker did not take control "
                   "(blocked, or sw.js not deployed)")
        else:
            sent = {name: headers[name] for name in ("cross-origin-opener-policy", "cross-origin-embedder-policy")
                    if name in headers}
            why = (f"the host sends {', '.join(f'{k.title()}: {v}' for k, v in sent.items())}, which the site's "
                   "service worker keeps (it adds the isolation headers only where the host sends none); send "
                   "same-origin and require-corp, or no such header") if sent else \
                "neither the host's headers nor the site's service worker made it isolated"
        problems.append(f"not cross-origin isolated: {why}. The page still works, with WASM on one thread "
                        "(no SharedArrayBuffer), several times slower on multi-core devices")
    if problems:
        return Check("Host", False, _listed(problems))
    how = ("by the host's COOP/COEP headers" if by_host else
           "by the site's service worker (the host sends no COOP/COEP headers, so a first visit reloads once)")
    return Check("Host", True, f"cross-origin isolated {how}; {threads}; .wasm served as {WASM_TYPE}")


def return_visit(visit: Visit, downloaded: dict[str, int]) -> Check:
    """A second visit downloads no model bytes. ``downloaded``: model file path -> bytes fetched from
    the network during the second visit."""
    if visit.error.startswith(NOT_TRIED):
        return Check("Return visit", False, visit.error)
    if not visit.ready:
        return Check("Return visit", False, f"the second visit did not load: {visit.error or visit.state}")
    if downloaded:
        files = ", ".join(f"{p} ({n:,} B)" for p, n in sorted(downloaded.items())[:MAX_LISTED])
        more = f" and {len(downloaded) - MAX_LISTED} more" if len(downloaded) > MAX_LISTED else ""
        return Check("Return visit", False, f"downloaded {sum(downloaded.values()):,} model bytes again: "
                                            f"{files}{more}; the service worker's cache did not serve them")
    if not visit.controlled:  # the browser's HTTP cache (or a 304) served it: the host decides how long for
        return Check("Return visit", False, "the service worker did not control the second visit, so its cache "
                                            "did not serve the model (the browser's HTTP cache did, for as long as "
                                            "the host lets it, and not offline)")
    return Check("Return visit", True, "0 model bytes downloaded (the service worker's cache served the model)")


def offline(visit: Visit, report: dict[str, Any]) -> Check:
    """With the network cut off, the page reloads, becomes ready and still gives Keras's answers."""
    if visit.error.startswith(NOT_TRIED):
        return Check("Offline", False, visit.error)
    if not visit.ready:
        return Check("Offline", False, f"with the network off the page did not load: {visit.error or visit.state}")
    diff, why = answer_error(visit, report)
    if diff is None:
        return Check("Offline", False, why)
    limit = tolerance_for(visit.backend, report)
    if diff > limit:
        return Check("Offline", False, f"offline, max |page - Keras| = {diff:.2g} on {visit.backend} "
                                       f"(limit {limit:g})")
    return Check("Offline", True, f"with the network off the page reloads and classifies on {visit.backend} "
                                  f"(max |page - Keras| = {diff:.2g})")


def _listed(problems: list[str]) -> str:
    more = f" (and {len(problems) - MAX_LISTED} more)" if len(problems) > MAX_LISTED else ""
    return "; ".join(problems[:MAX_LISTED]) + more


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:200]
