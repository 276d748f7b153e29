"""The preview server: headers, MIME types, containment, and the CLI's lifecycle."""

import http.client
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from builder.errors import ServeError
from builder.serve import make_server, url_of


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    (root / "vendor").mkdir(parents=True)
    (root / "model").mkdir()
    (root / "index.html").write_text("<!doctype html><title>t</title>")
    (root / "vendor" / "x.wasm").write_bytes(b"\0asm\1\0\0\0")
    (root / "model" / "model.json").write_text("{}")
    (root / "model" / "group1-shard1of1.bin").write_bytes(b"\0" * 16)
    (tmp_path / "secret.txt").write_text("outside the site")
    (root / "escape").symlink_to(tmp_path / "secret.txt")
    return root


@pytest.fixture
def server(site):
    srv = make_server(site, port=0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _get(server, path):
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=5)
    conn.request("GET", path)  # http.client sends the path as given: no client-side normalisation
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp, body


@pytest.mark.parametrize("path, mime", [
    ("/", "text/html"), ("/vendor/x.wasm", "application/wasm"), ("/model/model.json", "application/json"),
    ("/model/group1-shard1of1.bin", "application/octet-stream"),
])
def test_mime_types_and_isolation_headers(server, path, mime):
    resp, _ = _get(server, path)
    assert resp.status == 200
    assert resp.getheader("Content-Type").startswith(mime)
    assert resp.getheader("Cross-Origin-Opener-Policy") == "same-origin"
    assert resp.getheader("Cross-Origin-Embedder-Policy") == "require-corp"


@pytest.mark.parametrize("path", [
    "/../secret.txt", "/vendor/../../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/%2E%2E%2Fsecret.txt",
    "/vendor/..%5c..%5csecret.txt", "/escape", "/%252e%252e/secret.txt", "/%ff/x",
])
def test_nothing_outside_the_site_is_served(server, path):
    resp, body = _get(server, path)
    assert resp.status == 404
    assert b"outside the site" not in body


def test_missing_site_is_a_clear_error(tmp_path):
    with pytest.raises(ServeError, match="no such site directory"):
        make_server(tmp_path / "nope", port=0)


def test_cli_port_0_prints_the_url_and_stops_cleanly_on_ctrl_c(site):
    proc = subprocess.Popen([sys.executable, "-m", "builder", "serve", str(site), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line
        conn = http.client.HTTPConnection("127.0.0.1", int(match.group(1)), timeout=5)
        conn.request("GET", "/index.html")
        assert conn.getresponse().status == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_serve_build_builds_first_then_serves(tmp_path, sequential_keras):
    labels = tmp_path / "l.txt"
    labels.write_text("n\ne\ns\nw\n")
    out = tmp_path / "built"
    proc = subprocess.Popen([sys.executable, "-m", "builder", "serve", str(out), "--port", "0", "--build", "-q",
                             "--model", str(sequential_keras), "--labels", str(labels), "--preprocess", "unit"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line + proc.stderr.read() if proc.poll() is not None else line
        assert (out / "report.json").is_file()
        conn = http.client.HTTPConnection("127.0.0.1", int(match.group(1)), timeout=5)
        conn.request("GET", "/config.json")
        resp = conn.getresponse()
        assert resp.status == 200 and b'"preprocess": "unit"' in resp.read()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
