"""The preview server: headers, MIME types, containment, and the CLI's lifecycle."""

import gzip
import http.client
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

import brotli
import pytest
from click.testing import CliRunner

from builder.cli import cli
from builder.site import precompress
from builder.errors import ServeError
from builder.serve import accepted_encodings, make_server, url_of


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
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _get(server, path, method="GET", headers=None):
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=5)
    # http.client sends the path as given (no client-side normalisation) and no Accept-Encoding of its own.
    conn.request(method, path, headers=headers or {})
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


@pytest.mark.parametrize("path", ["/.git/config", "/model/.env", "/vendor/", "/model/"])
def test_hidden_files_and_folder_listings_are_not_served(site, server, path):
    """A .git/ or .env the user keeps in the site folder, and the list of a folder's files, stay private."""
    (site / ".git").mkdir()
    (site / ".git" / "config").write_text("[remote] url = https://token:secret@example.com/")
    (site / "model" / ".env").write_text("TOKEN=secret")
    resp, body = _get(server, path)
    assert resp.status == 404
    assert b"secret" not in body and b"x.wasm" not in body and b"model.json" not in body


@pytest.mark.parametrize("path", ["/index.html/", "/model/model.json/", "/index.html%2f", "/model/model.json%2F"])
def test_a_file_asked_for_as_a_folder_is_not_found(server, path):
    """/index.html/ is no page of the site: served, its relative scripts and model would be asked for under
    /index.html/ (a static host answers 404 there too)."""
    resp, body = _get(server, path)
    assert resp.status == 404
    assert b"<title>t</title>" not in body and b"{}" != body


@pytest.mark.parametrize("host, status", [("evil.example:8000", 403), ("evil.example", 403), ("127.0.0.1", 200),
                                          ("localhost:1234", 200), ("[::1]:8000", 200)])
def test_only_this_machines_own_names_are_answered(server, host, status):
    """DNS rebinding: a page on evil.example points its name at 127.0.0.1 and reads this server as its own
    origin. The request still says Host: evil.example, and gets a 403 without the site."""
    resp, body = _get(server, "/", headers={"Host": host})
    assert resp.status == status
    assert (b"<title>t</title>" in body) == (status == 200)


def test_a_browser_that_leaves_mid_response_is_no_traceback(site, server, capfd):
    """A closed tab or Ctrl-C cuts a download short; the server notes it in its log, not on stderr."""
    (site / "model" / "big.bin").write_bytes(b"\0" * (32 << 20))
    for _ in range(3):
        sock = socket.create_connection(server.server_address[:2], timeout=5)
        sock.sendall(b"GET /model/big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        sock.recv(1024)  # the response has started
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, not a clean close
        sock.close()
    resp, _ = _get(server, "/")  # still serving
    assert resp.status == 200
    time.sleep(0.5)  # the handler threads notice the reset
    assert "Traceback" not in capfd.readouterr().err


def test_a_port_out_of_range_is_a_usage_error(site):
    result = CliRunner().invoke(cli, ["serve", str(site), "--port", "70000"])
    assert result.exit_code == 1 and "70000 is not in the range 0<=x<=65535" in result.output


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
        assert resp.status == 200 and json.loads(resp.read())["preprocess"] == "unit"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)


SCRIPT = b"export const answer = () => 42;\n" * 300


@pytest.fixture
def compressed(site):
    (site / "app.js").write_bytes(SCRIPT)
    assert "app.js" in precompress.write_copies(site)
    return site


@pytest.mark.parametrize("accept, encoding", [
    ("gzip, deflate, br, zstd", "br"), ("br", "br"), ("gzip", "gzip"), ("br;q=0, gzip", "gzip"),
    ("gzip;q=1, br;q=0.5", "gzip"), ("*", "br"), ("*, br;q=0", "gzip"), ("identity", None), ("", None),
    (None, None), ("gzip;q=0, br;q=0", None), ("deflate", None),
])
def test_serve_sends_the_best_copy_the_request_accepts(server, compressed, accept, encoding):
    resp, body = _get(server, "/app.js", headers={} if accept is None else {"Accept-Encoding": accept})
    assert resp.status == 200
    assert resp.getheader("Content-Type").startswith("text/javascript")
    assert resp.getheader("Vary") == "Accept-Encoding"
    assert resp.getheader("Content-Encoding") == encoding
    assert int(resp.getheader("Content-Length")) == len(body)
    assert resp.getheader("Cross-Origin-Embedder-Policy") == "require-corp"
    decoded = {"br": brotli.decompress, "gzip": gzip.decompress, None: bytes}[encoding](body)
    assert decoded == SCRIPT
    if encoding:
        assert body == (compressed / f"app.js{precompress.ENCODINGS[encoding]}").read_bytes()


