"""Inference in a module worker: the page's main thread stays free while images are classified,
and where a worker cannot run the chosen backend the page falls back to the main thread and says so."""

from __future__ import annotations

import pytest

# Counts the page's own animation frames (when their callbacks actually run, on the
# main thread) that fall inside each inference's window as the engine reports it.
# A main thread busy with inference cannot run a frame callback inside that window.
FRAMES_DURING_INFERENCE = """async (count) => {
  const frames = [];
  let running = true;
  const tick = () => {
    frames.push(performance.timeOrigin + performance.now());
    if (running) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  const size = 120;
  const jobs = [];
  for (let i = 0; i < count; i++) {
    const rgba = new Uint8ClampedArray(size * size * 4).map((_, j) => (j * (i + 7)) % 251);
    for (let j = 3; j < rgba.length; j += 4) rgba[j] = 255;
    jobs.push(window.browsernet.classify(new ImageData(rgba, size, size), 1));
  }
  await Promise.all(jobs);
  running = false;
  const windows = window.browsernet.stats().inferences.slice(-count);
  return windows.map((w) => frames.filter((f) => f > w.start && f < w.end).length);
}"""


# Classifies the moment the page is ready, from code that was in place before the
# page's own scripts ran (as a script that awaits `ready` on load would).
CLASSIFY_AT_READY = """
Object.defineProperty(window, 'browsernet', {
  configurable: true,
  set(api) {
    Object.defineProperty(window, 'browsernet', { value: api, configurable: true });
    api.ready
      .then(() => api.classify(new ImageData(8, 8)))
      .then(() => { window.firstAtReady = api.stats(); }, (err) => { window.firstAtReady = String(err); });
  },
});
"""


@pytest.mark.parametrize("query", ["", "&worker=0"])
def test_a_classification_asked_for_at_ready_does_not_wait_behind_a_warm_up(served, browser, query):
    from tests.e2e.conftest import Page

    context = browser.new_context()
    try:
        context.add_init_script(CLASSIFY_AT_READY)
        page = Page(context, f"{served}keras/?backend=wasm{query}")
        assert page.ready() == "ready", page.page.text_content("#error")
        page.page.wait_for_function("() => window.firstAtReady !== undefined")
        stats = page.page.evaluate("window.firstAtReady")
        assert isinstance(stats, dict), stats
        # The model's first inference was that image: no blank warm-up ran ahead of it.
        assert len(stats["inferences"]) == 1 and stats["inferences"][0]["first"]
        assert stats["warmupMs"] == stats["inferences"][0]["ms"] > 0
        assert stats["medianMs"] is None  # the slow first inference is not a median of the next ones
        assert set(stats["startup"]) >= {"runtime", "backend", "download", "model"}
    finally:
        context.close()


def test_inference_runs_in_a_module_worker(served, open_page):
    page = open_page(f"{served}keras/?backend=wasm")
    assert page.ready() == "ready", page.page.text_content("#error")
    assert page.page.evaluate("window.browsernet.thread") == "worker"
    assert any(url.endswith("/keras/js/worker.js") for url in page.workers), page.workers
    assert "Web Worker" in page.page.text_content("#thread") + page.page.text_content("#status")
    # TF.js is parsed once per visit, in the worker: the page itself never runs the runtime.
    assert page.page.evaluate("typeof window.tf") == "undefined"
    # The worker's own requests (weights, .wasm) are seen, and are all same-origin.
    assert any(url.endswith(".bin") for url in page.requests) and any(url.endswith(".wasm") for url in page.requests)
    assert page.foreign_requests(served) == []


def test_main_thread_keeps_drawing_frames_while_a_batch_is_classified(served, open_page):
    worker = open_page(f"{served}stock/?backend=cpu")
    assert worker.ready() == "ready"
    inside = worker.page.evaluate(FRAMES_DURING_INFERENCE, 6)
    # Frames ran while the worker computed: the page never waited for inference.
    assert sum(inside) >= len(inside) and sum(1 for n in inside if n > 0) >= len(inside) // 2, inside
    # The same measurement on the main thread sees no frame inside any inference: the
    # measurement can tell a blocked page from a free one.
    main = open_page(f"{served}stock/?backend=cpu&worker=0")
    assert main.ready() == "ready"
    assert main.page.evaluate("window.browsernet.thread") == "main"
    assert main.page.evaluate(FRAMES_DURING_INFERENCE, 6) == [0] * 6


