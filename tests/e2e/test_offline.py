"""The service worker's cache across builds: a visitor never mixes files from two builds."""

from __future__ import annotations

import hashlib
import json

import pytest

from builder.site import vendor
from tests.conftest import _build
from tests.e2e.conftest import Page
from tests.e2e.static_host import StaticHost


@pytest.fixture
def rebuildable(tmp_path, sequential_keras, served_dir):
    site = tmp_path / "site"
    labels = tmp_path / "labels.txt"

    def build(names: str):
        labels.write_text(names)
        _build(site, model=str(sequential_keras), labels=labels, preprocess="unit")

    build("north\neast\nsouth\nwest\n")
    return build, served_dir(site)


def test_a_new_build_is_offered_and_never_mixed_with_the_old(rebuildable, browser):
    build, url = rebuildable
    context = browser.new_context()
    try:
        first = Page(context, url)
        assert first.ready() == "ready"
        assert first.page.evaluate("window.browsernet.labels") == ["north", "east", "south", "west"]
        first.page.close()

        build("up\nright\ndown\nleft\n")  # a new deploy while the visitor is away
        second = Page(context, url)
        assert second.ready() == "ready"
        # Still the old build, whole: its labels with its model, served from its own cache ...
        assert second.page.evaluate("window.browsernet.labels") == ["north", "east", "south", "west"]
        # ... while the new build installs beside it, and the page offers it.
        second.page.wait_for_selector("#update:not([hidden])", timeout=30_000)
        second.page.click("#update-button")
        second.page.wait_for_function("() => window.browsernet && window.browsernet.labels[0] === 'up'", timeout=60_000)
        assert second.ready() == "ready"
        caches = second.page.evaluate("caches.keys()")
        assert len([c for c in caches if c.startswith("browsernet ")]) == 1, caches  # the old cache is gone
    finally:
        context.close()


def test_reload_to_update_works_in_a_second_tab_after_the_first_applied_it(rebuildable, browser):
    """Both tabs offer the new build; once one applies it, the other's button did nothing (the worker it would
    activate was active already, and the controllerchange it waited for had passed)."""
    build, url = rebuildable
    context = browser.new_context()
    try:
        first = Page(context, url)
        assert first.ready() == "ready"
        build("up\nright\ndown\nleft\n")
        a, b = Page(context, url), Page(context, url)
        for tab in (a, b):
            assert tab.ready() == "ready"
            tab.page.wait_for_selector("#update:not([hidden])", timeout=30_000)
        a.page.click("#update-button")
        a.page.wait_for_function("() => window.browsernet && window.browsernet.labels[0] === 'up'", timeout=60_000)
        b.page.click("#update-button")
        b.page.wait_for_function("() => window.browsernet && window.browsernet.labels[0] === 'up'", timeout=60_000)
        assert b.ready() == "ready"
    finally:
        context.close()


def test_the_site_is_an_installable_web_app(served, open_page):
    """Chromium's own verdict, through CDP: the manifest parses and nothing blocks installation."""
    page = open_page(f"{served}keras/")
    assert page.ready() == "ready"
    page.page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    manifest = page.cdp.send("Page.getAppManifest")
    assert manifest["errors"] == [], manifest["errors"]
    data = json.loads(manifest["data"])
    assert data["name"] == "Fine-tuned <b>test</b>" and data["display"] == "standalone"
    assert {icon["sizes"] for icon in data["icons"]} == {"192x192", "512x512"}
    errors = page.cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    # Playwright's contexts are incognito, where Chromium never offers installation: that one is the
    # browser's, any other would be the site's.
    assert [e for e in errors if e["errorId"] != "in-incognito"] == []


# Damages one weight shard inside the service worker's cache (as a failing disk or an
# interrupted write could), once the page's first visit has cached it; returns its URL.
DAMAGE_CACHED_SHARD = """async (prefix) => {
  for (let tries = 0; tries < 300; tries++) {
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      const shard = (await cache.keys()).map((r) => r.url).find((u) => u.startsWith(prefix) && u.endsWith('.bin'));
      if (!shard) continue;
      const hit = await cache.match(shard);
      const bytes = new Uint8Array(await hit.arrayBuffer());
      bytes[bytes.length >> 1] ^= 1;
      await cache.put(shard, new Response(bytes, { headers: hit.headers }));
      return shard;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return null;
}"""


