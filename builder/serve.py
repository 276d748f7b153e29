"""``browsernet serve``: a local preview server for a built site.

It sends COOP/COEP so the page is cross-origin isolated (WASM threads allowed),
serves ``.wasm`` as ``application/wasm``, and never serves a file outside the site
folder, whether asked through ``..``, percent-encoded traversal or a symlink.
"""

from __future__ import annotations

import logging
import os
import urllib.parse
from collections import Counter
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from builder.errors import ServeError
from builder.hosting import ISOLATION_HEADERS

log = logging.getLogger(__name__)

MIME_TYPES = {
    ".wasm": "application/wasm",
    ".json": "application/json",
    ".bin": "application/octet-stream",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
}


class SiteHandler(SimpleHTTPRequestHandler):
    """Static files from one folder, with isolation headers and strict containment."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}

    def __init__(self, *args, directory: str, sent: Counter | None = None, **kwargs) -> None:
        self.root = os.path.realpath(directory)
        self.sent = sent
        super().__init__(*args, directory=self.root, **kwargs)

    def copyfile(self, source, outputfile) -> None:  # noqa: ANN001 - stdlib signature
        if self.sent is None:
            return super().copyfile(source, outputfile)
        data = source.read()
        outputfile.write(data)
        self.sent[urllib.parse.urlsplit(self.path).path] += len(data)

    def translate_path(self, path: str) -> str:
        # Decode fully, then refuse any '..' segment outright rather than normalising it away.
        try:
            path = urllib.parse.unquote(path.split("?", 1)[0].split("#", 1)[0], errors="strict")
        except UnicodeDecodeError:
            return ""
        parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
        if any(p == ".." or "\0" in p for p in parts):
            return ""
        full = os.path.realpath(os.path.join(self.root, *parts))
        if full != self.root and not full.startswith(self.root + os.sep):
            return ""  # e.g. a symlink pointing outside the site
        if path.endswith("/") and os.path.isdir(full):
            full += os.sep
        return full

    def send_head(self):  # noqa: ANN201 - stdlib signature
        if not self.translate_path(self.path):
            self.send_error(HTTPStatus.NOT_FOUND, "Not found")
            return None
        return super().send_head()

    def end_headers(self) -> None:
        for name, value in ISOLATION_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        log.info("%s %s", self.address_string(), format % args)


def make_server(site: Path, host: str = "127.0.0.1", port: int = 8000,
                sent: Counter | None = None) -> ThreadingHTTPServer:
    """Bind a server for ``site`` (``port`` 0 picks a free one); call ``serve_forever`` on it.
    With ``sent``, the bytes of every response body are counted there, per URL path."""
    if not site.is_dir():
        raise ServeError(f"{site}: no such site directory; run 'browsernet build-site' first")
    if not (site / "index.html").is_file():
        raise ServeError(f"{site}: no index.html here; is this a built site?")
    handler = partial(SiteHandler, directory=str(site), sent=sent)
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as e:
        raise ServeError(f"cannot listen on {host}:{port}: {e.strerror or e}") from e
    server.daemon_threads = True
    return server


def url_of(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/"


