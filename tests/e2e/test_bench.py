"""`browsernet bench` runs end to end and writes well-formed figures. It asserts the shape of
the results, never how fast anything is: performance is measured, not tested."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def bench(*args: str) -> subprocess.CompletedProcess:
    """The CLI in its own process, as a user runs it (Playwright's sync API cannot nest in the
    test session's own browser)."""
    return subprocess.run([sys.executable, "-m", "builder", "bench", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)


def _number(value, positive: bool = True) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and (value > 0 if positive else value >= 0)


def test_bench_writes_well_formed_json(sites, tmp_path):
    out = tmp_path / "bench.json"
    result = bench(str(sites["seq"]), "--backends", "wasm,cpu", "--runs", "3", "--max-seconds", "2",
                   "--json", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["model"]["family"] == "custom" and data["model"]["input_size"] == [64, 64]
    assert set(data["site_backends"]) >= {"wasm", "cpu"}
    for figures in data["site_backends"].values():
        for key in ("load_ms", "median_ms", "p90_ms", "cold_first_prediction_ms", "warm_first_prediction_ms"):
            assert _number(figures[key]), (key, figures[key])
        assert figures["p90_ms"] >= figures["median_ms"]
        assert figures["runs"] >= 3
        assert figures["bytes_first_visit"] > data["model"]["model_bytes"]  # the model, the runtime, the page
        assert _number(figures["bytes_return_visit"], positive=False)
        assert _number(figures["first_inference_ms"])
        # Where the warm visits' start-up went, stage by stage, ends before their first prediction.
        stages = figures["warm_startup_ms"]
        assert {"runtime", "backend", "download", "model"} <= set(stages) and all(map(_number, stages.values()))
        assert stages["runtime"] < stages["backend"] < stages["model"] < figures["warm_first_prediction_ms"]
    for fmt in ("layers", "graph"):
        for backend in ("wasm", "cpu"):
            figures = data["harness"][fmt][backend]
            assert _number(figures["median_ms"]) and _number(figures["load_ms"]) and figures["runs"] >= 3
    assert _number(data["native"]["median_ms"])
    assert set(data["ratios"]) >= {"wasm: layers / graph", "wasm: layers / native"}
    assert all(_number(v) for v in data["ratios"].values())
    # The table on stdout carries the same figures.
    assert "layers / graph" in result.stdout and "native Keras" in result.stdout
    # TensorFlow's C++ log lines (grappler's, during the graph conversion) stay out of the terminal.
    assert "absl::InitializeLog" not in result.stderr and not re.search(r"^[IWEF]\d{4} ", result.stderr, re.M)


def test_bench_refuses_a_folder_that_is_not_a_site(tmp_path):
    result = bench(str(tmp_path), "--json", str(tmp_path / "b.json"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("Error: ") and "not a built site" in result.stderr
    assert not (tmp_path / "b.json").exists()
