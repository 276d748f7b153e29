"""The installable, offline layer of a site: web app manifest, icons and service worker.

The service worker (``sw.js``, rendered from ``templates/sw.js.j2``) carries the
build's version and its complete file list. A new build therefore changes
``sw.js``, the browser installs the new worker beside the old one, and each
version serves only its own cache: a visitor never mixes files from two builds.
It must be written last, once every other file of the site exists.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from builder.errors import BrowsernetError
from builder.site import hosting, inventory, vendor
from builder.site.render import TEMPLATES, environment

SERVICE_WORKER = "sw.js"
SERVICE_WORKER_TEMPLATE = "sw.js.j2"
MANIFEST = "manifest.webmanifest"
ICON_DIR = "icons"
ICON_SIZES = (192, 512)
THEME_COLOR = "#1a56c4"  # css --accent (light scheme)
BACKGROUND_COLOR = "#f6f7f9"  # css --bg
# Fetched when the page needs them, then cached: a visit downloads one of the three
# .wasm binaries, not all, and weights are downloaded once, with visible progress.
ON_DEMAND_SUFFIXES = (".bin", ".wasm")
# Likewise the WebGPU backend's script: only a device with a WebGPU adapter ever loads it (and keeps it
# for offline use once it has).
ON_DEMAND_FILES = (vendor.webgpu_script(),)
# Precached files that must still pass through the worker's fetch handler, which adds the
# cross-origin isolation headers on hosts that send none: the page, and the inference worker's
# script (a dedicated worker takes its embedder policy from its own response). The other
# precached files are read straight from the cache by the browser's static routing.
ISOLATED_FILES = ("index.html", "js/worker.js")


def write_manifest(site: Path, title: str) -> None:
    """``manifest.webmanifest`` and its icons, so the site can be installed as an app."""
    (site / ICON_DIR).mkdir(exist_ok=True)
    icons = []
    for size in ICON_SIZES:
        name = f"{ICON_DIR}/icon-{size}.png"
        _draw_icon(size).save(site / name, format="PNG", optimize=True)
        icons.append({"src": name, "sizes": f"{size}x{size}", "type": "image/png", "purpose": "any"})
    manifest = {
        "name": title,
        "short_name": title if len(title) <= 12 else "Classifier",
        "description": "An image classifier that runs entirely in your browser.",
        "start_url": "./",
        "scope": "./",
        "display": "standalone",
        "background_color": BACKGROUND_COLOR,
        "theme_color": THEME_COLOR,
        "icons": icons,
    }
    (site / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def write_service_worker(site: Path, files: "inventory.Inventory", later: tuple[str, ...] = (),
                         templates: Path = TEMPLATES) -> str:
    """Render ``sw.js`` for ``files`` (the site's inventory, :mod:`builder.site.inventory`) plus ``later``
    (written after it: report.json, which lists sw.js itself); return the build version it carries, a hash of
    the files' contents."""
    import jinja2

    # The .br/.gz copies are the host's business: the browser asks for NAME and may be sent a copy.
    listed = {path: entry for path, entry in files.items()
              if path not in hosting.HOST_FILES and path != SERVICE_WORKER}
    digest = hashlib.sha256()
    for path, entry in listed.items():
        digest.update(path.encode() + b"\0" + bytes.fromhex(entry.sha256))
    version = digest.hexdigest()[:16]
    paths = list(listed) + [path for path in later if path not in listed]
    precache = [path for path in paths if not _on_demand(path)]
    routed = [path for path in precache if path not in ISOLATED_FILES and not path.endswith(".html")]
    # The worker caches a file fetched on demand (the big ones) only once its bytes match.
    on_demand = {path: entry.sha256 for path, entry in listed.items() if _on_demand(path)}
    try:
        text = environment(templates).get_template(SERVICE_WORKER_TEMPLATE).render(
            version=version, files=paths, precache=precache, routed=routed, sha256=on_demand, hashed=hosting.HASHED_NAME.pattern,
            isolation=hosting.ISOLATION_HEADERS)
    except jinja2.TemplateError as e:
        raise BrowsernetError(f"{templates / SERVICE_WORKER_TEMPLATE}: template error: {e}") from e
    (site / SERVICE_WORKER).write_text(text, encoding="utf-8")
    return version


def _on_demand(path: str) -> bool:
    return path.endswith(ON_DEMAND_SUFFIXES) or path in ON_DEMAND_FILES


def _draw_icon(size: int):
    """A plain, recognisable icon: a lens (ring and pupil) on the theme colour."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (size, size), THEME_COLOR)
    draw = ImageDraw.Draw(image)
    c, r = size / 2, size * 0.3
    draw.ellipse((c - r, c - r, c + r, c + r), outline="#ffffff", width=max(2, size // 16))
    p = size * 0.1
    draw.ellipse((c - p, c - p, c + p, c + p), fill="#ffffff")
    return image
