import json

import pytest

from builder import render
from builder.errors import BrowsernetError


def test_page_escapes_title_and_uses_relative_urls(tmp_path):
    render.render_site(tmp_path, title="Cats & <dogs>", config={"labels": ["<img src=x>"]},
                       runtime_scripts=[{"src": "vendor/tf-layers.es2017.min.js", "integrity": "sha384-abc"}])
    html = (tmp_path / "index.html").read_text()
    assert "Cats &amp; &lt;dogs&gt;" in html and "<dogs>" not in html
    srcs = [part.split('"')[1] for part in html.split("src=")[1:]] + [part.split('"')[1] for part in html.split("href=")[1:]]
    assert srcs and all(not s.startswith(("/", "http:", "https:", "//")) for s in srcs), srcs
    assert json.loads((tmp_path / "config.json").read_text())["labels"] == ["<img src=x>"]
    assert (tmp_path / "js" / "app.js").is_file() and (tmp_path / "css").is_dir()


def test_missing_template_variable_fails_the_build(tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "index.html.j2").write_text("{{ title }} {{ not_provided }}")
    with pytest.raises(BrowsernetError, match="template error"):
        render.render_site(tmp_path, title="t", config={}, runtime_scripts=[], templates=templates)
