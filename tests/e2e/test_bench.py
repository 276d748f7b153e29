"""`browsernet bench` runs end to end and writes well-formed figures. It asserts the shape of
the results, never how fast anything is: performance is measured, not tested."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def bench(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The CLI in its own process, as a user runs it (Playwright's sync API cannot nest in the
    test session's own browser)."""
    return subprocess.run([sys.executable, "-m", "builder", "bench", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=900, env={**os.environ, **(env or {})})


def _number(value, positive: bool = True) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and (value > 0 if positive else value >= 0)


def _assert_site_figures(figures: dict, model_bytes: int) -> None:
    """One backend's row of the site's figures is complete and consistent."""
    for key in ("load_ms", "median_ms", "p90_ms", "cold_first_prediction_ms", "warm_first_prediction_ms"):
        assert _number(figures[key]), (key, figures[key])
    assert figures["p90_ms"] >= figures["median_ms"]
    assert figures["runs"] >= 3
    assert figures["bytes_first_visit"] > model_bytes  # the model, the runtime, the page
    assert _number(figures["bytes_return_visit"], positive=False)
    assert _number(figures["first_inference_ms"]) and _number(figures["inference_median_ms"])
    # The worker's part of each timed classify() call: never more than the call (the first inference excluded).
    assert figures["inference_median_ms"] <= figures["median_ms"]
    # Where the warm visits' start-up went, stage by stage, ends before their first prediction.
    stages = figures["warm_startup_ms"]
    assert {"runtime", "backend", "download", "model"} <= set(stages) and all(map(_number, stages.values()))
    assert stages["runtime"] < stages["backend"] < stages["model"] < figures["warm_first_prediction_ms"]


def test_bench_writes_well_formed_json(sites, tmp_path):
    out = tmp_path / "bench.json"
    result = bench(str(sites["seq"]), "--backends", "wasm,cpu", "--runs", "3", "--max-seconds", "2",
                   "--json", str(out), "--profile", str(tmp_path / "traces"))
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["model"]["family"] == "custom" and data["model"]["input_size"] == [64, 64]
    assert set(data["site_backends"]) >= {"wasm", "cpu"}
    for figures in data["site_backends"].values():
        _assert_site_figures(figures, data["model"]["model_bytes"])
        assert figures["runs"] >= 6 and figures["warm_visits"] == 6  # both rounds' (at least 3 runs each), pooled
    # The site and every format take turns, round by round, so that a slow spell of the machine does not land on
    # one of them only: all of round 1 (the site and each format), then all of round 2.
    steps = re.findall(r"^  (site|\w+ model) on [\w-]+, round (\d) of 2", result.stderr, re.M)
    assert [r for _, r in steps] == sorted(r for _, r in steps), steps
    for round_no in "12":
        assert {who for who, r in steps if r == round_no} == {"site", "layers model", "graph model", "litert model",
                                                              "onnx model"}, steps
    # The site's layers model and every baseline, in one harness: TF.js's formats on each backend,
    # LiteRT.js and onnxruntime-web on WASM; WASM on every CPU and on one thread.
    wasm_rows = {"wasm", "wasm-1thread"} if (os.cpu_count() or 1) > 1 else {"wasm"}
    assert set(data["harness"]) == {"layers", "graph", "litert", "onnx"}
    for fmt, rows in data["harness"].items():
        assert set(rows) == (wasm_rows | {"cpu"} if fmt in ("layers", "graph") else wasm_rows), (fmt, rows)
        for row, figures in rows.items():
            assert "error" not in figures, (fmt, row, figures)
            for key in ("load_ms", "first_ms", "median_ms", "p90_ms"):
                assert _number(figures[key]), (fmt, row, key, figures[key])
            assert figures["runs"] >= 3 and figures["p90_ms"] >= figures["median_ms"]
            assert _number(figures["model_bytes"]) and _number(figures["runtime_bytes"])
            assert _number(figures["cpu_ms_per_inference"], positive=False)
            if row.startswith("wasm"):
                assert figures["threads"] == (1 if row == "wasm-1thread" else os.cpu_count())
            # Every runtime computed what Keras computes, on an input that changes Keras's output.
            assert figures["parity"]["ok"], (fmt, row, figures["parity"])
    assert data["model"]["output_depends_on_input"] is True
    # The model's bytes as served: the .tflite and .onnx hold its weights, like the site's shards.
    assert data["harness"]["litert"]["wasm"]["model_bytes"] > 0.5 * data["model"]["model_bytes"]
    # Uncompressed, as the other rows' (the site's .br copy of model.json was sent for the layers row).
    assert data["harness"]["layers"]["wasm"]["model_bytes"] == data["model"]["model_bytes"]
    assert _number(data["native"]["median_ms"])
    assert set(data["ratios"]) >= {"wasm: layers / graph", "wasm: layers / native", "wasm: layers / litert",
                                   "wasm: graph / litert", "wasm: onnx / litert", "wasm: site classify / litert",
                                   "wasm: site inference / litert"}
    if (os.cpu_count() or 1) > 1:  # thread scaling, per format and for the site
        assert {f"{fmt}: 1 thread / {os.cpu_count()} threads" for fmt in ("layers", "graph", "litert", "onnx", "site")} \
            <= set(data["ratios"])
    assert all(_number(v) for v in data["ratios"].values())
    # --profile: the layers model on WASM traced with V8's CPU profiler, one trace per thread count; the
    # main thread's samples fall in the WASM binary's kernels and in JavaScript (on this small model
    # mostly the latter), and its shares add up.
    assert set(data["profiles"]) == wasm_rows
    for config, got in data["profiles"].items():
        events = json.loads(Path(got["trace"]).read_text())["traceEvents"]
        assert Path(got["trace"]).parent == tmp_path / "traces" and any(e.get("name") == "ProfileChunk" for e in events)
        main = got["threads"]["main"]
        assert sum(main["shares"].values()) == pytest.approx(1, abs=1e-3) and main["shares"]["wasm"] > 0, (config, main)
        assert main["shares"]["javascript"] > 0
        assert main["top_wasm"] and main["top_wasm"][0][0].startswith("wasm-function[") and got["runs"] >= 3
        assert f"{config} profile, ms per inference: main" in result.stdout
    # The table on stdout carries the same figures.
    assert "layers / graph" in result.stdout and "native Keras" in result.stdout
    assert "onnx / litert" in result.stdout and "DISAGREES" not in result.stdout
    # TensorFlow's C++ log lines (grappler's, during the graph conversion) stay out of the terminal.
    assert "absl::InitializeLog" not in result.stderr and not re.search(r"^[IWEF]\d{4} ", result.stderr, re.M)


@pytest.fixture(scope="module")
def small_site(sequential_keras, tmp_path_factory) -> Path:
    """A site of the small Sequential model (64 px): SwiftShader's WebGPU is slow."""
    from builder.build import BuildOptions, build

    root = tmp_path_factory.mktemp("bench-small")
    labels = root / "labels.txt"
    labels.write_text("north\neast\nsouth\nwest\n")
    build(BuildOptions(out=root / "site", model=str(sequential_keras), labels=labels, preprocess="unit"))
    return root / "site"


def test_bench_measures_webgpu(small_site, tmp_path):
    """--backends webgpu starts Chromium with its software WebGPU flags: the site and the harness's
    layers model are timed on WebGPU, and the harness's output is Keras's."""
    out = tmp_path / "bench.json"
    result = bench(str(small_site), "--backends", "webgpu", "--no-baseline", "--no-native", "--runs", "3",
                   "--max-seconds", "2", "--json", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["options"]["backends"] == ["webgpu"]
    assert list(data["site_backends"]) == ["webgpu"]
    _assert_site_figures(data["site_backends"]["webgpu"], data["model"]["model_bytes"])
    assert data["site_backends"]["webgpu"]["threads"] is None
    assert list(data["harness"]) == ["layers"] and list(data["harness"]["layers"]) == ["webgpu"]
    row = data["harness"]["layers"]["webgpu"]
    assert "error" not in row, row
    assert _number(row["median_ms"]) and row["runs"] >= 3 and _number(row["runtime_bytes"])
    assert row["parity"]["ok"] and data["model"]["output_depends_on_input"] is True
    assert data["native"] is None
    lines = [line for line in result.stdout.splitlines() if line.startswith("webgpu ")]
    assert len(lines) == 3, result.stdout  # the site's row, its warm start-up, the harness's layers row
    assert "warm start-up" in lines[1] and lines[2].split()[1] == "layers" and "agrees" in lines[2]
    assert "failed:" not in result.stdout


def test_bench_says_webgpu_is_unavailable(small_site, chromium_without_webgpu, tmp_path):
    """A Chromium without a WebGPU adapter: the webgpu rows say so (as failed rows do), the rest runs."""
    out = tmp_path / "bench.json"
    result = bench(str(small_site), "--backends", "webgpu", "--no-baseline", "--no-native", "--runs", "3",
                   "--json", str(out), env={"BROWSERNET_CHROMIUM": str(chromium_without_webgpu)})
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(out.read_text())
    why = "unavailable: Chromium offers no WebGPU adapter here (requestAdapter() gave none)"
    assert data["site_backends"] == {"webgpu": {"error": why}}
    assert data["harness"] == {"layers": {"webgpu": {"error": why}}}
    assert data["ratios"] == {}
    assert [line.split()[0] for line in result.stdout.splitlines() if f"failed: {why}" in line] == ["webgpu"] * 2


def test_bench_says_a_quantized_site_differs_by_its_weights_and_still_times_it(sequential_keras, tmp_path):
    """A site built with uint8 weights does not give the float32 Keras model's numbers: its rows say that its
    quantized weights are why (not that the runtime computes something else: every trained site is --quantize auto
    by default), and it stays in the ratios, since TF.js dequantizes the weights as they load and computes in
    float32 as LiteRT.js's float32 model, which agrees, does. Its channel-scaled kernels each add a BatchNorm
    layer, which the table says: the rows time the site as visitors get it."""
    from builder.build import BuildOptions, build

    labels = tmp_path / "labels.txt"
    labels.write_text("north\neast\nsouth\nwest\n")
    site = tmp_path / "site"
    build(BuildOptions(out=site, model=str(sequential_keras), labels=labels, preprocess="unit", quantize=("uint8",)))
    out = tmp_path / "bench.json"
    result = bench(str(site), "--backends", "wasm", "--baselines", "litert", "--no-native", "--runs", "3",
                   "--max-seconds", "1", "--json", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(out.read_text())
    assert set(data["harness"]) == {"layers", "litert"}
    for row in data["harness"]["layers"].values():
        assert not row["parity"]["ok"] and row["parity"]["max_abs_diff"] > 1e-4 and row["parity"]["quantized"] == "uint8"
        assert _number(row["median_ms"])
    for row in data["harness"]["litert"].values():
        assert row["parity"]["ok"]
    assert any(name.startswith("wasm") and "layers / litert" in name for name in data["ratios"])
    assert "DISAGREES" not in result.stdout
    shown = [line for line in result.stdout.splitlines() if "differs by its quantized weights (uint8)" in line]
    assert len(shown) == len(data["harness"]["layers"])
    scaled = data["model"]["channel_scaled_kernels"]
    assert scaled > 0 and f"the site's {scaled} uint8 kernels are channel-scaled" in result.stdout


def test_bench_runs_the_graph_baseline_of_mobilenet_v3(tmp_path):
    """TensorFlow's grappler fuses MobileNetV3's `conv + 3` into a FusedConv2D with a scalar bias,
    which TF.js 4.22's graph executor rejects ("only supports rank-1 bias"); bench gives those
    convolutions a per-channel bias, and the graph model then computes what Keras does."""
    from builder.build import BuildOptions, build
    from tests import helpers

    weights = helpers.stock_weights(tmp_path / "v3.weights.h5", "mobilenet_v3_small", 1.0, 32)
    site = tmp_path / "site"
    build(BuildOptions(out=site, model="mobilenet_v3_small", input_size=32, weights=str(weights), quantize=("none",)))
    out = tmp_path / "bench.json"
    result = bench(str(site), "--backends", "wasm", "--baselines", "graph", "--no-native", "--runs", "3",
                   "--max-seconds", "1", "--json", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["model"]["output_depends_on_input"] is True
    for fmt in ("layers", "graph"):
        for row in data["harness"][fmt].values():
            assert "error" not in row and row["parity"]["ok"], (fmt, row)
    assert "failed:" not in result.stdout


def test_bench_reports_a_baseline_that_cannot_run(sequential_keras, tmp_path):
    """Without LiteRT.js in node_modules (an install without the devDependencies), its rows say
    why in one line each, and the run goes on: the other baselines are measured."""
    from builder.build import BuildOptions, build

    labels = tmp_path / "labels.txt"
    labels.write_text("north\neast\nsouth\nwest\n")
    site = tmp_path / "site"
    build(BuildOptions(out=site, model=str(sequential_keras), labels=labels, preprocess="unit"))
    node_modules = tmp_path / "node_modules"
    node_modules.mkdir()
    for entry in (ROOT / "node_modules").iterdir():
        if entry.name != "@litertjs":
            (node_modules / entry.name).symlink_to(entry)
    out = tmp_path / "bench.json"
    result = bench(str(site), "--backends", "wasm", "--baselines", "litert,onnx", "--no-native", "--runs",
                   "3", "--max-seconds", "1", "--json", str(out), env={"BROWSERNET_NODE_MODULES": str(node_modules)})
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(out.read_text())
    for row in data["harness"]["litert"].values():
        assert set(row) == {"error"} and "@litertjs/core is not installed" in row["error"]
    for fmt in ("layers", "onnx"):
        for row in data["harness"][fmt].values():
            assert _number(row["median_ms"]) and row["parity"]["ok"]
    assert not any("litert" in name for name in data["ratios"])
    failed = [line for line in result.stdout.splitlines() if "failed:" in line]
    assert len(failed) == len(data["harness"]["litert"]) and all("npm ci" in line for line in failed)