@pytest.mark.parametrize("path", ["/", "/?backend=wasm", "/index.html"])
def test_the_page_itself_is_sent_compressed_at_its_folder_url(server, compressed, path):
    """Every visit loads the site at "/": its index.html copy is sent there too, and edits are noticed there."""
    index = compressed / "index.html"
    index.write_text("<!doctype html><title>t</title>" + "<p>a page worth compressing</p>\n" * 50)
    assert "index.html" in precompress.write_copies(compressed)
    resp, body = _get(server, path, headers={"Accept-Encoding": "br"})
    assert resp.status == 200 and resp.getheader("Content-Type").startswith("text/html")
    assert resp.getheader("Content-Encoding") == "br" and resp.getheader("Vary") == "Accept-Encoding"
    assert brotli.decompress(body) == index.read_bytes()
    edited = index.read_bytes() + b"<!-- edited after the build -->\n"
    index.write_bytes(edited)
    resp, body = _get(server, path, headers={"Accept-Encoding": "br"})
    assert resp.getheader("Content-Encoding") is None and body == edited


def test_head_sends_the_same_headers_and_no_body(server, compressed):
    get, _ = _get(server, "/app.js", headers={"Accept-Encoding": "br"})
    head, body = _get(server, "/app.js", "HEAD", headers={"Accept-Encoding": "br"})
    assert head.status == 200 and body == b""
    for name in ("Content-Type", "Content-Encoding", "Content-Length", "Vary"):
        assert head.getheader(name) == get.getheader(name), name
    assert int(head.getheader("Content-Length")) == (compressed / "app.js.br").stat().st_size


def test_a_copy_is_revalidated_like_the_file(server, compressed):
    first, _ = _get(server, "/app.js", headers={"Accept-Encoding": "br"})
    again, body = _get(server, "/app.js", headers={"Accept-Encoding": "br",
                                                  "If-Modified-Since": first.getheader("Last-Modified")})
    assert again.status == 304 and body == b"" and again.getheader("Vary") == "Accept-Encoding"


def test_a_file_without_copies_has_no_vary(server, compressed):
    resp, _ = _get(server, "/model/group1-shard1of1.bin", headers={"Accept-Encoding": "br, gzip"})
    assert resp.getheader("Content-Encoding") is None and resp.getheader("Vary") is None


def test_a_stale_copy_is_never_sent(server, compressed):
    _get(server, "/app.js", headers={"Accept-Encoding": "br"})  # the server has checked the copy once
    edited = SCRIPT + b"// edited after the build\n"
    (compressed / "app.js").write_bytes(edited)
    resp, body = _get(server, "/app.js", headers={"Accept-Encoding": "br, gzip"})
    assert resp.getheader("Content-Encoding") is None and body == edited
    precompress.write_copies(compressed)
    resp, body = _get(server, "/app.js", headers={"Accept-Encoding": "br, gzip"})
    assert resp.getheader("Content-Encoding") == "br" and brotli.decompress(body) == edited


def test_accepted_encodings_parses_q_values():
    assert accepted_encodings("gzip;q=0.8, br;q=0.9") == ["br", "gzip"]
    assert accepted_encodings("GZIP; Q=1, br; q=bad") == ["gzip"]
    assert accepted_encodings(None) == []


def test_a_directory_and_a_different_out_are_a_usage_error_before_any_build(tmp_path):
    """`serve A --build --out B` built into A and ignored B; now it says to give one folder, and builds nothing."""
    result = CliRunner().invoke(cli, ["serve", str(tmp_path / "a"), "--build", "--out", str(tmp_path / "b"),
                                      "--model", "mobilenet_v2", "--weights", "none"])
    assert result.exit_code == 1 and "give one of them" in result.output, result.output
    assert list(tmp_path.iterdir()) == []


def test_build_options_without_build_are_refused_instead_of_ignored(tmp_path):
    """`serve --model NEW.h5` served the old site, the new model ignored without a word."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>x</title>")
    result = CliRunner().invoke(cli, ["serve", str(site), "--port", "0", "--model", "new.h5", "--quantize", "none"],
                                prog_name="browsernet")
    assert result.exit_code == 1 and result.output.strip() == (
        "Error: --model, --quantize: build options, used only with --build (build the site first, then serve it); "
        "without it, serve shows the site as it was built (see 'browsernet serve --help')")


def test_a_busy_port_says_how_to_get_a_free_one(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>x</title>")
    taken = make_server(site, port=0)
    try:
        with pytest.raises(ServeError, match=r"cannot listen on 127\.0\.0\.1:\d+: .*--port 0 for a free one"):
            make_server(site, port=taken.server_address[1])
    finally:
        taken.server_close()


def test_serve_build_on_a_busy_port_fails_before_building_and_keeps_the_site(tmp_path, sequential_keras):
    """serve --build replaced the site and only then found the port taken: a long wait for a failure."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>old</title>")
    taken = make_server(site, port=0)
    try:
        result = CliRunner().invoke(cli, ["serve", "--build", str(site), "--model", str(sequential_keras),
                                          "--port", str(taken.server_address[1]), "--force"])
    finally:
        taken.server_close()
    assert result.exit_code == 1 and "cannot listen on 127.0.0.1" in result.output, result.output
    assert "Building" not in result.output and (site / "index.html").read_text() == "<!doctype html><title>old</title>"

