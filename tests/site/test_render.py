import json
import re

import pytest

from builder.site import hosting, render, vendor
from builder.errors import BrowsernetError


def test_page_escapes_title_and_uses_relative_urls(tmp_path):
    render.render_site(tmp_path, title="Cats & <dogs>", config={"labels": ["<img src=x>"]},
                       runtime_scripts=[{"src": "vendor/tf-layers.es2017.min.js", "integrity": "sha384-abc"}])
    html = (tmp_path / "index.html").read_text()
    assert "Cats &amp; &lt;dogs&gt;" in html and "<dogs>" not in html
    srcs = [part.split('"')[1] for part in html.split("src=")[1:]] + [part.split('"')[1] for part in html.split("href=")[1:]]
    assert srcs and all(not s.startswith(("/", "http:", "https:", "//")) for s in srcs), srcs
    assert json.loads((tmp_path / "config.json").read_text())["labels"] == ["<img src=x>"]
    assert (tmp_path / "js" / "boot.js").is_file() and (tmp_path / "css").is_dir()
    # The runtime is data for js/runtime.js (the worker runs it), not a script the page runs itself.
    block = re.search(r'<script type="application/json" id="runtime">(.*?)</script>', html, re.S)
    assert block and json.loads(block.group(1)) == [{"src": "vendor/tf-layers.es2017.min.js", "integrity": "sha384-abc"}]
    assert "<script defer" not in html


def test_runtime_list_cannot_break_out_of_its_script_block(tmp_path):
    render.render_site(tmp_path, title="t", config={},
                       runtime_scripts=[{"src": "vendor/</script><script>alert(1)</script>.js", "integrity": "x"}])
    html = (tmp_path / "index.html").read_text()
    assert "<script>alert(1)" not in html
    block = re.search(r'<script type="application/json" id="runtime">(.*?)</script>', html, re.S)
    assert json.loads(block.group(1))[0]["src"] == "vendor/</script><script>alert(1)</script>.js"


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
    assert config["wasmFiles"] == {name: f"{vendor.VENDOR_DIR}/{name}" for name in vendor.WASM_BINARIES}
    assert set(config["wasmFiles"].values()) <= set(vendor.Runtime(tmp_path).sources)  # where copy_into puts them
