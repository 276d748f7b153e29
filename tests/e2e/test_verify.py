"""`browsernet verify` against real hosts (browsernet's preview server, a header-less static host under
/<repo>/ as GitHub Pages serves, the Firebase Hosting emulator) and against sites broken on purpose,
each of which must fail with its cause named. Also the pytest fixture people use in their own tests."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from builder.testing import classify
from tests.conftest import SIZE, _build, built_copy, retrain
from tests.e2e import static_host
from tests.e2e.static_host import StaticHost
from tests import helpers

NAMES = ["Loads", "Right files", "Right answers", "Private", "Host", "Return visit", "Offline"]


def verify(target: str, tmp_path: Path, *options: str) -> tuple[int, str, dict[str, dict]]:
    """Run the command (its own process: Playwright's sync API runs once per thread, and this session's
    browser fixtures hold one); return its exit code, its table and the checks from --json, by name."""
    out = tmp_path / "verify.json"
    result = subprocess.run([sys.executable, "-m", "builder", "verify", target, "--json", str(out), "-q", *options],
                            capture_output=True, text=True, timeout=900)
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert out.is_file(), output
    data = json.loads(out.read_text())
    checks = {c["name"]: c for c in data["checks"]}
    assert list(checks) == NAMES
    lines = result.stdout.strip().splitlines()
    for name, check in checks.items():  # the table says the same as the JSON, one line per check
        assert any(line.startswith(f"{'✓' if check['ok'] else '✗'} {name} ") for line in lines), output
    return result.returncode, result.stdout, checks


def assert_all_pass(code: int, output: str, checks: dict[str, dict]) -> None:
    assert code == 0 and all(c["ok"] for c in checks.values()), output
    assert "all checks pass" in output.splitlines()[-1]


@pytest.fixture
def site_copy(publish_sites, tmp_path) -> Path:
    """A copy of the GitHub Pages test site (fine-tuned MobileNetV2, 96 px), to break on purpose."""
    site = tmp_path / "site"
    shutil.copytree(publish_sites["github-pages"], site)
    return site


def verify_on_host(site: Path, tmp_path: Path, *options: str, **host_options) -> tuple[int, str, dict[str, dict]]:
    """:func:`verify` of ``site`` served by a plain static host under /dog-classifier/ (GitHub Pages' layout)."""
    host = StaticHost(site, "dog-classifier", **host_options)
    try:
        return verify(host.url, tmp_path, *options)
    finally:
        host.close()


def _shard(site: Path) -> Path:
    return sorted((site / "model").glob("*.bin"))[0]


# ---- real hosts ----

def test_passes_on_browsernet_serve(publish_sites, tmp_path):
    code, output, checks = verify(str(publish_sites["github-pages"]), tmp_path)
    assert_all_pass(code, output, checks)
    assert "host's COOP/COEP headers" in checks["Host"]["detail"]
    assert "on wasm" in checks["Loads"]["detail"] and "limit 0.0001" in checks["Right answers"]["detail"]


def test_passes_on_a_headerless_host_under_a_subpath(publish_sites, tmp_path):
    site = publish_sites["github-pages"]
    code, output, checks = verify_on_host(site, tmp_path, "--expect", str(site))
    assert_all_pass(code, output, checks)
    assert "by the site's service worker" in checks["Host"]["detail"]
    assert "threads" in checks["Host"]["detail"]
    assert f"match {site}/report.json's sha256" in checks["Right files"]["detail"]


def test_an_address_that_redirects_is_verified_where_visitors_end_up(publish_sites, tmp_path):
    """The site's old address (another host name, spelt in capitals, without its trailing slash) answers with a
    301 to the site, as http:// to https:// or a renamed project does. Every request the page makes is then on the
    address it was sent to: compared with the address typed, Private failed, and the check of the bytes the page
    received (and the count of the return visit's downloads) found nothing to check."""
    site = publish_sites["github-pages"]
    host = StaticHost(site, "dog-classifier", moved_from="old-name")
    try:
        port = host.server.server_address[1]
        code, output, checks = verify(f"http://LOCALHOST:{port}/old-name", tmp_path, "--expect", str(site))
    finally:
        host.close()
    assert_all_pass(code, output, checks)
    assert f"every request stayed on http://localhost:{port}" in checks["Private"]["detail"]
    assert "also as the page received them" in checks["Right files"]["detail"]


def test_a_host_serving_another_build_than_expected(publish_sites, tmp_path):
    """The host still serves an older deploy (here: another build): verify --expect SITE says so, and holds the
    page to SITE's files and answers, not to the report.json the host serves beside them."""
    code, output, checks = verify_on_host(publish_sites["github-pages"], tmp_path,
                                          "--expect", str(publish_sites["any-host"]))
    assert code == 1
    assert checks["Right files"]["detail"].startswith(
        f"the host serves another build (build_id ") and f"than {publish_sites['any-host']}/" in \
        checks["Right files"]["detail"]
    assert not checks["Right answers"]["ok"]  # the page's answers are the other model's
    assert checks["Loads"]["ok"]


def test_passes_on_the_firebase_emulator(firebase_host, tmp_path):
    url, _ = firebase_host
    code, output, checks = verify(url, tmp_path)
    assert_all_pass(code, output, checks)
    assert "host's COOP/COEP headers" in checks["Host"]["detail"]


def test_webgpu_on_browsernet_serve(publish_sites, tmp_path):
    """--backends webgpu: Chromium started with its software WebGPU flags, every visit on WebGPU (the small
    Sequential model: SwiftShader's WebGPU is slow)."""
    code, output, checks = verify(str(publish_sites["firebase"]), tmp_path, "--backends", "webgpu")
    assert_all_pass(code, output, checks)
    assert checks["Loads"]["detail"] == "ready on webgpu in a worker"
    assert "on webgpu (limit 0.0001)" in checks["Right answers"]["detail"]
    assert "classifies on webgpu" in checks["Offline"]["detail"]


def test_webgpu_without_an_adapter_is_one_line(publish_sites, chromium_without_webgpu, tmp_path):
    out = tmp_path / "verify.json"
    result = subprocess.run([sys.executable, "-m", "builder", "verify", str(publish_sites["firebase"]),
                             "--backends", "auto,webgpu", "--json", str(out), "-q"], capture_output=True, text=True,
                            timeout=300, env={**os.environ, "BROWSERNET_CHROMIUM": str(chromium_without_webgpu)})
    assert result.returncode == 1
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "Error: --backends webgpu: Chromium offers no WebGPU adapter here (requestAdapter() gave none)"), lines
    assert not out.exists()


