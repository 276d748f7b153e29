"""Pre-compressed copies: exact, deterministic, only where they help, and cached by content."""

import gzip

import brotli
import pytest

from builder.site import precompress

SCRIPT = b"export function f(x) { return x * 2; }\n" * 200


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    (root / "vendor").mkdir(parents=True)
    (root / "model").mkdir()
    (root / "js").mkdir()
    (root / "js" / "app.js").write_bytes(SCRIPT)
    (root / "index.html").write_text("<!doctype html><title>t</title>" + "<p>hello</p>" * 50)
    (root / "vendor" / "x.wasm").write_bytes(b"\0asm\1\0\0\0" + bytes(range(256)) * 40)
    (root / "model" / "group1-shard1of1.bin").write_bytes(b"\0" * 4096)  # compressible, but a shard
    (root / "config.json").write_text("{}")  # too small to gain anything
    return root


def test_copies_decompress_to_exactly_the_originals(site):
    written = precompress.write_copies(site)
    assert set(written) == {"js/app.js", "index.html", "vendor/x.wasm"}
    for path, sizes in written.items():
        original = (site / path).read_bytes()
        assert set(sizes) == {"br", "gzip"}
        assert brotli.decompress((site / f"{path}.br").read_bytes()) == original
        assert gzip.decompress((site / f"{path}.gz").read_bytes()) == original
        assert sizes == {"br": (site / f"{path}.br").stat().st_size, "gzip": (site / f"{path}.gz").stat().st_size}
        assert precompress.matches(site / path, site / f"{path}.br", "br")
    assert not list(site.rglob("*.bin.*")) and not (site / "config.json.gz").exists()


def test_copies_are_the_same_bytes_every_time(site, tmp_path):
    precompress.write_copies(site)
    first = {p.name: p.read_bytes() for p in site.rglob("*") if precompress.is_copy(p)}
    (site / "js" / "app.js").touch()
    precompress.write_copies(site)
    assert first == {p.name: p.read_bytes() for p in site.rglob("*") if precompress.is_copy(p)}
    assert (site / "js" / "app.js.gz").read_bytes()[4:8] == b"\0\0\0\0"  # gzip's mtime field


def test_cache_is_keyed_by_content(site, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setattr(precompress, "CACHE_MIN_BYTES", len(SCRIPT))
    written = precompress.write_copies(site, cache=cache)
    assert sorted(p.suffix for p in cache.iterdir()) == [".br", ".br", ".gz", ".gz"]  # app.js and x.wasm

    def fail(data, encoding):
        raise AssertionError("compressed again despite the cache")

    other = tmp_path / "other"
    other.mkdir()
    (other / "app.js").write_bytes(SCRIPT)
    monkeypatch.setattr(precompress, "compress", fail)
    assert precompress.write_copies(other, cache=cache) == {"app.js": written["js/app.js"]}
    assert gzip.decompress((other / "app.js.gz").read_bytes()) == SCRIPT


def test_a_stale_or_broken_copy_does_not_match(site):
    precompress.write_copies(site)
    assert precompress.matches(site / "js" / "app.js", site / "js" / "app.js.gz", "gzip")
    (site / "js" / "app.js").write_bytes(SCRIPT + b"// edited\n")
    assert not precompress.matches(site / "js" / "app.js", site / "js" / "app.js.gz", "gzip")
    (site / "js" / "app.js.br").write_bytes(b"not brotli")
    (site / "js" / "app.js.gz").write_bytes(b"\x1f\x8b not gzip")
    assert not precompress.matches(site / "js" / "app.js", site / "js" / "app.js.br", "br")
    assert not precompress.matches(site / "js" / "app.js", site / "js" / "app.js.gz", "gzip")
    assert not precompress.matches(site / "js" / "gone.js", site / "js" / "gone.js.gz", "gzip")


def test_site_files_are_the_site_without_its_copies(site):
    before = [p.relative_to(site).as_posix() for p in precompress.site_files(site)]
    precompress.write_copies(site)
    after = [p.relative_to(site).as_posix() for p in precompress.site_files(site)]
    assert after == before == sorted(before) and before
    assert any(precompress.is_copy(p) for p in site.rglob("*"))  # the copies are there, just not listed
