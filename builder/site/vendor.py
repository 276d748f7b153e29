"""The pinned TF.js runtime: find it in node_modules and copy it into a site.

The versions are pinned in package.json / package-lock.json, installed by ``npm ci``
and bundled by ``make setup``; nothing is fetched at build time and the site never
loads a CDN.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from builder.errors import RuntimeMissingError

TFJS_VERSION = "4.22.0"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
VENDOR_DIR = "vendor"

# The one runtime script a site loads: TF.js core, layers and the webgl/wasm/cpu backends,
# bundled from builder/site/runtime/ by `make setup` (esbuild, pinned in package.json) into
# node_modules/.browsernet/. It is an ES2017 build like TF.js's own .es2017 scripts: the
# ES5 tf.min.js's regenerator shim calls Function("..."), which the page's CSP (no
# 'unsafe-eval') blocks. Without the converter, tfjs-data and gradients it is 12% smaller
# than tf.es2017.min.js plus tf-backend-wasm.es2017.min.js (see README, Performance).
BUNDLE_DIR = ".browsernet"
BUNDLE = "tf-layers.es2017.min.js"
BUNDLE_SOURCES = Path(__file__).resolve().parent / "runtime"
# The WASM backend's binaries, which the bundle fetches from vendor/ (one per visit).
WASM_PACKAGE = "@tensorflow/tfjs-backend-wasm"
WASM_BINARIES = ("tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm", "tfjs-backend-wasm-threaded-simd.wasm")
# The packages the bundle is built from; each must be the pinned version.
PACKAGES = ("@tensorflow/tfjs-core", "@tensorflow/tfjs-layers", "@tensorflow/tfjs-backend-cpu",
            "@tensorflow/tfjs-backend-webgl", WASM_PACKAGE)
# TF.js's own complete scripts (with the converter), for the bench harness's graph-model
# baseline: package -> file in its dist/, in load order.
FULL_SCRIPTS = {"@tensorflow/tfjs": "tf.es2017.min.js", WASM_PACKAGE: "tf-backend-wasm.es2017.min.js"}


@dataclass(frozen=True)
class Runtime:
    node_modules: Path

    @property
    def sources(self) -> dict[str, Path]:
        """Site-relative path -> the installed file it is copied from; the script first."""
        files = {f"{VENDOR_DIR}/{BUNDLE}": self.node_modules / BUNDLE_DIR / BUNDLE}
        files.update({path: self.node_modules / WASM_PACKAGE / "dist" / name for name, path in wasm_files().items()})
        return files

    @property
    def compression_cache(self) -> Path:
        """Where pre-compressed copies are kept between builds (the runtime's take seconds to make)."""
        return self.node_modules / BUNDLE_DIR / "compressed"

    @property
    def scripts(self) -> list[str]:
        """Site-relative URLs of the runtime scripts, in load order."""
        return [path for path in self.sources if path.endswith(".js")]

    def script_tags(self, hashes: dict[str, str]) -> list[dict[str, str]]:
        """``[{src, integrity}]`` for the page's runtime ``<script>`` tags, from :func:`copy_into`'s hashes."""
        return [{"src": src, "integrity": hashes[src]} for src in self.scripts]


def wasm_files() -> dict[str, str]:
    """Each WASM binary's file name -> its site-relative URL, as :func:`copy_into` places it."""
    return {name: f"{VENDOR_DIR}/{name}" for name in WASM_BINARIES}


def find_node_modules() -> Path:
    """``$BROWSERNET_NODE_MODULES``, else the project's own ``node_modules``."""
    env = os.environ.get("BROWSERNET_NODE_MODULES")
    candidates = [Path(env)] if env else [PROJECT_ROOT / "node_modules", Path.cwd() / "node_modules"]
    for path in candidates:
        if (path / "@tensorflow" / "tfjs" / "package.json").is_file():
            return path
    raise RuntimeMissingError(
        f"TF.js runtime not found in {candidates[0]}: run 'make setup' (or 'npm ci') in {PROJECT_ROOT}")


def locate() -> Runtime:
    """Find the runtime, check that it is the pinned version and that its bundle is built and current."""
    node_modules = find_node_modules()
    for package in dict.fromkeys((*PACKAGES, *FULL_SCRIPTS)):
        meta = node_modules / package / "package.json"
        try:
            version = json.loads(meta.read_text())["version"]
        except (OSError, ValueError, KeyError) as e:
            raise RuntimeMissingError(f"{meta}: unreadable ({e}); run 'make setup' (or 'npm ci')") from e
        if version != TFJS_VERSION:
            raise RuntimeMissingError(f"{package} is {version} in {node_modules}, browsernet needs {TFJS_VERSION}; "
                                      "run 'make setup' (or 'npm ci')")
    bundle = node_modules / BUNDLE_DIR / BUNDLE
    if not bundle.is_file():
        raise RuntimeMissingError(f"{bundle}: the TF.js runtime bundle is not built; run 'make setup' "
                                  f"in {PROJECT_ROOT}")
    built = bundle.stat().st_mtime
    changed = [p.name for p in sorted(BUNDLE_SOURCES.glob("*.mjs")) if p.stat().st_mtime > built]
    if changed:
        raise RuntimeMissingError(f"{bundle}: older than builder/site/runtime/{changed[0]}; run 'make setup' "
                                  "to rebuild it")
    return Runtime(node_modules)


def copy_into(runtime: Runtime, site: Path) -> dict[str, str]:
    """Copy the runtime into ``site/vendor``; return ``{relative path: sha384 SRI hash}``."""
    (site / VENDOR_DIR).mkdir(parents=True, exist_ok=True)
    hashes = {}
    for path, source in runtime.sources.items():
        if not source.is_file():
            raise RuntimeMissingError(f"{source}: missing from the installed runtime; run 'make setup'")
        data = source.read_bytes()
        (site / path).write_bytes(data)
        hashes[path] = "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()
    return hashes


def full_scripts(runtime: Runtime) -> list[Path]:
    """TF.js's own complete scripts (converter included), in load order: the bench harness's runtime."""
    return [runtime.node_modules / package / "dist" / name for package, name in FULL_SCRIPTS.items()]


def node_binary() -> str:
    """The Node.js executable used for the self-check."""
    node = os.environ.get("BROWSERNET_NODE") or shutil.which("node")
    if not node:
        raise RuntimeMissingError("Node.js not found on PATH; install nodejs (needed for npm ci and the self-check)")
    return node
