"""WebGPU and the measured backend choice (issue 19), in Chromium.

Chromium here has no GPU: with WEBGPU_FLAGS it offers SwiftShader's software WebGPU adapter
("google | swiftshader"): slow, but it runs TF.js's WGSL shaders for real. The model is a
MobileNetV2 (alpha 0.35, 96 px) fine-tune whose BatchNorm statistics come from real images, so
different photos get different answers and parity means something.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from builder.browser import WEBGPU_ARGS
from builder.build import BuildOptions, build
from builder.site import vendor
from tests import helpers
from tests.e2e.classify import CLASSIFY_PIXELS, page_probabilities

WEBGPU_FLAGS = tuple(WEBGPU_ARGS)  # as `browsernet verify/bench --backends webgpu` start Chromium



SETTLED = ("measured", "remembered", "failed", "off", "forced")


@pytest.fixture(scope="module")
def sites(tmp_path_factory, fine_tuned_keras, fine_tuned_h5, labels_file):
    """Two builds of different models, and a served folder ``live/`` that holds the first."""
    root = tmp_path_factory.mktemp("backends")
    a = build(BuildOptions(model=str(fine_tuned_keras), labels=labels_file, out=root / "builds" / "a"))
    seven = root / "labels7.txt"
    seven.write_text("".join(f"class {i}\n" for i in range(7)))
    build(BuildOptions(model=str(fine_tuned_h5), labels=seven, out=root / "builds" / "b"))
    served = root / "served"
    shutil.copytree(root / "builds" / "a", served / "live")
    (served / "index.html").write_text("<!doctype html><title>sites</title>")
    return root, a


@pytest.fixture(scope="module")
def url(sites, served_dir):
    return served_dir(sites[0] / "served") + "live/"


@pytest.fixture(scope="module")
def gpu(browser_with):
    return browser_with(*WEBGPU_FLAGS)


def test_webgpu_matches_keras(sites, url, gpu, open_page, fine_tuned_keras):
    page = open_page(f"{url}?backend=webgpu", on=gpu)
    assert page.ready() == "ready", page.page.text_content("#error")
    assert page.page.evaluate("window.browsernet.backend") == "webgpu"
    assert page.page.evaluate("window.browsernet.backendChoice") == {"state": "forced", "backend": "webgpu"}
    report = sites[1]
    size = report.input_size[0]
    images = helpers.photos(size, count=4, seed=23).round().astype(np.uint8)
    expected = helpers.keras_probs(fine_tuned_keras, images, report.preprocess)
    got = page_probabilities(page.page, images)
    assert np.max(np.abs(got - expected)) <= 1e-4
    assert np.ptp(expected, axis=0).max() > 0.05  # the photos get different answers
    assert not page.csp_violations()
    # The script came from this site (checked against its integrity hash, then run by the worker).
    assert {u for u in page.requests if vendor.WEBGPU_BUNDLE in u} == {f"{url}vendor/{vendor.WEBGPU_BUNDLE}"}


def test_webgpu_on_the_main_thread_runs_under_the_pages_policy(url, gpu, open_page):
    """The main-thread fallback loads the WebGPU script as a <script integrity> under the page's CSP
    (no 'unsafe-eval'): it needs no eval, and WGSL compiles in the browser."""
    page = open_page(f"{url}?backend=webgpu&worker=0", on=gpu)
    assert page.ready() == "ready", page.page.text_content("#error")
    assert page.page.evaluate("[window.browsernet.backend, window.browsernet.thread]") == ["webgpu", "main"]
    size = page.page.evaluate("window.browsernet.inputSize")[0]
    image = helpers.photos(size, count=1, seed=5).round().astype(np.uint8)[0]
    assert len(page.page.evaluate(CLASSIFY_PIXELS, [image.reshape(-1).tolist(), size, size])) == 5
    assert page.csp_violations() == []
    assert [t for kind, t in page.console if kind == "error"] == []


def test_without_webgpu_nothing_more_is_downloaded(url, open_page):
    page = open_page(url)  # the default Chromium: no WebGPU adapter
    assert page.ready() == "ready", (page.page.text_content("#error"), page.console[-5:])
    page.page.wait_for_function(f"() => {list(SETTLED)}.includes(window.browsernet.backendChoice?.state)",
                                timeout=180_000)
    choice = page.page.evaluate("window.browsernet.backendChoice")
    assert choice["state"] == "measured", choice
    webgpu = next(m for m in choice["record"]["measured"] if m["backend"] == "webgpu")
    assert "WebGPU" in webgpu["error"]
    assert not [u for u in page.requests if vendor.WEBGPU_BUNDLE in u]


def test_webgpu_asked_for_without_an_adapter_says_why_once(url, open_page):
    """The worker and then the main thread both find no adapter: one sentence, not the same one twice."""
    page = open_page(f"{url}?backend=webgpu")
    assert page.ready() == "error"
    error = page.page.text_content("#error")
    assert error.count("no WebGPU adapter on this device") == 1, error


def test_a_page_that_ends_on_the_cpu_backend_says_why(sites, served_dir, open_page, tmp_path):
    """The cpu backend is about 30 times slower than WASM: a page that lands on it (here its .wasm files are gone
    from the host; offline, a binary the service worker never cached) says what stopped WASM, not only 'cpu'."""
    site = tmp_path / "served" / "site"
    shutil.copytree(sites[0] / "builds" / "a", site)
    for binary in (site / "vendor").glob("*.wasm"):
        binary.unlink()
    (site.parent / "index.html").write_text("<!doctype html><title>sites</title>")
    page = open_page(served_dir(site.parent) + "site/")
    assert page.ready() == "ready", page.page.text_content("#error")
    status = page.page.text_content("#status")
    assert status.startswith("Ready. Running on the cpu backend") and "(wasm: " in status, status


def _choice(page) -> dict:
    page.page.wait_for_function(f"() => {list(SETTLED)}.includes(window.browsernet.backendChoice?.state)",
                                timeout=180_000)
    return page.page.evaluate("window.browsernet.backendChoice")


def _inference_workers(page) -> int:
    """The inference workers (js/worker.js) the tab has started: the page's own, and one per backend probed."""
    return len([u for u in page.workers if u.endswith("/js/worker.js")])


