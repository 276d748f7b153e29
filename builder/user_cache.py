"""The user's cache folder for browsernet: ``$XDG_CACHE_HOME/browsernet`` (``~/.cache/browsernet``)."""

from __future__ import annotations

import os
from pathlib import Path


def folder(name: str) -> Path:
    """``$XDG_CACHE_HOME/browsernet/NAME`` (``~/.cache/browsernet/NAME``); not created here."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "browsernet" / name
