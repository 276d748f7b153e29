"""``browsernet serve``: a local preview server for a built site.

It sends COOP/COEP so the page is cross-origin isolated (WASM threads allowed),
serves ``.wasm`` as ``application/wasm``, and never serves a file outside the site
folder, whether asked through ``..``, percent-encoded traversal or a symlink.

A file with pre-compressed copies (``NAME.br``, ``NAME.gz``; see :mod:`builder.precompress`)
is sent as the best copy the request's ``Accept-Encoding`` allows, brotli first, with
``Content-Encoding`` and ``Vary: Accept-Encoding``. A copy is used only after it has been
checked to decompress to the file as it is now, so an edited file is never sent stale.
"""

from __future__ import annotations

import datetime
import email.utils
import errno
import logging
import os
import sys
import threading
import urllib.parse
from collections import Counter
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from builder.site import precompress
from builder.errors import ServeError
from builder.site.hosting import ISOLATION_HEADERS

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
    # A pre-compressed copy asked for by its own name is just bytes.
    ".gz": "application/gzip",
    ".br": "application/octet-stream",
}


def accepted_encodings(header: str | None) -> list[str]:
    """The pre-compressed encodings an ``Accept-Encoding`` header allows, best first: by its
    q-values, then brotli before gzip. ``*`` stands for any encoding not named; ``q=0`` refuses."""
    weights: dict[str, float] = {}
    for item in (header or "").split(","):
        name, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name.strip():
            weights[name.strip().lower()] = q
    order = list(precompress.ENCODINGS)
    allowed = [e for e in order if weights.get(e, weights.get("*", 0.0)) > 0]
    return sorted(allowed, key=lambda e: (-weights.get(e, weights.get("*", 0.0)), order.index(e)))


class _Copies:
    """Which pre-compressed copies match their originals, remembered until either file changes."""

    def __init__(self) -> None:
        self._checked: dict[str, tuple[tuple, bool]] = {}
        self._lock = threading.Lock()

    def usable(self, original: str, encoding: str) -> str | None:
        """The path of ``original``'s copy for ``encoding``, if there is one and it matches."""
        copy = original + precompress.ENCODINGS[encoding]
        try:
            stamp = tuple((st.st_mtime_ns, st.st_size, st.st_ino) for st in (os.stat(original), os.stat(copy)))
        except OSError:
            return None
        with self._lock:
            known = self._checked.get(copy)
        if known is None or known[0] != stamp:
            ok = precompress.matches(Path(original), Path(copy), encoding)
            if not ok:
                log.warning("%s does not match %s (edited since the build?); sending the file uncompressed",
                            copy, original)
            known = (stamp, ok)
            with self._lock:
                self._checked[copy] = known
        return copy if known[1] else None


LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class SiteHandler(SimpleHTTPRequestHandler):
    """Static files from one folder, with isolation headers and strict containment."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}

    def __init__(self, *args, directory: str, sent: Counter | None = None, copies: _Copies | None = None,
                 **kwargs) -> None:
        self.root = os.path.realpath(directory)
        self.sent = sent
        self.copies = copies or _Copies()
        self.vary = False
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
        if any(p.startswith(".") and p != ".well-known" for p in parts):
            return ""  # a .git/ or .env in the site folder: no page asks for one, so none is served
        full = os.path.realpath(os.path.join(self.root, *parts))
        if full != self.root and not full.startswith(self.root + os.sep):
            return ""  # e.g. a symlink pointing outside the site
        if path.endswith("/"):
            if not os.path.isdir(full):
                return ""  # /index.html/: a file is no folder (its page would load its scripts from the wrong place)
            full += os.sep
        return full

    def send_head(self):  # noqa: ANN201 - stdlib signature
        self.vary = False  # a connection may carry several requests
        if not self._host_allowed():
            # DNS rebinding: a web page elsewhere points its own name at 127.0.0.1 to read this server.
            self.send_error(HTTPStatus.FORBIDDEN, "This preview server answers only for 127.0.0.1 and localhost")
            return None
        path = self.translate_path(self.path)
        if not path:
            self.send_error(HTTPStatus.NOT_FOUND, "Not found")
            return None
        if os.path.isdir(path) and path.endswith(os.sep) and os.path.isfile(path + "index.html"):
            path += "index.html"  # "/" is the page every visit loads: its copies too
        if os.path.isfile(path) and not precompress.is_copy(path):
            self.vary = any(os.path.isfile(path + suffix) for suffix in precompress.ENCODINGS.values())
            for encoding in accepted_encodings(self.headers.get("Accept-Encoding")) if self.vary else ():
                copy = self.copies.usable(path, encoding)
                if copy is not None:
                    return self._send_copy(path, copy, encoding)
        return super().send_head()

    def _host_allowed(self) -> bool:
        """Whether the request's Host names this machine's loopback (any port), when the server listens only
        there: a name that resolves to 127.0.0.1 by a web page's doing is refused."""
        bound = self.server.server_address[0]
        if bound not in LOOPBACK:
            return True
        host = (self.headers.get("Host") or "").strip().lower()
        name = host[1:host.find("]")] if host.startswith("[") else host.rsplit(":", 1)[0] if ":" in host else host
        return name in LOOPBACK

    def list_directory(self, path):  # noqa: ANN001, ANN201 - stdlib signature
        self.send_error(HTTPStatus.NOT_FOUND, "Not found")  # a site has an index.html; no folder is listed
        return None

    def _send_copy(self, original: str, copy: str, encoding: str):  # noqa: ANN202 - a file object, as send_head
        """Headers for ``copy`` sent as ``original`` with ``Content-Encoding``; the open copy for the body."""
        modified = int(os.stat(original).st_mtime)
        since = self.headers.get("If-Modified-Since")
        if since and "If-None-Match" not in self.headers:
            try:
                when = email.utils.parsedate_to_datetime(since)
                if when.tzinfo is None:  # "-0000": UTC, as the stdlib handler reads it
                    when = when.replace(tzinfo=datetime.timezone.utc)
                if modified <= when.timestamp():
                    self.send_response(HTTPStatus.NOT_MODIFIED)
                    self.end_headers()
                    return None
            except (TypeError, ValueError, IndexError, OverflowError):
                pass
        try:
            f = open(copy, "rb")  # noqa: SIM115 - the caller sends and closes it
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND, "Not found")
            return None
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", self.guess_type(original))
        self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(os.fstat(f.fileno()).st_size))
        self.send_header("Last-Modified", self.date_time_string(modified))
        self.end_headers()
        return f

    def end_headers(self) -> None:
        for name, value in ISOLATION_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Cache-Control", "no-cache")
        if self.vary:
            self.send_header("Vary", "Accept-Encoding")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        log.info("%s %s", self.address_string(), format % args)


class SiteServer(ThreadingHTTPServer):
    """A threading HTTP server whose failed requests are one log line, not a traceback on stderr."""

    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001 - stdlib signature
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            # The browser went away mid-response: a closed tab, a navigation, Ctrl-C.
            log.debug("%s closed the connection: %s", client_address[0], error)
            return
        log.warning("a request from %s failed: %s: %s", client_address[0], type(error).__name__, error)
        log.debug("the request's traceback", exc_info=error)


def make_server(site: Path, host: str = "127.0.0.1", port: int = 8000,
                sent: Counter | None = None, *, built: bool = True) -> ThreadingHTTPServer:
    """Bind a server for ``site`` (``port`` 0 picks a free one); call ``serve_forever`` on it.
    With ``sent``, the bytes of every response body are counted there, per URL path. ``built=False``: the
    site is about to be built (``serve --build``), so the port is taken first and a busy one costs no build."""
    if built and not site.is_dir():
        raise ServeError(f"{site}: no such site directory; build it with 'browsernet build-site --model MODEL "
                         f"--out {site}' (or 'browsernet serve --build --model MODEL {site}')")
    if built and not (site / "index.html").is_file():
        raise ServeError(f"{site}: no index.html here; is this a built site?")
    handler = partial(SiteHandler, directory=str(site), sent=sent, copies=_Copies())
    try:
        return SiteServer((host, port), handler)
    except OverflowError as e:  # a port outside 0-65535
        raise ServeError(f"cannot listen on {host}:{port}: {e}") from e
    except OSError as e:
        hint = "; another server uses it: pick another --port, or --port 0 for a free one" \
            if e.errno == errno.EADDRINUSE else ""
        raise ServeError(f"cannot listen on {host}:{port}: {e.strerror or e}{hint}") from e


def url_of(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/"


