"""Browser fixtures: a real Chromium (Debian's, via Playwright) against sites served by `browsernet serve`'s server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from builder.browser import ARGS, chromium_path
from builder.cli import cli
from builder.serve import make_server, url_of
from builder.site import hosting
from builder.site.vendor import PROJECT_ROOT

# The same Chromium and flags as `browsernet bench` (builder/browser.py).
CHROMIUM = str(chromium_path())
CHROMIUM_ARGS = ARGS


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def playwright():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; run 'make setup' or set BROWSERNET_CHROMIUM")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def browser_with(playwright):
    """Another Chromium with extra command-line flags (camera fakes, WebGL 2 off), one per set of flags."""
    launched: dict[tuple[str, ...], object] = {}

    def _launch(*extra: str):
        if extra not in launched:
            launched[extra] = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + list(extra),
                                                        headless=True)
        return launched[extra]

    yield _launch
    for b in launched.values():
        b.close()


@pytest.fixture(scope="session")
def chromium_without_webgpu(tmp_path_factory) -> Path:
    """The test Chromium behind a wrapper that drops ``--enable-unsafe-webgpu`` from its command line: a
    real browser that offers no WebGPU adapter (Chromium on Linux gives none without that flag), for
    ``BROWSERNET_CHROMIUM``."""
    wrapper = tmp_path_factory.mktemp("chromium") / "chromium"
    wrapper.write_text("#!/bin/sh\n"
                       'for arg; do shift; [ "$arg" = --enable-unsafe-webgpu ] || set -- "$@" "$arg"; done\n'
                       f'exec "{CHROMIUM}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


@pytest.fixture(scope="session")
def served_dir():
    """Serve any built site folder with browsernet's own server; returns its base URL."""
    servers = []

    def _serve(site: Path) -> str:
        server = make_server(site, port=0)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return url_of(server)

    yield _serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def served(sites, served_dir):
    """All test sites under one server, each at a sub-path (/stock/, /keras/, ...), as on GitHub Pages."""
    root = sites.all_built()
    (root / "index.html").write_text("<!doctype html><title>test sites</title>")  # make_server wants one
    return served_dir(root)


# The page enforces a Content-Security-Policy without 'unsafe-eval', so Playwright's
# wait_for_function must get functions ("() => ..."), never bare expressions (those it evals).
# Violations are reported both as events (this listener) and by Chromium on the console.
CSP_LISTENER = """document.addEventListener('securitypolicyviolation', (e) => console.error(
  'securitypolicyviolation ' + e.violatedDirective + ' ' + e.blockedURI + ' at ' + e.sourceFile + ':' + e.lineNumber));"""


class Page:
    """A page plus every request it made, from Playwright *and* CDP (Playwright misses some),
    its console messages and any Content-Security-Policy violations."""

    def __init__(self, context, url: str):
        self.page = context.new_page()
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.console: list[tuple[str, str]] = []
        self.workers: list[str] = []
        self.page.add_init_script(CSP_LISTENER)
        # Playwright reports the requests of the page's dedicated workers here too.
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("worker", lambda w: self.workers.append(w.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        # Documents the tab loaded (Playwright's framenavigated also counts history.replaceState).
        self.navigations = 0
        self.page.expose_binding("__browsernetTestLoaded", lambda source: setattr(self, "navigations", self.navigations + 1))
        self.page.add_init_script("if (window.top === window) window.__browsernetTestLoaded()")
        cdp = context.new_cdp_session(self.page)
        cdp.on("Network.requestWillBeSent", lambda e: self.requests.append(e["request"]["url"]))
        # url -> how the page got it: "service-worker", "disk-cache" or "network"
        self.sources: dict[str, str] = {}
        cdp.on("Network.responseReceived", lambda e: self.sources.__setitem__(
            e["response"]["url"], "service-worker" if e["response"].get("fromServiceWorker")
            else "disk-cache" if e["response"].get("fromDiskCache") else "network"))
        # The inference worker's fetches reach Playwright's events, not the page's CDP session.
        self.page.on("response", lambda r: self.sources.__setitem__(
            r.url, "service-worker" if r.from_service_worker else self.sources.get(r.url, "network")))
        cdp.send("Network.enable")
        self.cdp = cdp
        self.page.goto(url)

    def ready(self, timeout: float = 60_000):
        """The page's settled state (ready or error), waiting through the service worker's one reload."""
        from playwright.sync_api import Error

        for _ in range(3):
            try:
                self.page.wait_for_function("() => document.body && document.body.dataset.state !== 'loading'",
                                            timeout=timeout)
                return self.page.evaluate("document.body.dataset.state")
            except Error as e:
                if "context was destroyed" not in str(e) and "navigat" not in str(e):
                    raise
                self.page.wait_for_load_state()
        raise AssertionError("the page kept reloading")

    def csp_violations(self) -> list[str]:
        return [text for _, text in self.console
                if "securitypolicyviolation" in text or "Content Security Policy" in text]

    def foreign_requests(self, origin: str) -> list[str]:
        base = urlsplit(origin)
        return [u for u in self.requests if not u.startswith(("data:", "blob:"))
                and (urlsplit(u).scheme, urlsplit(u).netloc) != (base.scheme, base.netloc)]


@pytest.fixture
def open_page(browser):
    contexts = []

    def _open(url: str, on=None, **context_options) -> Page:
        """``on``: another browser (from ``browser_with``); ``context_options`` go to new_context."""
        context = (on or browser).new_context(**context_options)
        contexts.append(context)
        return Page(context, url)

    yield _open
    for context in contexts:
        context.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def firebase_host(publish_sites, tmp_path_factory):
    """The Firebase site, deployed with --dry-run and served by the real Firebase Hosting emulator
    (firebase-tools, pinned in package.json); yields ``(url, site)``."""
    site = tmp_path_factory.mktemp("firebase") / "site"
    shutil.copytree(publish_sites["firebase"], site)
    result = CliRunner().invoke(cli, ["deploy", "firebase", str(site), "--dry-run"])
    assert result.exit_code == 0, result.output
    config = json.loads((site / "firebase.json").read_text())
    assert config["hosting"] == hosting.firebase_config()["hosting"]  # the rules under test, as generated
    port = _free_port()
    # Only the emulator's own ports change, so tests never collide with anything on 5000/4400.
    config["emulators"] = {"hosting": {"port": port}, "hub": {"port": _free_port()},
                           "logging": {"port": _free_port()}, "ui": {"enabled": False}}
    (site / "firebase.json").write_text(json.dumps(config))
    firebase = PROJECT_ROOT / "node_modules" / ".bin" / "firebase"
    assert firebase.is_file(), "firebase-tools missing: run 'npm ci' (make setup)"
    log = open(site.parent / "emulator.log", "w")
    proc = subprocess.Popen([str(firebase), "emulators:start", "--only", "hosting", "--project", "demo-browsernet"],
                            cwd=site, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("the Firebase hosting emulator did not start: "
                                         + (site.parent / "emulator.log").read_text()[-2000:])
                time.sleep(0.5)
        yield url, site
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # npx/firebase leaves children: stop the whole group
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
