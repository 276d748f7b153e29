"""Jinja2 templates → the site's pages, config and static JS/CSS.

Templates are data: ``templates/index.html.j2`` is rendered with a small, fixed
context (StrictUndefined, so a missing variable fails the build), ``templates/css``
and ``templates/img`` are copied verbatim, and the page's scripts come bundled from
``templates/js`` (:mod:`builder.site.page_scripts`). Labels and other model data go to
``config.json`` and reach the page only as text, never as markup.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from builder import __version__
from builder.errors import BrowsernetError
from builder.site import hosting, page_scripts, vendor

# The checkout's templates/ (the project's layout), else an installed wheel's copy (staged by `make dist`).
_CHECKOUT_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
TEMPLATES = (_CHECKOUT_TEMPLATES if (_CHECKOUT_TEMPLATES / "index.html.j2").is_file()
             else vendor.ASSETS / "templates")
PAGE_TEMPLATE = "index.html.j2"
STATIC_DIRS = ("css", "img")
# The page's entry modules (index.html's <script type=module> tags: the early worker start,
# then the page); the chunks they import, statically or dynamically, are announced as
# <link rel=modulepreload>.
ENTRY_MODULES = ("early-worker.js", "boot.js")
# `import ... from './x.js'`, `export ... from './x.js'`, `import './x.js'`, `import('./x.js')`:
# how the bundled scripts name each other (relative specifiers in js/, nothing computed).
_IMPORT = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*)['"]\./([\w.-]+\.js)['"]""")
CONFIG_FILE = "config.json"

# The page's Content-Security-Policy, delivered in a <meta> so it holds on any static
# host. No inline script or style anywhere. 'wasm-unsafe-eval' lets the WASM backend
# compile its binary. Thumbnails are canvases, so images need no blob: either.
# The page makes no blob: workers: in our worker, TF.js's threaded WASM may start its
# own (a worker's policy comes from its own response, not from this meta), and on
# the main thread the page turns WASM threads off rather than allow blob: here.
# worker-src/manifest-src 'self' also cover a service worker (sw.js) and a web
# app manifest at the site root.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "worker-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
])


def environment(templates: Path = TEMPLATES):
    """The Jinja2 environment for the site's templates: a missing variable fails the build."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        keep_trailing_newline=True,
    )


def render_site(site: Path, *, title: str, config: dict[str, Any], runtime_scripts: list[dict[str, str]],
                templates: Path = TEMPLATES, scripts: Path | None = None) -> None:
    """Write ``index.html``, ``config.json`` (``config`` plus :func:`layout_config`), the page's
    scripts (``js/``) and the static folders into ``site``.

    ``runtime_scripts`` is ``[{"src": ..., "integrity": "sha384-..."}]`` in load order
    (see :meth:`builder.vendor.Runtime.script_tags`). ``scripts`` is the folder of bundled page
    scripts (:func:`builder.site.page_scripts.locate`, which finds it when None).
    """
    import jinja2

    if scripts is None:
        scripts = page_scripts.locate(vendor.locate(), templates)
    try:
        page = environment(templates).get_template(PAGE_TEMPLATE).render(
            title=title, version=__version__, runtime_scripts=runtime_scripts, csp=CONTENT_SECURITY_POLICY,
            page_modules=_page_modules(scripts))
    except jinja2.TemplateError as e:
        raise BrowsernetError(f"{templates / PAGE_TEMPLATE}: template error: {e}") from e
    (site / "index.html").write_text(page, encoding="utf-8")
    config = {**config, **layout_config()}
    (site / CONFIG_FILE).write_text(json.dumps(config, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    shutil.copytree(scripts, site / page_scripts.FOLDER, dirs_exist_ok=True)
    for name in STATIC_DIRS:
        source = templates / name
        if source.is_dir():
            shutil.copytree(source, site / name, dirs_exist_ok=True)


def layout_config() -> dict[str, Any]:
    """What the page must know of the site's layout, added to ``config.json`` from the modules that
    define it, so that the page's JavaScript keeps no copies of Python constants:

    - ``hashedName``: the pattern (a regular expression, valid in Python and JavaScript) that a
      content-hashed file name matches (:data:`builder.site.hosting.HASHED_NAME`); the page reads
      cached weight shards only under such names.
    - ``wasmFiles``: each TF.js WASM binary's file name -> its site-relative URL
      (:data:`builder.site.vendor.WASM_BINARIES` in :data:`builder.site.vendor.VENDOR_DIR`).
    """
    return {"hashedName": hosting.HASHED_NAME.pattern, "wasmFiles": vendor.wasm_files()}


def _page_modules(folder: Path) -> list[str]:
    """The chunks the page loads from its entry modules (in ``folder``, the bundled scripts),
    announced as ``<link rel=modulepreload>`` so the browser fetches them at once instead of one
    import level at a time.

    Breadth-first from :data:`ENTRY_MODULES`, each script's imports in source order, so the
    entries' own imports come first; the entries themselves (``<script>`` tags already) and the
    worker's script are left out.
    """
    order: list[str] = []
    queue = list(ENTRY_MODULES)
    while queue:
        name = queue.pop(0)
        path = folder / name
        if name in order or not path.is_file():
            continue
        order.append(name)
        queue.extend(_IMPORT.findall(path.read_text(encoding="utf-8")))
    return [f"js/{name}" for name in order if name not in ENTRY_MODULES]
