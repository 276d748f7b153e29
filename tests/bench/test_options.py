"""`browsernet bench` with options it cannot use: one line before anything starts (no browser, no
TensorFlow), so a mistake costs no run and loses no figures."""

from __future__ import annotations

import json
import typing
from dataclasses import MISSING, fields

import pytest
from click.testing import CliRunner

from builder.cli import cli
from builder.report import REPORT_FILE, BuildReport


@pytest.fixture
def site(tmp_path):
    """A folder whose report.json bench can read (the fields a build always writes, as placeholders)."""
    folder = tmp_path / "site"
    folder.mkdir()
    # Of each field's type: report.load checks them.
    (folder / REPORT_FILE).write_text(json.dumps({**_placeholders(), "generator": "browsernet"}))
    return folder


def _bench(*args):
    return CliRunner().invoke(cli, ["bench", *map(str, args)], prog_name="browsernet")


def _one_error_line(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output  # no "Benchmarking ..." first
    return lines[0]


def test_a_folder_that_is_not_a_site(tmp_path):
    assert "is not a browsernet build" in _one_error_line(_bench(tmp_path, "--json", tmp_path / "b.json"))
    assert not (tmp_path / "b.json").exists()
    assert "nothing: does not exist" in _one_error_line(_bench(tmp_path / "nothing"))
    (tmp_path / "trained").mkdir()
    (tmp_path / "trained" / "train-report.json").write_text("{}")  # `browsernet train`'s output: its site is next
    assert "a browsernet train output, not a site; build its site first" in _one_error_line(_bench(tmp_path / "trained"))


def test_profile_without_wasm_says_it_needs_wasm(site, tmp_path):
    line = _one_error_line(_bench(site, "--backends", "cpu", "--profile", tmp_path / "prof"))
    assert "--profile" in line and "add wasm to --backends" in line
    assert not (tmp_path / "prof").exists()


def test_baselines_named_and_skipped_at_once_is_refused(site, tmp_path):
    line = _one_error_line(_bench(site, "--baselines", "graph", "--no-baseline", "--json", tmp_path / "b.json"))
    assert "--no-baseline" in line and "--baselines 'graph'" in line and "give one of them" in line


def test_json_into_a_missing_folder_fails_before_the_run(site, tmp_path):
    line = _one_error_line(_bench(site, "--json", tmp_path / "no" / "such" / "b.json"))
    assert f"no folder {tmp_path / 'no' / 'such'}" in line


def test_json_inside_the_site_is_refused_and_the_site_keeps_its_files(site, tmp_path, monkeypatch):
    """bench --json site/report.json replaced the build's record, and `cd site && bench .` wrote bench.json
    into the site, which deploy then refused to publish."""
    before = (site / REPORT_FILE).read_text()
    line = _one_error_line(_bench(site, "--json", site / REPORT_FILE))
    assert f"--json {site / REPORT_FILE} is inside the site folder" in line
    monkeypatch.chdir(site)
    line = _one_error_line(_bench("."))
    assert "the default --json bench.json (in the current folder) is inside the site folder" in line
    assert (site / REPORT_FILE).read_text() == before and sorted(p.name for p in site.iterdir()) == [REPORT_FILE]


def test_json_onto_a_file_the_site_was_built_from_is_refused_and_the_file_kept(sequential_keras, tmp_path):
    """bench --json model.keras wrote its figures over the model the site was built from: the model was lost,
    and every later bench, verify and deploy called the site stale."""
    from tests.conftest import built_copy

    model, labels, site = built_copy(sequential_keras, tmp_path)
    kept = {path: path.read_bytes() for path in (model, labels)}
    for path, role in ((model, "model"), (labels, "labels")):
        line = _one_error_line(_bench(site, "--json", path))
        assert f"--json {path} is the {role} file {site}/ was built from; write it elsewhere" in line
    assert {path: path.read_bytes() for path in kept} == kept


def test_json_inside_the_profile_folder_is_refused(site, tmp_path):
    """--profile prof --json prof/layers-wasm.json wrote the figures over a trace the table then pointed to."""
    (tmp_path / "prof").mkdir()  # from an earlier --profile run
    line = _one_error_line(_bench(site, "--profile", tmp_path / "prof", "--json", tmp_path / "prof" / "b.json"))
    assert f"--json {tmp_path / 'prof' / 'b.json'} is inside the --profile folder" in line


@pytest.mark.parametrize("runs", ["0", "2", "-3"])
def test_fewer_than_3_runs_is_a_usage_error(site, runs):
    line = _one_error_line(_bench(site, "--runs", runs))  # a usage error is one line too, with where to look
    assert "--runs" in line and ">=3" in line and line.endswith(" bench --help')")


def test_a_site_whose_model_file_is_gone_fails_before_measuring(site, tmp_path):
    """Every run checks the site against Keras running its model: without the file, say so before the
    minutes of measuring, not after them (when no figures would be written)."""
    report = json.loads((site / REPORT_FILE).read_text())
    gone = tmp_path / "gone.keras"
    report["sources"] = {"model": {"path": str(gone), "sha256": "0" * 64}}
    (site / REPORT_FILE).write_text(json.dumps(report))
    line = _one_error_line(_bench(site, "--no-baseline", "--no-native", "--json", tmp_path / "b.json"))
    assert f"{gone}: the model file {site} was built from is gone" in line
    assert not (tmp_path / "b.json").exists()


def test_a_site_whose_model_file_changed_since_the_build_fails_before_measuring(site, tmp_path):
    """Keras running the changed file is not the site's model: its timings and parity would be of another
    model, with no sign of it (verify and deploy say 'stale' too)."""
    from builder.report import source_record

    model = tmp_path / "model.keras"
    model.write_bytes(b"the model as built")
    report = json.loads((site / REPORT_FILE).read_text())
    report["sources"] = {"model": source_record(model, site)}
    (site / REPORT_FILE).write_text(json.dumps(report))
    model.write_bytes(b"the model retrained since")
    line = _one_error_line(_bench(site, "--no-baseline", "--no-native", "--json", tmp_path / "b.json"))
    assert f"{site}: the model file {model} changed since the build" in line
    assert not (tmp_path / "b.json").exists()


def test_a_site_built_on_another_machine_says_so_before_measuring(site, tmp_path):
    """report.json names the model file but not where it is (that stays on the machine that built it)."""
    report = json.loads((site / REPORT_FILE).read_text())
    report["sources"] = {"model": {"name": "model.keras", "sha256": "0" * 64}}
    (site / REPORT_FILE).write_text(json.dumps(report))
    line = _one_error_line(_bench(site, "--no-baseline", "--no-native", "--json", tmp_path / "b.json"))
    assert "the model file it was built from (model.keras) is not known on this machine" in line
    assert not (tmp_path / "b.json").exists()


@pytest.mark.parametrize("seconds", ["0", "-1"])
def test_a_time_limit_that_is_not_positive_is_a_usage_error(site, seconds):
    line = _one_error_line(_bench(site, "--max-seconds", seconds))
    assert "--max-seconds" in line and "x>0" in line


def test_a_runtime_that_disagrees_with_keras_is_flagged_and_left_out_of_the_ratios():
    """A baseline whose output is not Keras's (float32 weights, so not a quantization) times another computation."""
    from builder.bench.run import BenchResult, _ratios, table

    def row(median, diff, quantized=None):
        parity = {"ok": diff <= 1e-4, "max_abs_diff": diff, "top1_agrees": True}
        if quantized:
            parity["quantized"] = quantized
        return {"load_ms": 1.0, "first_ms": 1.0, "median_ms": median, "p90_ms": median, "threads": 1,
                "cpu_ms_per_inference": None, "model_bytes": 1, "runtime_bytes": 1, "parity": parity}

    result = BenchResult(site="s", model={}, machine={}, options={"backends": ["wasm"]},
                         harness={"layers": {"wasm": row(10.0, 2e-6)}, "graph": {"wasm": row(12.0, 0.3)},
                                  "litert": {"wasm": row(8.0, 1e-6)}})
    ratios = _ratios(result)
    assert "wasm: layers / litert" in ratios and "wasm: graph / litert" not in ratios
    assert "wasm: layers / graph" not in ratios
    assert any("graph" in line and "DISAGREES (max |diff| 3.0e-01, top-1 same) - not the same computation" in line
               for line in table(result))


@pytest.mark.parametrize("fmt, runtime", [("litert", "LiteRT.js"), ("onnx", "onnxruntime-web")])
def test_a_baseline_runtime_that_is_not_installed_says_where_it_comes_from(fmt, runtime, tmp_path, monkeypatch):
    """An installed wheel has the site's TF.js runtime but not LiteRT.js or onnxruntime-web: the row said 'TF.js
    runtime not found ... run make setup in site-packages'."""
    from builder.bench.run import _baseline_modules
    from builder.errors import BrowsernetError

    monkeypatch.setenv("BROWSERNET_NODE_MODULES", str(tmp_path))  # a node_modules without them
    with pytest.raises(BrowsernetError, match=rf"{runtime} is not installed here: .*a pip or pipx install has none"):
        _baseline_modules(fmt)


def test_a_site_file_changed_since_the_build_fails_before_measuring(site, tmp_path):
    """bench timed (and called 'agrees') whatever the folder held: a config.json edited after the build, a model
    swapped in. It checks the site's files against report.json first, as deploy and verify do."""
    import hashlib

    (site / "config.json").write_text('{"topK": 3}')
    report = json.loads((site / REPORT_FILE).read_text())
    report["files"] = {"config.json": 11}
    report["sha256"] = {"config.json": hashlib.sha256(b'{"topK": 3}').hexdigest()}
    (site / REPORT_FILE).write_text(json.dumps(report))
    (site / "config.json").write_text('{"topK": 9}')  # the same size, other content
    line = _one_error_line(_bench(site, "--no-baseline", "--no-native", "--json", tmp_path / "b.json"))
    assert line.startswith(f"Error: {site / 'config.json'}: changed since the build (sha256 ")
    assert line.endswith("bench measures the site as built, so rebuild it")
    (site / "config.json").unlink()
    line = _one_error_line(_bench(site, "--no-baseline", "--no-native", "--json", tmp_path / "b.json"))
    assert line == f"Error: {site / 'config.json'}: missing from the site (it is in report.json); bench measures " \
                   "the site as built, so rebuild it"
    assert not (tmp_path / "b.json").exists()


def test_a_profile_folder_inside_the_site_or_under_a_file_fails_before_the_run(site, tmp_path):
    """The traces were written after minutes of measuring, into the site (spoiling it for deploy) or not at all."""
    line = _one_error_line(_bench(site, "--profile", site / "traces"))
    assert f"--profile {site / 'traces'} is inside the site folder {site}/" in line
    (tmp_path / "a-file").write_text("")
    line = _one_error_line(_bench(site, "--profile", tmp_path / "a-file" / "traces"))
    assert line == f"Error: --profile {tmp_path / 'a-file' / 'traces'}: {tmp_path / 'a-file'} is a file, not a folder"
    assert sorted(p.name for p in site.iterdir()) == [REPORT_FILE]


def test_a_json_file_that_is_a_hard_link_to_a_site_file_is_refused(site, tmp_path):
    import os

    os.link(site / REPORT_FILE, tmp_path / "figures.json")
    before = (site / REPORT_FILE).read_text()
    line = _one_error_line(_bench(site, "--json", tmp_path / "figures.json"))
    assert f"--json {tmp_path / 'figures.json'} is a file of the site folder {site}/ under another name" in line
    assert (site / REPORT_FILE).read_text() == before


@pytest.mark.parametrize("seconds", ["inf", "nan"])
def test_a_time_limit_that_is_not_a_number_of_seconds_is_refused(site, seconds, tmp_path):
    """--max-seconds inf ran without end, and its JSON said Infinity, which strict JSON readers refuse."""
    line = _one_error_line(_bench(site, "--max-seconds", seconds, "--json", tmp_path / "b.json"))
    assert "--max-seconds" in line and not (tmp_path / "b.json").exists()


def test_ratios_pair_rows_that_ran_on_as_many_threads():
    """A site built with --wasm-threads 1 runs one thread in its wasm row; against a two-thread LiteRT.js row, or
    TensorFlow on every CPU, the ratio measured the thread counts, not the runtimes."""
    from builder.bench.run import BenchResult, _ratios

    parity = {"ok": True, "max_abs_diff": 0.0, "top1_agrees": True}
    harness = {"litert": {"wasm": {"median_ms": 8.0, "threads": 2, "parity": parity}}}
    site_row = {"median_ms": 20.0, "inference_median_ms": 18.0}
    native = {"median_ms": 5.0, "p90_ms": 5.0, "runs": 3, "threads": 2}
    one = BenchResult(site="s", model={}, machine={}, options={"backends": ["wasm"]}, harness=harness,
                      site_backends={"wasm": {**site_row, "threads": 1}}, native=native)
    assert not [name for name in _ratios(one) if name.startswith("wasm: site")]
    two = BenchResult(site="s", model={}, machine={}, options={"backends": ["wasm"]}, harness=harness,
                      site_backends={"wasm": {**site_row, "threads": 2}}, native=native)
    assert _ratios(two) == {"wasm: site classify / native": 4.0, "wasm: site classify / litert": 2.5,
                            "wasm: site inference / litert": 2.25}


def test_keras_runs_the_head_the_build_added(tmp_path):
    """A model ending in one sigmoid unit: the site's model gives [1 - p, p] (the build adds it), and bench compared
    that with Keras's [p], calling the site's own model 'DISAGREES - not the same computation'."""
    import numpy as np

    from builder.bench.run import _keras_model, _keras_output, bench_input, parity
    from builder.convert.heads import APPLIED
    from builder.model import tf_runtime
    from builder.report import load, source_record

    tf_runtime.load()
    import keras

    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Flatten()(inputs)  # an output that depends on where things are in the image
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
    weights = np.random.default_rng(0).normal(0, 0.1, (8 * 8 * 3, 1)).astype("float32")
    model.layers[-1].set_weights([weights, np.zeros(1, "float32")])
    path = tmp_path / "binary.keras"
    model.save(path)
    site = tmp_path / "site"
    site.mkdir()
    report = {**_placeholders(), "generator": "browsernet", "input_size": [8, 8],
              "sources": {"model": source_record(path, site)},
              "head": {"kind": "sigmoid", "detected": True, "outputs": 1, "classes": 2, "applied": APPLIED["sigmoid"]}}
    (site / REPORT_FILE).write_text(json.dumps(report))
    reference, varies = _keras_output(_keras_model(load(site), site), (8, 8))
    p = model(bench_input((8, 8)), training=False).numpy()[0, 0]
    assert varies and reference.shape == (1, 2)
    assert parity(reference, [1 - p, p], tolerance=1e-6)["ok"]


def _placeholders() -> dict:
    placeholders = {str: "", int: 0, float: 0.0, dict: {}, list: []}
    hints = typing.get_type_hints(BuildReport)
    return {f.name: placeholders.get(typing.get_origin(hints[f.name]) or hints[f.name])
            for f in fields(BuildReport) if f.default is MISSING and f.default_factory is MISSING}



@pytest.mark.parametrize("option, value", [("--backends", "wasm,cpu,wasm"), ("--baselines", "graph,graph")])
def test_a_backend_or_baseline_named_twice_is_refused(site, option, value):
    """Its row was measured twice and the second replaced the first: minutes for nothing."""
    line = _one_error_line(_bench(site, option, value))
    assert line == f"Error: {option} {value}: {value.split(',')[0]} named twice (see 'browsernet bench --help')"


def test_a_report_json_that_is_not_a_build_report_is_named_as_such(site, tmp_path):
    """bench said 'not a built site (no report.json)' of a folder whose report.json was there: emptied to {}."""
    (site / REPORT_FILE).write_text("{}")
    line = _one_error_line(_bench(site, "--json", tmp_path / "b.json"))
    assert line.startswith(f"Error: {site / REPORT_FILE}: not a browsernet build report"), line


def test_a_ctrl_c_that_a_library_swallowed_writes_no_figures(site, tmp_path, monkeypatch):
    """A stop signal whose KeyboardInterrupt vanished (CPython drops one raised in a gc callback) let the run end
    normally, and bench wrote the figures of a run the user had stopped."""
    import os
    import signal

    from builder.bench import run

    def stopped_run(options, reporter):
        try:
            os.kill(os.getpid(), signal.SIGINT)
        except KeyboardInterrupt:
            pass
        return run.BenchResult(site=str(options.site), model={}, machine={}, options={"backends": ["wasm"]})

    monkeypatch.setattr(run, "bench", stopped_run)
    result = _bench(site, "-q", "--json", tmp_path / "b.json")
    assert result.exit_code == 1 and result.output.strip().splitlines() == ["Aborted!"], result.output
    assert not (tmp_path / "b.json").exists()


def test_figures_that_are_not_numbers_are_written_as_null(tmp_path):
    """A runtime whose output is NaN gives a NaN difference; Python's JSON wrote NaN, which JSON readers refuse."""
    from builder.bench.run import BenchResult, write_json

    result = BenchResult(site="s", model={}, machine={}, options={},
                         harness={"onnx": {"wasm": {"median_ms": 9.5, "parity": {"max_abs_diff": float("nan")}}}},
                         ratios={"x": float("inf")})
    write_json(result, tmp_path / "b.json")
    written = json.loads((tmp_path / "b.json").read_text(), parse_constant=lambda name: pytest.fail(name))
    assert written["harness"]["onnx"]["wasm"] == {"median_ms": 9.5, "parity": {"max_abs_diff": None}}
    assert written["ratios"] == {"x": None}


def test_a_model_that_answers_a_mirrored_image_alike_still_depends_on_its_input():
    """Conv2D(1x1) -> global average pooling -> Dense: the same answer for an image and its mirror, which bench
    took for "Keras's output does not depend on the input (weights none?)". A constant model still is flagged."""
    import numpy as np

    from builder.bench.run import _keras_output
    from builder.model import tf_runtime

    tf_runtime.load()
    import keras

    inputs = keras.Input((16, 12, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(8, 1, activation="relu")(inputs))
    symmetric = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(pooled))
    x = np.random.default_rng(0).uniform(-1, 1, (1, 16, 12, 3)).astype("float32")
    np.testing.assert_allclose(symmetric(x).numpy(), symmetric(x[:, :, ::-1].copy()).numpy(), atol=1e-6)
    assert _keras_output(symmetric, (16, 12))[1]
    constant = keras.Model(inputs, keras.layers.Dense(2, kernel_initializer="zeros")(pooled))
    assert not _keras_output(constant, (16, 12))[1]


def test_a_profile_folder_that_cannot_be_made_is_said_before_the_run(site, tmp_path):
    """/proc takes no new folder, though root may write there as far as os.access can tell: bench ran every
    measurement, then lost them all to "unexpected FileNotFoundError"."""
    line = _one_error_line(_bench(site, "--profile", "/proc/browsernet-profile", "--json", tmp_path / "b.json"))
    assert "--profile /proc/browsernet-profile" in line
    assert not (tmp_path / "b.json").exists()


def test_a_profile_folder_made_for_a_run_that_fails_is_not_left_behind(site, tmp_path):
    """The placeholder site cannot be benchmarked: the folder bench made for its traces goes again."""
    result = _bench(site, "--profile", tmp_path / "prof", "--json", tmp_path / "b.json")
    assert result.exit_code == 1
    assert not (tmp_path / "prof").exists()
