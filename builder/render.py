"""Jinja2 templates → the site's pages, config and static JS/CSS.

Templates are data: ``templates/index.html.j2`` is rendered with a small, fixed
context (StrictUndefined, so a missing variable fails the build), and
``templates/js`` and ``templates/css`` are copied verbatim. Labels and other
model data go to ``config.json`` and reach the page only as text, never as markup.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from builder import __version__
from builder.errors import BrowsernetError

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
PAGE_TEMPLATE = "index.html.j2"
STATIC_DIRS = ("js", "css")
CONFIG_FILE = "config.json"


def environment(templates: Path = TEMPLATES):
    """The Jinja2 environment for the site's templates: a missing variable fails the build."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        keep_trailing_newline=True,
    )


def render_site(site: Path, *, title: str, config: dict[str, Any], runtime_scripts: list[str],
                templates: Path = TEMPLATES) -> None:
    """Write ``index.html``, ``config.json`` and the static folders into ``site``."""
    import jinja2

    try:
        page = environment(templates).get_template(PAGE_TEMPLATE).render(title=title, version=__version__,
                                                      runtime_scripts=runtime_scripts)
    except jinja2.TemplateError as e:
        raise BrowsernetError(f"{templates / PAGE_TEMPLATE}: template error: {e}") from e
    (site / "index.html").write_text(page, encoding="utf-8")
    (site / CONFIG_FILE).write_text(json.dumps(config, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    for name in STATIC_DIRS:
        source = templates / name
        if source.is_dir():
            shutil.copytree(source, site / name, dirs_exist_ok=True)