def test_pending_cards_animate_while_classifying(served, open_page, tmp_path):
    from PIL import Image

    from tests import helpers

    page = open_page(f"{served}stock/?backend=cpu")
    assert page.ready() == "ready"
    files = []
    for i, image in enumerate(helpers.test_images(96, count=4, seed=21)):
        files.append(tmp_path / f"img{i}.png")
        Image.fromarray(image).save(files[-1])
    page.page.set_input_files("#file-input", [str(f) for f in files])
    running = page.page.evaluate("""() => document.getAnimations()
        .filter((a) => a.playState === 'running' && a.animationName === 'spin').length""")
    assert running >= 1
    page.page.wait_for_function("() => [...document.querySelectorAll('#results .card')].every(c => c.dataset.state === 'done')")


def test_a_worker_that_cannot_start_falls_back_to_the_main_thread(sites, served, open_page):
    """A deploy without js/worker.js: the worker fails to load, for real. The page still works, on
    the main thread, and says so (and why) instead of failing or hiding it."""
    import shutil

    site = sites["keras"].parent / "no-worker"
    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(sites["keras"], site)
    (site / "js" / "worker.js").unlink()
    page = open_page(f"{served}{site.name}/?backend=wasm")
    assert page.ready() == "ready", page.page.text_content("#error")
    assert page.page.evaluate("window.browsernet.thread") == "main"
    assert page.page.evaluate("typeof window.tf.loadLayersModel") == "function"  # loaded on the page instead
    shown = page.page.text_content("#thread")
    assert shown.startswith("(on the main thread: ") and "worker" in shown, shown
    assert "main thread" in page.page.text_content("#status")
    assert len(page.page.evaluate("async () => window.browsernet.classify(new ImageData(8, 8), 2)")) == 2
    assert page.csp_violations() == []


def test_a_failure_inside_the_worker_reaches_the_caller(served, open_page):
    page = open_page(f"{served}keras/?backend=wasm")
    assert page.ready() == "ready"
    message = page.page.evaluate("""async () => {
      const blob = new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0])], 'half.png', { type: 'image/png' });
      return window.browsernet.classify(blob).then(() => 'resolved', (e) => e.message);
    }""")
    assert message == "half.png: could not decode image (damaged, cut short, or in a format this browser does not show)"
    # A format browsers do not show is named, with what to do.
    message = page.page.evaluate("""async () => {
      const blob = new File([new Uint8Array([0x49, 0x49, 0x2a, 0, 8, 0, 0, 0])], 'scan.tif', { type: 'image/tiff' });
      return window.browsernet.classify(blob).then(() => 'resolved', (e) => e.message);
    }""")
    assert message == "scan.tif: could not decode image: a TIFF file, which browsers do not show; save it as PNG or JPEG"


def test_threaded_wasm_starts_only_the_helper_threads_it_uses(served, browser, open_page):
    """TF.js's threaded WASM glue starts 8 helper workers before the backend is ready; the site's
    bundle (builder/site/runtime/build.mjs) starts the threads - 1 that XNNPACK uses. Counted as
    Chromium's worker targets in the page's browser context."""
    cdp = browser.new_browser_cdp_session()
    targets: dict[str, dict] = {}
    for event in ("Target.targetCreated", "Target.targetInfoChanged"):
        cdp.on(event, lambda e: targets.__setitem__(e["targetInfo"]["targetId"], e["targetInfo"]))
    cdp.send("Target.setDiscoverTargets", {"discover": True})
    try:
        page = open_page(f"{served}keras/?backend=wasm&threads=2")
        assert page.ready() == "ready", page.page.text_content("#error")
        if page.page.evaluate("navigator.hardwareConcurrency") < 2:
            pytest.skip("this machine offers one CPU: no helper threads to count")
        threads = page.page.evaluate("window.browsernet.stats().threads")
        assert threads == 2  # asked for in the URL; 1 would mean WASM threads are off (no cross-origin isolation)
        context = next(t["browserContextId"] for t in targets.values()
                       if t["type"] == "page" and t["url"].startswith(f"{served}keras/"))

        def workers():
            return [t for t in targets.values() if t["type"] == "worker" and t["browserContextId"] == context]

        expected = 1 + (threads - 1)  # the inference worker and its helpers
        for _ in range(50):  # target events come on their own CDP session
            if len(workers()) >= expected:
                break
            page.page.wait_for_timeout(100)
        assert len(workers()) == expected, workers()
    finally:
        cdp.detach()
