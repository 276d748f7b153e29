"""Every file of a built site with its size and sha256, read once.

The service worker's file list and version, the pre-compressor's cache keys and report.json's ``files`` and
``sha256`` (what deploy and verify check the site against) all come from one inventory, so a build reads and
hashes each file once; the weight shards, hashed when they were named, are not read again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from builder.errors import BrowsernetError
from builder.site import precompress


@dataclass(frozen=True)
class Entry:
    bytes: int
    sha256: str  # hex


Inventory = dict[str, Entry]  # site-relative POSIX path -> Entry


def take(site: Path, known: dict[str, str] | None = None, paths: Iterable[str] | None = None) -> Inventory:
    """``{path: Entry}`` for ``paths`` in ``site`` (default: every file but the pre-compressed copies), in path
    order. ``known`` gives sha256s already computed (path -> hex), which are trusted rather than recomputed."""
    known = known or {}
    files = ([site / p for p in paths] if paths is not None else precompress.site_files(site))
    inventory: Inventory = {}
    for file in files:
        path = file.relative_to(site).as_posix()
        try:
            size = file.stat().st_size
            digest = known.get(path) or hashlib.sha256(file.read_bytes()).hexdigest()
        except OSError as e:
            raise BrowsernetError(f"{file}: cannot read the built file: {e.strerror or e}") from e
        inventory[path] = Entry(size, digest)
    return inventory