# ---- sites broken on purpose: each fails, naming its cause ----

def test_a_custom_domain_changed_after_the_build_fails_as_deploy_refuses_it(sequential_keras, tmp_path):
    """A site built for GitHub Pages with --cname, whose CNAME was edited afterwards (or a stray one added): the
    domain it would be served at is not the build's, and deploy refuses the folder, so verify must not pass it."""
    four = tmp_path / "labels.txt"
    four.write_text("north\neast\nsouth\nwest\n")
    site = tmp_path / "site"
    _build(site, model=str(sequential_keras), labels=four, preprocess="unit", target="github-pages",
           cname="classify.example.com")
    (site / "CNAME").write_text("evil.example.com\n")
    code, output, checks = verify(str(site), tmp_path)
    assert code == 1
    assert "CNAME: changed since the build" in checks["Right files"]["detail"], checks["Right files"]
    assert all(c["ok"] for name, c in checks.items() if name != "Right files"), output


def test_a_flipped_shard_byte(site_copy, tmp_path):
    shard = _shard(site_copy)
    data = bytearray(shard.read_bytes())
    data[len(data) // 3] ^= 0x40
    shard.write_bytes(bytes(data))
    code, output, checks = verify(str(site_copy), tmp_path)
    assert code == 1
    files = checks["Right files"]
    assert not files["ok"] and f"model/{shard.name}: sha256" in files["detail"] and "report.json" in files["detail"]
    assert not checks["Loads"]["ok"] and shard.name in checks["Loads"]["detail"]  # the page names it too


def test_a_file_the_build_did_not_write_fails_as_deploy_refuses_it(site_copy, tmp_path):
    """An .env left in the site folder: deploy refuses to publish it, so verify must not pass the folder."""
    (site_copy / ".env").write_text("TOKEN=secret\n")
    code, output, checks = verify(str(site_copy), tmp_path)
    assert code == 1
    files = checks["Right files"]
    assert not files["ok"] and ".env: in the folder but not written by the build" in files["detail"], files
    assert checks["Right answers"]["ok"]  # the site itself still works: only that file is wrong


def test_a_file_the_page_did_not_ask_for_is_checked_too(site_copy, tmp_path):
    """The WebGPU bundle is fetched only where the page picks WebGPU: a host that lost it breaks those visitors,
    though this visit (wasm) never asks for it."""
    webgpu = next(p for p in (site_copy / "vendor").iterdir() if "webgpu" in p.name)
    webgpu.unlink()
    code, output, checks = verify_on_host(site_copy, tmp_path)
    assert code == 1 and checks["Loads"]["ok"]
    files = checks["Right files"]
    assert not files["ok"] and f"vendor/{webgpu.name}: HTTP 404 (missing on the host)" in files["detail"], files


def test_a_missing_shard_behind_an_html_fallback(site_copy, tmp_path):
    shard = _shard(site_copy)
    shard.unlink()
    code, output, checks = verify_on_host(site_copy, tmp_path, fallback=True)
    assert code == 1
    files = checks["Right files"]
    assert not files["ok"]
    assert f"model/{shard.name}: the host sent an HTML page (HTTP 200, text/html) instead of the file" in files["detail"]


def test_a_stale_config_json_that_only_the_browser_gets_fails_right_answers(publish_sites, tmp_path):
    """The numbers are right but the page names them with another build's labels: verify's own download of
    config.json is the right file; the page's labels and the bytes the page received tell."""
    site = publish_sites["github-pages"]
    config = json.loads((site / "config.json").read_text())
    labels = config["labels"]
    shifted = dict(config, labels=labels[1:] + labels[:1])
    code, output, checks = verify_on_host(site, tmp_path, to_browsers={"config.json": json.dumps(shifted).encode()})
    assert code == 1
    answers = checks["Right answers"]
    assert not answers["ok"] and f"the page names output 0 as '{labels[1]}', not '{labels[0]}'" in answers["detail"]
    files = checks["Right files"]
    assert not files["ok"] and files["detail"].startswith("config.json: the page received sha256 "), files


def test_a_stale_page_that_only_browsers_get_fails_right_files(publish_sites, tmp_path):
    """A cache that keys on what browsers send serves them last week's index.html, which still works: verify's
    own request gets the build's file, so only the bytes the page received tell. Nothing else fails."""
    site = publish_sites["github-pages"]
    stale = (site / "index.html").read_bytes() + b"\n<!-- last week's page -->\n"
    code, output, checks = verify_on_host(site, tmp_path, to_browsers={"index.html": stale})
    assert code == 1
    files = checks["Right files"]
    assert not files["ok"] and files["detail"].startswith("index.html: the page received sha256 "), files
    assert "a cache sends browsers a stale copy" in files["detail"]
    assert [name for name, check in checks.items() if not check["ok"]] == ["Right files"], output


def test_a_changed_config_json_with_expect_fails_right_answers_too(publish_sites, site_copy, tmp_path):
    """The host serves other labels to everyone: Right files says the file is not the build's, and Right answers
    that the page names the classes wrongly, against --expect's config.json."""
    config = json.loads((site_copy / "config.json").read_text())
    labels = config["labels"]
    (site_copy / "config.json").write_text(json.dumps(dict(config, labels=labels[1:] + labels[:1])))
    code, output, checks = verify_on_host(site_copy, tmp_path, "--expect", str(publish_sites["github-pages"]))
    assert code == 1 and not checks["Right files"]["ok"]
    answers = checks["Right answers"]
    assert not answers["ok"] and f"the page names output 0 as '{labels[1]}', not '{labels[0]}'" in answers["detail"]


def test_a_wasm_served_with_the_wrong_type(publish_sites, tmp_path, monkeypatch):
    # A host without a type for .wasm: application/octet-stream, as many send.
    monkeypatch.setitem(static_host._Handler.extensions_map, ".wasm", "application/octet-stream")
    code, output, checks = verify_on_host(publish_sites["github-pages"], tmp_path)
    assert code == 1
    detail = checks["Host"]["detail"]
    assert not checks["Host"]["ok"]
    assert "vendor/tfjs-backend-wasm" in detail and ".wasm is served as 'application/octet-stream'" in detail
    assert checks["Right files"]["ok"]  # the bytes are right; only their type is not


def test_a_stale_site(sequential_keras, tmp_path):
    model, _, site = built_copy(sequential_keras, tmp_path)
    retrain(model)  # the model changed since the build
    code, output, checks = verify(str(site), tmp_path)
    assert code == 1
    files = checks["Right files"]
    assert not files["ok"] and f"stale: the model file {model.resolve()} changed since the site was built" in \
        files["detail"]
    assert checks["Loads"]["ok"]  # the site itself still runs: the cause named is the stale model



def test_a_quantized_site_whose_weights_span_shards(fine_tuned_keras, labels_file, tmp_path):
    """uint8 kernels (channel-scaled where folded), float16 for the rest, in shards of an odd size: weights
    span shard boundaries and start at offsets that are not multiples of 4. The page must dequantize them
    as Keras's reference does (the self-check's: Keras with the weights the browser reconstructs)."""
    site = tmp_path / "site"
    _build(site, model=str(fine_tuned_keras), labels=labels_file, quantize=("uint8=*/kernel", "float16"),
           shard_size=30_001)
    report = json.loads((site / "report.json").read_text())
    assert {"uint8", "float16"} <= set(report["weight_dtypes"]) and len(list((site / "model").glob("*.bin"))) > 3
    code, output, checks = verify(str(site), tmp_path)
    assert_all_pass(code, output, checks)


def _playwright_driver_in_session(session: int) -> bool:
    """Whether Playwright's driver (Node), which the Ctrl-C stops along with Python, runs in ``session``.
    (Chromium itself runs in a process group of its own.)"""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.getsid(int(pid)) == session and b"run-driver" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
        except OSError:  # gone meanwhile
            continue
    return False


def test_ctrl_c_in_a_terminal_says_aborted_and_nothing_else(publish_sites):
    """A terminal's Ctrl-C reaches the whole process group: Chromium and Playwright's driver stop too, and
    their failure may reach Python before the KeyboardInterrupt does. The user still sees "Aborted!"."""
    proc = subprocess.Popen([sys.executable, "-m", "builder", "verify", str(publish_sites["github-pages"])],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        for _ in range(600):  # until the browser is being started (at most a minute)
            if _playwright_driver_in_session(proc.pid) or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()
        time.sleep(2)  # Chromium starting, or the first visit
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 1, out + err
    assert err.strip().splitlines()[-1] == "Aborted!", err
    for noise in ("Traceback", "asyncio", "unexpected", "Error:"):
        assert noise not in err, err

# ---- the pytest fixture, as people use it in their own tests ----

@pytest.fixture(scope="session")
def browsernet_site(publish_sites):
    """The plugin's fixture, overridden as a user's conftest.py would."""
    return publish_sites["github-pages"]


def test_fixture_page_is_ready_and_classifies_a_file(browsernet_page, fine_tuned_keras, tmp_path):
    assert browsernet_page.evaluate("() => document.body.dataset.state") == "ready"
    labels = browsernet_page.evaluate("() => window.browsernet.labels")
    image = helpers.test_images(SIZE, count=1, seed=17)[0]
    path = tmp_path / "photo.png"
    Image.fromarray(image).save(path)
    results = classify(browsernet_page, path, top_k=len(labels))
    got = np.zeros(len(labels))
    got[[r["index"] for r in results]] = [r["probability"] for r in results]
    assert [r["label"] for r in results] == [labels[r["index"]] for r in results]
    assert np.abs(got - helpers.keras_probs(fine_tuned_keras, image[None])[0]).max() <= 1e-4
    with pytest.raises(Exception, match="not an image"):
        classify(browsernet_page, b"plain text", type="text/plain")
    # A photo's bytes without a type (or a path without a suffix) are sniffed, as a visitor's file of unknown type.
    untyped = classify(browsernet_page, path.read_bytes(), top_k=len(labels))
    assert untyped == results
    (tmp_path / "photo").write_bytes(path.read_bytes())
    assert classify(browsernet_page, tmp_path / "photo", top_k=len(labels)) == results
    (tmp_path / "photo.txt").write_bytes(path.read_bytes())  # a suffix of another type: no type either
    assert classify(browsernet_page, tmp_path / "photo.txt", top_k=len(labels)) == results


@pytest.mark.parametrize("site, said", [("http://127.0.0.1:9/", "http://127.0.0.1:9/: cannot be loaded"),
                                        ("nothing", "browsernet_url: nothing: no such site directory")])
def test_fixture_on_a_site_that_is_not_there_fails_in_one_line(site, said, tmp_path):
    """A user's own test run against a URL that refuses, or a folder that is not there: one line says why, not a
    Playwright traceback or the error printed twice ("During handling of the above exception...")."""
    (tmp_path / "test_mine.py").write_text("def test_page(browsernet_page):\n    assert browsernet_page\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_mine.py",
                           "--browsernet-site", site], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 1 and "1 error" in output, output
    assert said in output, output
    for noise in ("Traceback", "During handling", "playwright/_impl"):
        assert noise not in output, output


def test_waiting_as_docs_verify_md_says(browser, served_dir, publish_sites):
    """docs/verify.md's advice, checked: a selector wait on data-state survives the service worker's reload;
    wait_for_function needs a function, because the page's CSP refuses the eval a bare expression needs."""
    from playwright.sync_api import Error

    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(served_dir(publish_sites["github-pages"]))
        page.wait_for_selector("body:not([data-state=loading])", timeout=120_000)
        assert page.get_attribute("body", "data-state") == "ready"
        assert page.evaluate("() => window.browsernet.ready.then(() => window.browsernet.backend)") == "wasm"
        # A condition that must be polled: the expression is refused, the function merely times out.
        with pytest.raises(Error, match="EvalError: .*'unsafe-eval'"):
            page.wait_for_function("document.body.dataset.state === 'elsewhere'", timeout=3_000)
        with pytest.raises(Error, match="Timeout 3000ms exceeded"):
            page.wait_for_function("() => document.body.dataset.state === 'elsewhere'", timeout=3_000)
    finally:
        context.close()
