"""A plain static host for tests: like GitHub Pages, it serves a folder under /<repo>/
and sends no custom headers (no COOP/COEP), so isolation must come from the site's
own service worker. It also counts the bytes it sends per path, which is how tests
prove that a return visit downloads nothing. With ``fallback=True`` it answers every missing
path under the project with the site's index.html (200, text/html), as single-page-app
hosts (and rewrite rules like ``"**" -> /index.html``) do."""

from __future__ import annotations

import threading
from collections import Counter
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from builder.serve import MIME_TYPES


class _Handler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}  # the types Pages sends too

    def __init__(self, *args, host: "StaticHost", **kwargs):
        self.host = host
        super().__init__(*args, directory=str(host.root), **kwargs)

    def log_message(self, *args):  # quiet
        pass

    def translate_path(self, path: str) -> str:
        prefix = self.host.prefix
        clean = path.split("?", 1)[0]
        if not clean.startswith(prefix):
            return str(self.host.root / "\0missing")  # 404 outside the project's path, as on Pages
        local = super().translate_path("/" + path[len(prefix):])
        if self.host.fallback and not Path(local).exists():
            return str(self.host.root / "index.html")
        return local

    def do_GET(self):
        moved = self.host.moved_from
        if moved and (self.path + "/").startswith(moved):
            self.send_response(301)  # the project renamed: its old address sends visitors to the new one
            self.send_header("Location", self.host.prefix + self.path[len(moved):])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path = self.path.split("?", 1)[0][len(self.host.prefix):]
        other = self.host.to_browsers.get(path)
        if other is not None and self.headers.get("Sec-Fetch-Dest"):  # a browser's request, not verify's own
            self.send_response(200)
            self.send_header("Content-Type", self.guess_type(path))
            self.send_header("Content-Length", str(len(other)))
            self.end_headers()
            self.wfile.write(other)
            return
        super().do_GET()

    def copyfile(self, source, outputfile):
        data = source.read()
        outputfile.write(data)
        self.host.sent[self.path.split("?", 1)[0][len(self.host.prefix):]] += len(data)


class StaticHost:
    """Serve ``root`` at ``http://127.0.0.1:<port>/<repo>/`` until :meth:`close`."""

    def __init__(self, root: Path, repo: str, *, fallback: bool = False, to_browsers: dict[str, bytes] | None = None,
                 moved_from: str | None = None):
        self.root = Path(root)
        # /<moved_from>/...: a 301 to the same path under /<repo>/, as a host does for a renamed project
        self.moved_from = f"/{moved_from}/" if moved_from else ""
        # site-relative path -> other bytes sent for it to browsers only (a request with Sec-Fetch-Dest), as a
        # stale copy in a cache that only the browser's requests reach (one Accept-Encoding variant, a CDN edge)
        self.to_browsers = dict(to_browsers or {})
        self.prefix = f"/{repo}/"
        self.fallback = fallback
        self.sent: Counter[str] = Counter()  # site-relative path -> bytes of body sent
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, host=self))
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{self.prefix}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
