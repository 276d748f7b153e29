"""Published sites on real counterparts: a gh-pages checkout behind a header-less static host
(as GitHub Pages serves it, under /<repo>/), and the real Firebase Hosting emulator."""

from __future__ import annotations

import os
import re
import subprocess
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from builder.site import hosting
from builder.cli import cli
from tests import helpers
from tests.conftest import SIZE
from tests.e2e.static_host import StaticHost
from tests.e2e.test_page import CLASSIFY_ALL, _vector
from tests.helpers import keras

REPO = "dog-classifier"


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _classify_matches_keras(page, model_path: Path, preprocess: str, size: int, seed: int = 21):
    model = keras.models.load_model(str(model_path), compile=False)
    images = helpers.test_images(size, count=3, seed=seed)
    n = len(page.page.evaluate("window.browsernet.labels"))
    got = np.stack([_vector(page.page.evaluate(CLASSIFY_ALL, [img.reshape(-1).tolist(), size, "imagedata"]), n)
                    for img in images])
    want = helpers.keras_probs(model, images, preprocess)
    assert np.abs(got - want).max() <= 1e-4


@pytest.fixture(scope="module")
def pages_checkout(publish_sites, tmp_path_factory):
    """`browsernet deploy github-pages` into a bare repository, then a checkout of its gh-pages branch."""
    root = tmp_path_factory.mktemp("pages")
    bare, work = root / "remote.git", root / "project"
    _git(root, "init", "--quiet", "--bare", str(bare))
    work.mkdir()
    _git(work, "init", "--quiet")
    _git(work, "remote", "add", "origin", str(bare))
    old = Path.cwd()
    os.chdir(work)
    try:
        result = CliRunner().invoke(cli, ["deploy", "github-pages", str(publish_sites["github-pages"])])
    finally:
        os.chdir(old)
    assert result.exit_code == 0, result.output
    _git(root, "clone", "--quiet", "--branch", "gh-pages", str(bare), str(root / "checkout"))
    return root / "checkout"


@pytest.fixture
def pages_host(pages_checkout):
    host = StaticHost(pages_checkout, REPO)
    yield host
    host.close()


def test_pages_site_is_isolated_by_its_service_worker_and_classifies(pages_host, open_page, fine_tuned_keras):
    assert not pages_host.url.endswith(":/")
    page = open_page(pages_host.url + "?backend=wasm")
    assert page.ready() == "ready", page.page.text_content("#error")
    assert page.page.evaluate("crossOriginIsolated") is True  # no header from the host: the service worker's
    assert page.navigations <= 2  # the first visit reloads at most once
    assert any(u.endswith("tfjs-backend-wasm-threaded-simd.wasm") for u in page.requests)  # threads allowed
    _classify_matches_keras(page, fine_tuned_keras, "mobilenet", SIZE)
    assert page.foreign_requests(pages_host.url) == []
    assert all(u.startswith(pages_host.url) or u.startswith(("data:", "blob:")) for u in page.requests)


def test_pages_return_visit_downloads_nothing_and_works_offline(pages_host, open_page, fine_tuned_keras, browser):
    context = browser.new_context()
    try:
        from tests.e2e.conftest import Page

        first = Page(context, pages_host.url)
        assert first.ready() == "ready"
        # Progress is shown as bytes of the total, and it ended at the whole model.
        shown = first.page.get_attribute("#progress", "title")
        assert re.fullmatch(r"([\d.]+ [KM]?B) of \1", shown), shown
        assert any(p.endswith(".bin") for p in pages_host.sent), "the first visit downloads the weights"
        first.page.close()
        pages_host.sent.clear()

        second = Page(context, pages_host.url)
        assert second.ready() == "ready"
        assert second.navigations == 1  # no reload: already controlled and isolated
        model_bytes = {p: n for p, n in pages_host.sent.items() if p.startswith(("model/", "vendor/"))}
        assert model_bytes == {}, f"a return visit downloaded {model_bytes}"
        assert sum(pages_host.sent.values()) == 0, dict(pages_host.sent)
        # The browser agrees: model.json reached the worker from the service worker, and the weight
        # shards were never requested: the worker read them from the service worker's cache itself.
        model_files = {u: how for u, how in second.sources.items() if "/model/" in u}
        assert model_files == {f"{pages_host.url}model/model.json": "service-worker"}, model_files
        assert not [u for u in second.requests if u.endswith(".bin")], second.requests
        assert second.page.evaluate("crossOriginIsolated") is True

        context.set_offline(True)
        second.page.reload()
        assert second.ready() == "ready", second.page.text_content("#error")
        _classify_matches_keras(second, fine_tuned_keras, "mobilenet", SIZE, seed=5)
    finally:
        context.close()


# ---- Firebase Hosting: the real emulator from firebase-tools (firebase_host, tests/e2e/conftest.py) ----

def _headers(url: str) -> dict[str, str]:
    with urllib.request.urlopen(url) as response:
        return {k.lower(): v for k, v in response.headers.items()}


def test_firebase_headers(firebase_host):
    url, site = firebase_host
    shard = next(p.relative_to(site).as_posix() for p in (site / "model").glob("*.bin"))
    wasm = "vendor/tfjs-backend-wasm-simd.wasm"
    for path in ("", "index.html", "model/model.json", "sw.js", "config.json", shard, wasm, "js/boot.js"):
        headers = _headers(url + path)
        assert headers["cross-origin-opener-policy"] == "same-origin", path
        assert headers["cross-origin-embedder-policy"] == "require-corp", path
        expected = "public, max-age=31536000, immutable" if path == shard else "no-cache"
        assert headers["cache-control"] == expected, path
    assert hosting.is_hashed(shard)
    assert _headers(url + wasm)["content-type"] == "application/wasm"


def test_firebase_page_is_isolated_with_wasm_threads_and_classifies(firebase_host, open_page, sequential_keras):
    url, _ = firebase_host
    page = open_page(url + "?backend=wasm")
    assert page.ready() == "ready", page.page.text_content("#error")
    assert page.navigations == 1  # the host's headers isolate it: no service-worker reload
    assert page.page.evaluate("crossOriginIsolated") is True
    assert any(u.endswith("tfjs-backend-wasm-threaded-simd.wasm") for u in page.requests)
    _classify_matches_keras(page, sequential_keras, "unit", 64)
    assert page.foreign_requests(url) == []
