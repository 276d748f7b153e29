"""Lock-down: the Content-Security-Policy is enforced and never violated, the runtime carries
Subresource Integrity, and corrupt weight shards stop the page with a message naming the file."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest

from builder.site import vendor
from builder.site.render import CONTENT_SECURITY_POLICY

RUN_ONE = """async () => {
  const n = 64 * 64;
  const img = new ImageData(new Uint8ClampedArray(n * 4).fill(180), 64, 64);
  return await window.browsernet.classify(img, 1);
}"""


def _copy_site(sites, name: str):
    site = sites["keras"].parent / name
    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(sites["keras"], site)
    return site


# The policy the browser enforces, as the violation it reports for an inline script says.
ENFORCED_POLICY = """() => new Promise((resolve) => {
  document.addEventListener('securitypolicyviolation', (e) => resolve([e.originalPolicy, e.disposition]), { once: true });
  const s = document.createElement('script');
  s.textContent = 'window.x = 1';
  document.body.append(s);
})"""


def test_the_browser_enforces_the_builds_policy_from_the_start(served, open_page):
    page = open_page(f"{served}keras/?backend=wasm")
    assert page.ready() == "ready", page.page.text_content("#error")
    # Delivered before any script of the page (a <meta> policy covers only what follows it).
    assert page.page.evaluate("""() => {
      const meta = document.querySelector('meta[http-equiv="Content-Security-Policy"]');
      return [...document.scripts].every((s) => meta.compareDocumentPosition(s) & Node.DOCUMENT_POSITION_FOLLOWING);
    }""")
    policy, disposition = page.page.evaluate(ENFORCED_POLICY)
    assert (policy, disposition) == (CONTENT_SECURITY_POLICY, "enforce")
    assert page.page.evaluate("() => window.x") is None
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self' 'wasm-unsafe-eval'"
    assert directives["style-src"] == "'self'" and "unsafe-inline" not in policy
    assert "'unsafe-eval'" not in policy.replace("'wasm-unsafe-eval'", "")
    assert directives["worker-src"] == "'self'" and directives["manifest-src"] == "'self'"
    assert directives["default-src"] == "'none'"


@pytest.mark.parametrize("query", ["?backend=wasm", "?backend=cpu", "?backend=webgl", "?backend=wasm&worker=0",
                                   "?backend=cpu&worker=0", "?backend=webgl&worker=0"])
def test_page_runs_under_its_policy_without_violations(query, served, open_page):
    page = open_page(f"{served}keras/{query}")
    assert page.ready() == "ready", page.page.text_content("#error")
    assert page.page.evaluate("window.browsernet.thread") == ("main" if "worker=0" in query else "worker")
    assert len(page.page.evaluate(RUN_ONE)) == 1
    assert page.csp_violations() == []
    assert [t for kind, t in page.console if kind == "error"] == []
    # The policy really is enforced, and a violation would have been seen: inline script is refused.
    with page.page.expect_console_message(lambda m: "securitypolicyviolation script-src" in m.text):
        page.page.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.x = 1';"
                           " document.body.append(s); }")
    assert page.page.evaluate("() => window.x") is None


def test_tampered_runtime_is_refused(sites, served, open_page):
    """The runtime is fetched with its integrity hash from index.html: every other page test runs the
    intact file, and one byte more is refused before it runs."""
    site = _copy_site(sites, "tampered-runtime")
    with open(site / "vendor" / vendor.BUNDLE, "a") as f:
        f.write("\n;console.log('tampered');\n")
    page = open_page(f"{served}{site.name}/?backend=wasm")
    assert page.ready() == "error"
    message = page.page.text_content("#error")
    assert vendor.BUNDLE in message and "integrity" in message, message
    assert ("log", "tampered") not in page.console  # the altered file never ran
    assert any("integrity" in t for _, t in page.console)


def _shard(site):
    model = json.loads((site / "model" / "model.json").read_text())
    return model["weightsManifest"][0]["paths"][0]


@pytest.mark.parametrize("query", ["?backend=wasm", "?backend=cpu&worker=0"])
@pytest.mark.parametrize("damage", ["corrupt", "truncate"])
def test_damaged_shard_stops_the_page_naming_the_file(damage, query, sites, served, open_page):
    site = _copy_site(sites, f"shard-{damage}")
    name = _shard(site)
    path = site / "model" / name
    data = bytearray(path.read_bytes())
    if damage == "corrupt":
        data[len(data) // 2] ^= 0x01  # one bit: still a plausible float
    else:
        data = data[: len(data) - 100]
    path.write_bytes(bytes(data))
    page = open_page(f"{served}{site.name}/{query}")
    assert page.ready() == "error"
    message = page.page.text_content("#error")
    assert name in message and "corrupt or truncated" in message, message
    assert page.page.locator("#file-input").is_disabled()
    rejected = page.page.evaluate("() => window.browsernet.ready.then(() => 'resolved', (e) => e.message)")
    assert name in rejected


def test_intact_shards_match_the_recorded_digests(sites):
    """What the page verifies against: config.json and report.json agree with the files model.json lists."""
    site = sites["keras"]
    config = json.loads((site / "config.json").read_text())
    report = json.loads((site / "report.json").read_text())
    model = json.loads((site / "model" / "model.json").read_text())
    listed = [p for group in model["weightsManifest"] for p in group["paths"]]
    expected = {p: hashlib.sha256((site / "model" / p).read_bytes()).hexdigest() for p in listed}
    assert config["shardSha256"] == expected == report["shard_sha256"]
    assert np.all([len(d) == 64 for d in expected.values()])
