import hashlib
import json

import pytest

from builder.convert import integrity
from builder.errors import ModelError


def _model(tmp_path, paths):
    (tmp_path / "model.json").write_text(json.dumps({"weightsManifest": [{"paths": paths, "weights": []}]}))
    return tmp_path / "model.json"


def test_digests_follow_whatever_model_json_lists(tmp_path):
    # Content-hashed or otherwise renamed shards: the names come from model.json, not a pattern.
    (tmp_path / "weights.3f9a.bin").write_bytes(b"abc")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.bin").write_bytes(b"")
    (tmp_path / "group1-shard1of1.bin").write_bytes(b"not listed")
    digests = integrity.shard_sha256(_model(tmp_path, ["weights.3f9a.bin", "sub/x.bin"]))
    assert digests == {"weights.3f9a.bin": hashlib.sha256(b"abc").hexdigest(),
                       "sub/x.bin": hashlib.sha256(b"").hexdigest()}


def test_missing_shard_or_bad_manifest_names_the_file(tmp_path):
    with pytest.raises(ModelError, match="lists weight shard gone.bin"):
        integrity.shard_sha256(_model(tmp_path, ["gone.bin"]))
    (tmp_path / "model.json").write_text("{}")
    with pytest.raises(ModelError, match="model.json: cannot read its weightsManifest"):
        integrity.shard_sha256(tmp_path / "model.json")