CACHED_SHA256 = """async (url) => {
  for (let tries = 0; tries < 300; tries++) {
    const hit = await caches.match(url);
    if (hit) {
      const digest = await crypto.subtle.digest('SHA-256', await hit.arrayBuffer());
      return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return null;
}"""


def test_return_visits_read_the_cached_shards_and_repair_a_damaged_one(served, sites, browser):
    """A return visit takes the weight shards from the service worker's cache without a request.
    They are verified like a download: a damaged copy there is dropped and fetched again."""
    url = f"{served}seq/?backend=wasm"
    context = browser.new_context()
    try:
        first = Page(context, url)
        assert first.ready() == "ready"
        intact = Page(context, url)
        assert intact.ready() == "ready"
        assert not [u for u in intact.requests if u.endswith(".bin")], intact.requests
        intact.page.close()

        shard = first.page.evaluate(DAMAGE_CACHED_SHARD, f"{served}seq/model/")
        assert shard is not None, "the first visit's shards never reached the cache"
        first.page.close()
        repaired = Page(context, url)
        assert repaired.ready() == "ready", repaired.page.text_content("#error")
        name = shard.rsplit("/", 1)[1]
        assert [u for u in repaired.requests if u.endswith(".bin")] == [shard]  # only the damaged one
        assert any(name in text and "corrupt or truncated" in text for _, text in repaired.console), repaired.console
        intact_sha256 = hashlib.sha256((sites["seq"] / "model" / name).read_bytes()).hexdigest()
        assert repaired.page.evaluate(CACHED_SHA256, shard) == intact_sha256  # the cache holds it whole again
    finally:
        context.close()


# Every response in this origin's caches, by URL: (cache name, Content-Type).
CACHED_ENTRIES = """async () => {
  const entries = {};
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const hit = await cache.match(request);
      entries[request.url] = [name, hit.headers.get('Content-Type')];
    }
  }
  return entries;
}"""


@pytest.fixture
def site_with_shards(tmp_path, fine_tuned_keras, labels_file):
    """A site whose weights are in several shards."""
    site = tmp_path / "site"
    _build(site, model=str(fine_tuned_keras), labels=labels_file, shard_size=64 * 1024)
    shards = [p for g in json.loads((site / "model" / "model.json").read_text())["weightsManifest"] for p in g["paths"]]
    assert len(shards) >= 3, shards
    return site, shards


def test_a_hosts_fallback_page_is_never_cached_as_a_weight_shard(site_with_shards, open_page):
    """A shard missing on a host that answers every missing path with index.html (200, text/html),
    as single-page-app hosts do: the page says what happened, naming the shard, and the service
    worker caches the shards that are there but not the HTML under the missing one's URL."""
    site, shards = site_with_shards
    missing = shards[1]
    (site / "model" / missing).unlink()
    host = StaticHost(site, "spa", fallback=True)
    try:
        page = open_page(f"{host.url}?backend=wasm")
        assert page.ready() == "error"
        message = page.page.text_content("#error")
        assert f"model/{missing}: the server sent an HTML page instead of the weight file" in message, message
        assert "text/html" in message
        # Wait for the intact shards, fetched alongside it, to reach the cache ...
        base = f"{host.url}model/"
        page.page.wait_for_function("""async (urls) => {
          for (const url of urls) if (!(await caches.match(url))) return false;
          return true;
        }""", arg=[base + s for s in shards if s != missing])
        # ... and nothing is cached under the missing shard's URL, and no HTML but index.html.
        entries = page.page.evaluate(CACHED_ENTRIES)
        assert base + missing not in entries
        html = [url for url, (_, kind) in entries.items() if kind and kind.startswith("text/html")]
        assert html == [host.url + "index.html"], html
    finally:
        host.close()


def _controlled_and_isolated(page) -> dict:
    return page.page.evaluate("""() => ({
      controlled: navigator.serviceWorker.controller !== null,
      isolated: window.crossOriginIsolated,
      offline: document.body.dataset.offline,
      threads: window.browsernet.stats().threads,
      cpus: navigator.hardwareConcurrency,
    })""")


