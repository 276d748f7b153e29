"""Digests of the files a visitor downloads, for the page to verify.

Weight shards are found through the *written* ``model.json`` (its
``weightsManifest`` paths), never by file-name pattern, so whatever names the
converter gives the shards, the digests describe exactly what the page will fetch.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from builder.errors import ModelError


def shard_sha256(model_json: Path) -> dict[str, str]:
    """``{path as listed in model.json: sha256 hex}`` for every weight shard it lists.

    Raises :class:`~builder.errors.ModelError` naming the file when model.json is
    unreadable or lists a shard that is not there.
    """
    try:
        manifest = json.loads(model_json.read_text(encoding="utf-8"))["weightsManifest"]
        paths = [path for group in manifest for path in group["paths"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelError(f"{model_json}: cannot read its weightsManifest ({e})") from e
    digests: dict[str, str] = {}
    for path in paths:
        shard = model_json.parent / path
        try:
            digests[path] = hashlib.sha256(shard.read_bytes()).hexdigest()
        except OSError as e:
            raise ModelError(f"{model_json}: lists weight shard {path}, which cannot be read ({e.strerror})") from e
    return digests
