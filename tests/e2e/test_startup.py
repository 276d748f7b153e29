"""What a visit loads before the first prediction: the page's whole module graph announced up
front, and on a return visit an inference worker that starts before the page's own modules, and
modules read from the service worker's cache by the browser's static routing."""

from __future__ import annotations

import shutil

from tests.e2e.conftest import Page

# The page's own module requests (CDP on the page's target: not its workers').
PAGE_SCRIPTS = """() => [...document.querySelectorAll('script[type=module][src]')].map((s) => s.src)"""
# Where the service worker's router took each of the page's js/ modules from (Chromium's Resource Timing).
# The page's own fetch of each is the first entry under its URL (the inference worker imports some again).
SOURCES_OF_MODULES = """() => [...document.querySelectorAll('link[rel=modulepreload], script[type=module][src]')]
  .map((e) => performance.getEntriesByName(e.href || e.src)[0].workerFinalSourceType)"""
PRELOADED = """() => [...document.querySelectorAll('link[rel=modulepreload]')].map((l) => l.href)"""


def _module_requests(page: Page, served: str, site: str) -> list[str]:
    """The page's requests for its js/ modules, from its CDP session (a worker's are not in it)."""
    seen: list[str] = []
    page.cdp.on("Network.requestWillBeSent", lambda e: seen.append(e["request"]["url"])
                if e.get("type") == "Script" and e["request"]["url"].startswith(f"{served}{site}/js/") else None)
    return seen


def test_every_module_the_page_loads_is_preloaded_from_the_start(served, browser):
    """The build lists the page's module graph as <link rel=modulepreload>, so the browser asks for
    every module at once: the page requests no module that the list and its script tags missed, and
    every module the list names is one the page uses."""
    context = browser.new_context()
    try:
        page = Page(context, "about:blank")
        requested = _module_requests(page, served, "keras")
        page.page.goto(f"{served}keras/?backend=wasm")
        assert page.ready() == "ready", page.page.text_content("#error")
        announced = set(page.page.evaluate(PRELOADED)) | set(page.page.evaluate(PAGE_SCRIPTS))
        worker = f"{served}keras/js/worker.js"  # the worker's own script, fetched for the worker
        page_modules = set(requested) - {worker}
        assert page_modules, requested
        assert page_modules - announced == set()  # nothing found only by following an import
        assert set(page.page.evaluate(PRELOADED)) <= page_modules  # nothing preloaded in vain
    finally:
        context.close()


def test_a_return_visit_starts_the_worker_early_and_the_page_adopts_it(served, browser):
    """A return visit (controlled and isolated from its first byte) starts the inference worker from
    js/early-worker.js, which has it read config.json and the model itself while the page loads; the
    page then runs on that same worker: one inference worker, no reload, and Keras's labels."""
    url = f"{served}keras/?backend=wasm"
    context = browser.new_context()
    try:
        first = Page(context, url)
        assert first.ready() == "ready"
        first_worker = next(w for w in first.page.workers if w.url.endswith("/js/worker.js"))
        # A first visit is not controlled from the start: the page starts the worker, with its config.
        assert not _worker_fetched(first_worker, "config.json")
        labels = first.page.evaluate("window.browsernet.labels")
        first.page.close()

        again = Page(context, url)
        assert again.ready() == "ready", again.page.text_content("#error")
        assert again.navigations == 1
        workers = [w for w in again.page.workers if w.url.endswith("/js/worker.js")]
        assert len(workers) == 1, again.workers
        assert _worker_fetched(workers[0], "config.json")  # it preloaded, before the page sent anything
        assert again.page.evaluate("window.browsernet.thread") == "worker"
        assert again.page.evaluate("window.browsernet.labels") == labels
        top = again.page.evaluate("async () => window.browsernet.classify(new ImageData(8, 8), 1)")
        assert top[0]["label"] in labels
        assert set(again.page.evaluate("window.browsernet.stats().startup")) >= {"worker", "runtime", "backend",
                                                                                 "download", "model"}
        assert not [u for u in again.requests if u.endswith(".bin")]  # the shards still come from the cache
        # The page's modules came straight from the build's cache (the service worker's static routes),
        # its document through the worker's fetch handler (which adds isolation headers where hosts do not).
        assert set(again.page.evaluate(SOURCES_OF_MODULES)) == {"cache"}
        assert again.page.evaluate("performance.getEntriesByType('navigation')[0].workerFinalSourceType") != "cache"
        assert again.csp_violations() == []
    finally:
        context.close()


def _worker_fetched(worker, name: str) -> bool:
    return worker.evaluate(f"performance.getEntriesByType('resource').some((r) => r.name.endsWith('/{name}'))")


def test_an_early_worker_that_fails_leaves_the_page_on_the_main_thread(sites, served, browser):
    """A return visit whose worker script cannot load (an import it names is missing): the worker that
    js/early-worker.js started fails, and the page still falls back to the main thread, saying so."""
    site = sites["keras"].parent / "broken-worker"
    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(sites["keras"], site)
    worker = site / "js" / "worker.js"
    worker.write_text("import './not-deployed.js';\n" + worker.read_text())  # (the server sends no stale .br copy)
    url = f"{served}{site.name}/?backend=wasm"
    context = browser.new_context()
    try:
        first = Page(context, url)
        assert first.ready() == "ready", first.page.text_content("#error")
        assert first.page.evaluate("window.browsernet.thread") == "main"
        first.page.close()
        again = Page(context, url)
        assert again.ready() == "ready", again.page.text_content("#error")
        assert again.page.evaluate("navigator.serviceWorker.controller !== null && crossOriginIsolated")
        assert again.page.evaluate("window.browsernet.thread") == "main"
        assert again.page.text_content("#thread").startswith("(on the main thread: ")
        assert len(again.page.evaluate("async () => window.browsernet.classify(new ImageData(8, 8), 2)")) == 2
    finally:
        context.close()