def test_probe_chooses_remembers_and_measures_again(sites, url, gpu, open_page):
    # No service worker: the folder is redeployed below, and the page must see the new files at once.
    page = open_page(url, on=gpu, service_workers="block")
    assert page.ready() == "ready", (page.page.text_content("#error"), page.console[-5:])
    first = _choice(page)
    assert first["state"] == "measured", first
    record = first["record"]
    measured = {m["backend"]: m for m in record["measured"]}
    assert set(measured) == {"wasm", "webgl", "webgpu"}
    # WebGPU agrees with the reference (the fastest agreeing backend is chosen: tests/js/backend-probe.test.mjs).
    assert measured["wasm"]["error"] is None and measured["webgpu"]["error"] is None
    assert _inference_workers(page) == 1 + 3
    card = page.page.text_content("#model-card")
    assert "Backend choice" in card and f"{record['chosen']}, the fastest here" in card

    # The next visit starts on the choice and measures nothing.
    before = _inference_workers(page)
    page.page.reload()
    assert page.ready() == "ready", (page.page.text_content("#error"), page.console[-5:])
    assert page.page.evaluate("window.browsernet.backend") == record["chosen"]
    again = _choice(page)
    assert again["state"] == "remembered" and again["record"] == record
    page.page.wait_for_timeout(1500)  # a probe would have started by now (after the warm-up, once idle)
    assert _inference_workers(page) == before + 1  # its own: no probe

    # A new model is deployed, without its WebGPU script: the page measures again, drops WebGPU,
    # and still chooses among the rest.
    root = sites[0]
    live = root / "served" / "live"
    shutil.rmtree(live)
    shutil.copytree(root / "builds" / "b", live)
    for f in live.glob(f"vendor/{vendor.WEBGPU_BUNDLE}*"):
        f.unlink()
    page.page.reload()
    assert page.ready() == "ready", (page.page.text_content("#error"), page.console[-5:])
    assert len(page.page.evaluate("window.browsernet.labels")) == 7  # the new model
    third = _choice(page)
    assert third["state"] == "measured", third
    assert third["record"]["model"] != record["model"] and third["record"]["runtime"] == record["runtime"]
    dropped = {m["backend"]: m["error"] for m in third["record"]["measured"]}
    assert vendor.WEBGPU_BUNDLE in dropped["webgpu"] and "?backend" not in dropped["webgpu"] and dropped["wasm"] is None
    assert third["record"]["chosen"] in {"wasm", "webgl"}
    stored = page.page.evaluate("Object.entries(localStorage)")
    assert [k for k, _ in stored] == ["browsernet.backend:/live/"]
