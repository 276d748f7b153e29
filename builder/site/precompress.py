"""Pre-compressed copies of a site's text files: ``NAME.br`` and ``NAME.gz`` beside ``NAME``.

A host that can serve them (``browsernet serve``, nginx's ``gzip_static``/``brotli_static``,
Caddy's ``precompressed``) sends the copy with ``Content-Encoding`` to a browser that
accepts it, at brotli's best level and with no compression work per request. Hosts that
compress by themselves do not need them, so ``deploy`` leaves them out (see README).

Only files that compress well get copies: scripts, styles, HTML, JSON, SVG and the
WASM binaries. Weight shards do not: float32 weights shrink by 7-8% at best, and
brotli's best level takes about 20 s per 4 MB shard.

The vendored runtime is the same in every build and takes brotli several seconds, so
copies can be kept in a cache folder keyed by the original's sha256 (see :func:`write_copies`).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import zlib
from pathlib import Path

import brotli

from builder.errors import BrowsernetError

# Content-Encoding -> the suffix of its copy, in the order a server prefers them.
ENCODINGS = {"br": ".br", "gzip": ".gz"}
# File-name patterns of the copies, for hosts' and tools' ignore lists.
COPY_PATTERNS = tuple(f"*{suffix}" for suffix in ENCODINGS.values())
COMPRESSIBLE = (".js", ".mjs", ".css", ".html", ".json", ".webmanifest", ".svg", ".wasm", ".txt")
BROTLI_QUALITY = 11  # brotli's best: the copies are made once, at build time
GZIP_LEVEL = 9
# A copy that saves less than this fraction of the original is not worth a file.
MIN_SAVING = 0.05
# Smaller files compress in milliseconds; only bigger ones are worth a cache entry.
CACHE_MIN_BYTES = 64 * 1024


def is_copy(path: str | Path) -> bool:
    """Whether a site path is a pre-compressed copy (``.br``/``.gz``), not a file of the site itself."""
    return str(path).endswith(tuple(ENCODINGS.values()))


def site_files(site: Path) -> list[Path]:
    """Every file of the site itself, sorted: its pre-compressed copies left out."""
    return [p for p in sorted(site.rglob("*")) if p.is_file() and not is_copy(p)]


def compress(data: bytes, encoding: str) -> bytes:
    """``data`` compressed for ``Content-Encoding: encoding``, the same bytes every time."""
    if encoding == "gzip":
        return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
    if encoding == "br":
        return brotli.compress(data, quality=BROTLI_QUALITY)
    raise ValueError(f"unknown encoding {encoding!r}")


def decompress(data: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(data)
    if encoding == "br":
        return brotli.decompress(data)
    raise ValueError(f"unknown encoding {encoding!r}")


def write_copies(site: Path, cache: Path | None = None,
                 sha256: dict[str, str] | None = None) -> dict[str, dict[str, int]]:
    """Write ``.br`` and ``.gz`` copies of the compressible files now in ``site``; return
    ``{path: {encoding: bytes of its copy}}`` for the files that got at least one.

    With ``cache``, a copy of a file of at least :data:`CACHE_MIN_BYTES` is taken from
    ``cache/<sha256 of the original>.<suffix>`` when it is there, and stored there when it is not.
    ``sha256`` (site path -> hex) gives digests already computed (the build's inventory).
    """
    sha256 = sha256 or {}
    written: dict[str, dict[str, int]] = {}
    for file in sorted(p for p in site.rglob("*") if p.is_file() and p.suffix in COMPRESSIBLE):
        data = file.read_bytes()
        path = file.relative_to(site).as_posix()
        key = (sha256.get(path) or hashlib.sha256(data).hexdigest()) if cache and len(data) >= CACHE_MIN_BYTES else None
        sizes = {}
        for encoding, suffix in ENCODINGS.items():
            packed = _cached(cache / (key + suffix), data, encoding) if key else compress(data, encoding)
            if len(packed) <= len(data) * (1 - MIN_SAVING):
                copy = Path(f"{file}{suffix}")
                try:
                    copy.write_bytes(packed)
                except OSError as e:
                    raise BrowsernetError(f"{copy}: cannot write: {e.strerror or e}") from e
                sizes[encoding] = len(packed)
        if sizes:
            written[path] = sizes
    return written


def matches(original: Path, copy: Path, encoding: str) -> bool:
    """Whether ``copy`` decompresses to exactly the bytes of ``original`` (False if either is unreadable)."""
    try:
        return decompress(copy.read_bytes(), encoding) == original.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error, brotli.error):
        return False


def _cached(path: Path, data: bytes, encoding: str) -> bytes:
    """``compress(data, encoding)``, read from ``path`` if an earlier build stored it there."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    packed = compress(data, encoding)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Atomically, so a concurrent build never reads half an entry.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "wb") as f:
            f.write(packed)
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written only costs time
    return packed
