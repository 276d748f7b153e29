import json
import re
from html.parser import HTMLParser

import pytest

from builder.site import hosting, render, vendor
from builder.errors import BrowsernetError


class _Page(HTMLParser):
    """index.html as a browser's tokenizer splits it: its elements (tag, attributes), the text of its <title>,
    and each <script>'s attributes and text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.title = ""
        self.scripts: list[tuple[dict, list[str]]] = []
        self._inside: str | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        if tag in ("title", "script"):
            self._inside = tag
            if tag == "script":
                self.scripts.append((dict(attrs), []))

    def handle_endtag(self, tag):
        if tag == self._inside:
            self._inside = None

    def handle_data(self, data):
        if self._inside == "title":
            self.title += data
        elif self._inside == "script":
            self.scripts[-1][1].append(data)

    def runtime(self) -> list:
        """The runtime list: the one JSON block js/runtime.js reads."""
        [text] = ["".join(text) for attrs, text in self.scripts
                  if attrs.get("type") == "application/json" and attrs.get("id") == "runtime"]
        return json.loads(text)

    def inline_scripts(self) -> list[str]:
        """The text of every script the browser would run from the page itself (none: the CSP forbids them)."""
        return ["".join(text) for attrs, text in self.scripts
                if attrs.get("type") != "application/json" and "".join(text).strip()]


def test_page_escapes_title_and_uses_relative_urls(tmp_path):
    runtime = [{"src": "vendor/tf-layers.es2017.min.js", "integrity": "sha384-abc"}]
    render.render_site(tmp_path, title="Cats & <dogs>", config={"labels": ["<img src=x>"]}, runtime_scripts=runtime)
    page = _Page((tmp_path / "index.html").read_text())
    assert page.title == "Cats & <dogs>"  # text, not a <dogs> element
    assert "dogs" not in [tag for tag, _ in page.elements]
    urls = [attrs[key] for _, attrs in page.elements for key in ("src", "href") if key in attrs]
    assert urls and all(not url.startswith(("/", "http:", "https:", "//")) for url in urls), urls
    assert json.loads((tmp_path / "config.json").read_text())["labels"] == ["<img src=x>"]
    assert (tmp_path / "js" / "boot.js").is_file() and (tmp_path / "css").is_dir()
    # The runtime is data for js/runtime.js (the worker runs it), not a script the page runs itself.
    assert page.runtime() == runtime
    assert [attrs for tag, attrs in page.elements if tag == "script" and attrs.get("src") == runtime[0]["src"]] == []
    assert page.inline_scripts() == []


def test_runtime_list_cannot_break_out_of_its_script_block(tmp_path):
    src = "vendor/</script><script>alert(1)</script>.js"
    render.render_site(tmp_path, title="t", config={}, runtime_scripts=[{"src": src, "integrity": "x"}])
    page = _Page((tmp_path / "index.html").read_text())
    assert page.runtime()[0]["src"] == src
    assert page.inline_scripts() == []


def test_missing_template_variable_fails_the_build(tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "index.html.j2").write_text("{{ title }} {{ not_provided }}")
    with pytest.raises(BrowsernetError, match="template error"):
        render.render_site(tmp_path, title="t", config={}, runtime_scripts=[], templates=templates)


def test_config_carries_the_site_layout_from_the_modules_that_define_it(tmp_path):
    """The page keeps no copies of Python constants: config.json tells it the pattern of
    content-hashed names (the page reads cached shards only under such names) and each WASM binary's URL."""
    render.render_site(tmp_path, title="t", config={"labels": ["a"]}, runtime_scripts=[])
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["labels"] == ["a"]
    pattern = re.compile(config["hashedName"])
    for name in ("model/group1-shard1of2.0123456789ab.bin", "model/model.json", "js/app.js"):
        assert bool(pattern.search(name)) == hosting.is_hashed(name), name
    assert set(config["wasmFiles"]) == set(vendor.WASM_BINARIES)
    assert set(config["wasmFiles"].values()) <= set(vendor.Runtime(tmp_path).sources)  # where copy_into puts them
