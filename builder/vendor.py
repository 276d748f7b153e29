"""The pinned TF.js runtime: find it in node_modules and copy it into a site.

The versions are pinned in package.json / package-lock.json and installed by
``npm ci``; nothing is fetched at build time and the site never loads a CDN.
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
PROJECT_ROOT = Path(__file__).resolve().parent.parent

# package -> files copied from its dist/ into <site>/vendor/, in script load order first.
# The ES2017 UMD builds, not tf.min.js: the ES5 build's regenerator shim calls
# Function("...") when it runs in strict mode, which a Content-Security-Policy
# without 'unsafe-eval' blocks, and the runtime then fails to load. The ES2017
# builds use native async functions, need no eval, and are 25% smaller.
RUNTIME_FILES: dict[str, tuple[str, ...]] = {
    "@tensorflow/tfjs": ("tf.es2017.min.js",),
    "@tensorflow/tfjs-backend-wasm": (
        "tf-backend-wasm.es2017.min.js",
        "tfjs-backend-wasm.wasm",
        "tfjs-backend-wasm-simd.wasm",
        "tfjs-backend-wasm-threaded-simd.wasm",
    ),
}
VENDOR_DIR = "vendor"


@dataclass(frozen=True)
class Runtime:
    node_modules: Path

    @property
    def scripts(self) -> list[str]:
        """Site-relative URLs of the runtime scripts, in load order."""
        return [f"{VENDOR_DIR}/{name}" for files in RUNTIME_FILES.values() for name in files if name.endswith(".js")]

    def script_tags(self, hashes: dict[str, str]) -> list[dict[str, str]]:
        """``[{src, integrity}]`` for the page's runtime ``<script>`` tags, from :func:`copy_into`'s hashes."""
        return [{"src": src, "integrity": hashes[src]} for src in self.scripts]


def find_node_modules() -> Path:
    """``$BROWSERNET_NODE_MODULES``, else the project's own ``node_modules``."""
    env = os.environ.get("BROWSERNET_NODE_MODULES")
    candidates = [Path(env)] if env else [PROJECT_ROOT / "node_modules", Path.cwd() / "node_modules"]
    for path in candidates:
        if (path / "@tensorflow" / "tfjs" / "package.json").is_file():
            return path
    raise RuntimeMissingError(
        f"TF.js runtime not found in {candidates[0]}: run 'npm ci' in {PROJECT_ROOT} (or 'make setup')")


def locate() -> Runtime:
    """Find the runtime and check that it is the pinned version."""
    node_modules = find_node_modules()
    for package in RUNTIME_FILES:
        meta = node_modules / package / "package.json"
        try:
            version = json.loads(meta.read_text())["version"]
        except (OSError, ValueError, KeyError) as e:
            raise RuntimeMissingError(f"{meta}: unreadable ({e}); run 'npm ci'") from e
        if version != TFJS_VERSION:
            raise RuntimeMissingError(f"{package} is {version} in {node_modules}, browsernet needs {TFJS_VERSION}; "
                                      "run 'npm ci'")
    return Runtime(node_modules)


def copy_into(runtime: Runtime, site: Path) -> dict[str, str]:
    """Copy the runtime into ``site/vendor``; return ``{relative path: sha384 SRI hash}``."""
    target = site / VENDOR_DIR
    target.mkdir(parents=True, exist_ok=True)
    hashes = {}
    for package, files in RUNTIME_FILES.items():
        for name in files:
            source = runtime.node_modules / package / "dist" / name
            if not source.is_file():
                raise RuntimeMissingError(f"{source}: missing from the installed runtime; run 'npm ci'")
            data = source.read_bytes()
            (target / name).write_bytes(data)
            digest = hashlib.sha384(data).digest()
            hashes[f"{VENDOR_DIR}/{name}"] = "sha384-" + base64.b64encode(digest).decode()
    return hashes


def node_binary() -> str:
    """The Node.js executable used for the self-check."""
    node = os.environ.get("BROWSERNET_NODE") or shutil.which("node")
    if not node:
        raise RuntimeMissingError("Node.js not found on PATH; install nodejs (needed for npm ci and the self-check)")
    return node
