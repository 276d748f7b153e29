"""Lock-down: the Content-Security-Policy is enforced and never violated, the runtime carries
Subresource Integrity, and corrupt weight shards stop the page with a message naming the file."""

from __future__ import annotations

import hashlib
import json
import re
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


def test_policy_is_in_a_meta_before_any_script(sites):
    html = (sites["keras"] / "index.html").read_text()
    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert meta and html.index(meta.group(0)) < html.index("<script")
    policy = meta.group(1).replace("&#39;", "'")
    assert policy == CONTENT_SECURITY_POLICY
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self' 'wasm-unsafe-eval'"
    assert directives["style-src"] == "'self'" and "unsafe-inline" not in policy and "unsafe-eval'" not in policy.replace(
        "wasm-unsafe-eval'", "")
    assert directives["worker-src"] == "'self'" and directives["manifest-src"] == "'self'"
    assert directives["default-src"] == "'none'"
    # Nothing inline for the policy to block: no inline script bodies (a JSON data block is not run),
    # style elements or attributes.
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", html)
    assert "<style" not in html and " style=" not in html


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


def test_runtime_scripts_carry_the_build_hashes(sites):
    import base64

    html = (sites["keras"] / "index.html").read_text()
    block = re.search(r'<script type="application/json" id="runtime">(.*?)</script>', html, re.S)
    tags = [(s["src"], s["integrity"]) for s in json.loads(block.group(1))]
    assert [src for src, _ in tags] == [f"vendor/{vendor.BUNDLE}"]
    for src, integrity in tags:
        digest = base64.b64encode(hashlib.sha384((sites["keras"] / src).read_bytes()).digest()).decode()
        assert integrity == f"sha384-{digest}"


def test_tampered_runtime_is_refused(sites, served, open_page):
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