def test_a_hard_reload_ends_controlled_and_isolated_again(publish_sites, browser):
    """Shift+Reload on a host without COOP/COEP headers bypasses the service worker for that
    navigation. The page does not wait for a worker that will never take it over: one more reload
    puts it behind the worker again, controlled and cross-origin isolated, with WASM threads."""
    host = StaticHost(publish_sites["github-pages"], "hard-reload")
    context = browser.new_context()
    loads: list[str] = []
    context.expose_binding("noteLoad", lambda source, how: loads.append(how))
    context.add_init_script("window.noteLoad(navigator.serviceWorker.controller ? 'controlled' : 'uncontrolled')")
    try:
        page = Page(context, f"{host.url}?backend=wasm")
        assert page.ready() == "ready", page.page.text_content("#error")
        assert _controlled_and_isolated(page)["isolated"] is True
        loads.clear()
        # What Chromium does on Shift+Reload (and DevTools' "Empty cache and hard reload").
        with page.page.expect_navigation():
            page.cdp.send("Page.reload", {"ignoreCache": True})
        assert page.ready() == "ready", page.page.text_content("#error")
        state = _controlled_and_isolated(page)
        # Threaded WASM runs only cross-origin isolated; the page asks it for one thread per CPU.
        assert state == {"controlled": True, "isolated": True, "offline": "controlled", "threads": state["cpus"],
                         "cpus": state["cpus"]}
        # The hard reload bypassed the worker, and one more load was enough.
        assert loads == ["uncontrolled", "controlled"], loads
    finally:
        context.close()
        host.close()


def test_the_cache_holds_this_builds_files_and_no_precompressed_copy(sites, served, open_page):
    """After a first visit, the service worker's cache holds the build's files (all but the weight
    shards and .wasm binaries at install, those once fetched), under their own names, and nothing else:
    the .br/.gz copies are the host's business."""
    from builder.site import precompress

    site, base = sites["keras"], f"{served}keras/"
    report = json.loads((site / "report.json").read_text())
    shards = list(report["shard_sha256"])
    page = open_page(f"{base}?backend=wasm")
    assert page.ready() == "ready", page.page.text_content("#error")
    page.page.wait_for_function("""async (urls) => {
      for (const url of urls) if (!(await caches.match(url))) return false;
      return true;
    }""", arg=[f"{base}model/{s}" for s in shards])
    cached = {url[len(base):] for url in page.page.evaluate(CACHED_ENTRIES) if url.startswith(base)}
    files = set(report["files"]) | {"report.json"}
    assert cached <= files - {"sw.js"}, cached - files
    assert not [p for p in cached if precompress.is_copy(p)]
    webgpu = vendor.webgpu_script()  # fetched only where a WebGPU adapter exists; this Chromium has none
    assert {p for p in files if not p.endswith((".bin", ".wasm"))} - {"sw.js", webgpu} <= cached
    assert webgpu in files and webgpu not in cached
    assert {f"model/{s}" for s in shards} <= cached
    assert len([p for p in cached if p.endswith(".wasm")]) == 1  # the one binary this browser ran


# Whether this origin's caches hold a response for the URL that ends with the argument.
HOLDS = """async (suffix) => {
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    if ((await cache.keys()).some((request) => request.url.endsWith(suffix))) return true;
  }
  return false;
}"""


def test_offline_the_page_names_the_wasm_binary_it_never_cached_not_the_one_it_did(rebuildable, browser):
    """Each thread setting loads its own WASM binary; a visit with the network caches the one it used. Offline,
    ?threads=1 needs another: the page fell back to the cpu backend saying all three were "missing (unreachable)",
    the cached one too (its HEAD request bypasses the service worker, which answers GETs)."""
    _, url = rebuildable
    threaded = "vendor/tfjs-backend-wasm-threaded-simd.wasm"
    context = browser.new_context()
    try:
        first = Page(context, f"{url}?backend=wasm")
        assert first.ready() == "ready", first.page.text_content("#error")
        first.page.wait_for_function(HOLDS, arg=threaded, timeout=30_000)
        context.set_offline(True)
        offline = Page(context, f"{url}?threads=1")
        assert offline.ready() == "ready", offline.page.text_content("#error")
        status = offline.page.text_content("#status")
        assert "tfjs-backend-wasm-simd.wasm (unreachable, and not cached for offline use)" in status, status
        assert threaded not in status, status
    finally:
        context.close()
