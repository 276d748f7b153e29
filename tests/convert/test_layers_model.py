"""Conversion and the self-check, with TF.js really running the written files (in Node)."""

import hashlib
import json

import numpy as np
import pytest

from builder.convert import layers_model as convert
from builder.convert import self_check as parity
from builder.convert import quantization as quantize
from builder.errors import ModelError, ParityError
from tests import helpers


@pytest.fixture(scope="module")
def seq_model():
    return helpers.sequential(32, classes=4)


def _convert(model, tmp_path, qmap=None, shard_size=4 << 20):
    return convert.convert(model, "test-model", tmp_path / "model", qmap=qmap or {}, shard_size=shard_size)


def test_writes_layers_model_and_shards(seq_model, tmp_path):
    result = _convert(seq_model, tmp_path, shard_size=1024)
    artifacts = json.loads(result.model_json.read_text())
    assert artifacts["format"] == "layers-model"
    paths = artifacts["weightsManifest"][0]["paths"]
    assert len(paths) > 1 and all((tmp_path / "model" / p).stat().st_size <= 1024 for p in paths)
    assert result.layers == len(artifacts["modelTopology"]["config"]["layers"])
    # The digests the page verifies are those of the files model.json lists, under their content-hashed names.
    assert set(result.shard_sha256) == set(paths)
    for path, digest in result.shard_sha256.items():
        assert hashlib.sha256((tmp_path / "model" / path).read_bytes()).hexdigest() == digest
        assert digest.startswith(path.rsplit(".", 2)[1])


@pytest.mark.parametrize("make", [helpers.sequential, lambda: helpers.fine_tuned(64, classes=3)])
def test_tfjs_reproduces_keras(make, tmp_path):
    model = make()
    result = _convert(model, tmp_path)
    size = tuple(model.input_shape[1:3])
    parity.check(model, result.model_json, input_size=size, preprocess="mobilenet",  # raises beyond 1e-4
                 weights=result.weights, dtypes=result.dtypes)
    # And independently of parity.check: different inputs give clearly different outputs.
    x = helpers.test_images(size[0], 4).astype(np.float32) / 127.5 - 1
    got, _ = parity.run_tfjs(result.model_json, x)
    np.testing.assert_allclose(got, np.asarray(model(x)), atol=1e-4)
    assert np.ptp(got, axis=0).max() > 0.05


def test_quantized_weights_are_checked_against_dequantized_keras(seq_model, tmp_path):
    result = _convert(seq_model, tmp_path, qmap=quantize.parse(["uint8"]))
    manifest = json.loads(result.model_json.read_text())["weightsManifest"][0]["weights"]
    # Every weight uint8 but the scales of channel-scaled kernels (in their BatchNorms: see test_optimize).
    assert {w["name"] for w in manifest if "quantization" not in w} == {
        f"{w.name.split('/')[0]}/{name}" for w in result.weights if w.name.endswith("/gamma")
        for name in ("gamma", "moving_mean", "moving_variance")}
    assert {w["quantization"]["dtype"] for w in manifest if "quantization" in w} == {"uint8"}
    check = parity.check(seq_model, result.model_json, input_size=(32, 32), preprocess="mobilenet",
                         weights=result.weights, dtypes=result.dtypes)
    assert check.quantization_error is not None and check.quantization_error > check.max_abs_diff


def test_self_check_catches_wrong_numbers(seq_model, tmp_path):
    result = _convert(seq_model, tmp_path)
    shard = tmp_path / "model" / json.loads(result.model_json.read_text())["weightsManifest"][0]["paths"][0]
    data = bytearray(shard.read_bytes())
    data[:64] = np.full(16, 3.0, np.float32).tobytes()  # corrupt the first conv kernel
    shard.write_bytes(bytes(data))
    with pytest.raises(ParityError, match="differs from Keras by"):
        parity.check(seq_model, result.model_json, input_size=(32, 32), preprocess="mobilenet",
                     weights=result.weights, dtypes={})


def test_truncated_shard_is_a_clear_error(seq_model, tmp_path):
    result = _convert(seq_model, tmp_path)
    shard = tmp_path / "model" / json.loads(result.model_json.read_text())["weightsManifest"][0]["paths"][0]
    shard.write_bytes(shard.read_bytes()[:100])
    with pytest.raises(ModelError, match="TF.js cannot load or run the converted model"):
        parity.run_tfjs(result.model_json, np.zeros((1, 32, 32, 3), np.float32))
