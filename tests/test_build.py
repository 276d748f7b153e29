"""build-site end to end on the Python side: report, errors, atomic output."""

import gzip
import hashlib
import json
import re
import shutil
import urllib.request
import zipfile
from pathlib import Path

import brotli
import pytest
from click.testing import CliRunner
from PIL import Image

from builder.site import precompress
from builder.site import vendor
from builder.cli import cli
from tests.conftest import SIZE


def _run(*args):
    result = CliRunner().invoke(cli, ["build-site", *map(str, args)], catch_exceptions=False)
    return result.exit_code, result.output


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def previous_site(sites, tmp_path) -> Path:
    """A copy of a real build, to try failing builds against."""
    out = tmp_path / "site"
    shutil.copytree(sites["keras"], out)
    return out


def test_report_records_what_was_built(sites):
    report = json.loads((sites["stock"] / "report.json").read_text())
    assert report["generator"] == "browsernet"
    assert (report["family"], report["alpha"], report["input_size"]) == ("mobilenet_v2", 0.35, [SIZE, SIZE])
    assert report["classes"] == 1000 and report["labels"] == "imagenet"
    assert report["parameters"] > 1_000_000 and report["multiply_adds"] > 10_000_000
    assert report["quantization"]["mode"] == "none" and report["quantization"]["map"] == "none"
    assert report["weight_dtypes"] == {"float32": report["weight_dtypes"]["float32"]}
    # Folded BatchNorms are not written, so the float32 shards hold fewer numbers than the Keras model.
    shards = sum(p.stat().st_size for p in (sites["stock"] / "model").glob("*.bin"))
    assert report["quantization"]["weight_bytes"] == report["quantization"]["float32_weight_bytes"] == shards
    assert shards < 4 * report["parameters"]
    assert report["parity"]["output_spread"] > 0.05  # calibrated weights: the check is meaningful
    on_disk = {p.relative_to(sites["stock"]).as_posix(): p.stat().st_size
               for p in sites["stock"].rglob("*") if p.is_file() and not precompress.is_copy(p)}
    assert {k: v for k, v in on_disk.items() if k != "report.json"} == report["files"]
    assert report["total_bytes"] == sum(report["files"].values())
    assert report["model_bytes"] == sum(v for k, v in on_disk.items() if k.startswith("model/"))
    assert report["options"]["weights"].endswith(".weights.h5")
    # A model file brings its own width and weights: the report does not claim --alpha 1.0 and ImageNet weights.
    own = json.loads((sites["keras"] / "report.json").read_text())["options"]
    assert (own["alpha"], own["weights"]) == (None, None)


def test_build_writes_exact_precompressed_copies(sites):
    site = sites["keras"]
    report = json.loads((site / "report.json").read_text())
    copies = {p.relative_to(site).as_posix() for p in site.rglob("*") if precompress.is_copy(p)}
    expected = {path + precompress.ENCODINGS[enc] for path, sizes in report["precompressed"].items() for enc in sizes}
    assert copies == expected
    for path in (f"vendor/{vendor.BUNDLE}", "vendor/tfjs-backend-wasm-simd.wasm", "index.html", "js/boot.js",
                 "model/model.json", "sw.js"):
        assert set(report["precompressed"][path]) == {"br", "gzip"}, path
        original = (site / path).read_bytes()
        assert brotli.decompress((site / f"{path}.br").read_bytes()) == original
        assert gzip.decompress((site / f"{path}.gz").read_bytes()) == original
        assert report["precompressed"][path]["br"] == (site / f"{path}.br").stat().st_size
    assert not any(path.endswith(".bin") or path == "report.json" for path in report["precompressed"])
    # What the service worker caches (this build's files, no copies) is checked in a browser:
    # tests/e2e/test_offline.py::test_the_cache_holds_this_builds_files_and_no_precompressed_copy.


def test_default_title_names_the_users_file_or_the_stock_model(sites, fine_tuned_h5):
    """Without --title: a user's file is named after itself (not after the MobileNet it was fine-tuned from);
    a stock MobileNet by its version and width."""
    title = lambda site: json.loads((sites[site] / "config.json").read_text())["title"]  # noqa: E731
    assert title("h5") == f"{Path(fine_tuned_h5).stem} image classifier"
    assert title("stock") == "MobileNet V2 (α 0.35) image classifier"
    assert title("v1-none") == "MobileNet V1 (α 0.25) image classifier"


def test_a_generic_file_name_in_the_home_folder_does_not_publish_the_user_name(monkeypatch, tmp_path):
    """model.keras is titled by its folder, which in the home folder would be the user's name, in the
    published page's title, config.json and web app manifest."""
    from builder.build import _default_title

    home = tmp_path / "alice"
    (home / "pets").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    assert _default_title(None, str(home / "model.keras")) == "Image classifier"
    assert _default_title(None, str(home / "pets" / "model.keras")) == "pets image classifier"
    assert _default_title(None, str(home / "dogs.keras")) == "dogs image classifier"


def test_a_trained_model_in_a_generic_folder_is_titled_by_the_photos_it_learnt(tmp_path):
    """`browsernet train ~/birds` writes trained/model.keras: the page is the birds classifier, not the
    "trained image classifier"; names that say nothing give a plain title."""
    from builder.build import _default_title

    model = str(tmp_path / "trained" / "model.keras")
    assert _default_title(None, model, str(tmp_path / "birds")) == "birds image classifier"
    assert _default_title(None, str(tmp_path / "garden-birds" / "model.keras"), str(tmp_path / "birds")) == \
        "garden-birds image classifier"  # the folder the user named comes first
    assert _default_title(None, model, str(tmp_path / "photos")) == "Image classifier"
    assert _default_title(None, model, None) == "Image classifier"


def test_site_config_carries_labels_preprocess_and_size(sites):
    config = json.loads((sites["h5"] / "config.json").read_text())
    assert config["labels"] == list("abcdefg") and config["topK"] == 3
    assert config["inputSize"] == [SIZE, SIZE] and config["preprocess"] == "mobilenet"
    assert config["modelUrl"] == "model/model.json"
    for rel in (f"vendor/{vendor.BUNDLE}", "vendor/tfjs-backend-wasm-simd.wasm",
                "index.html", "js/boot.js", "model/model.json"):
        assert (sites["h5"] / rel).is_file(), rel


def test_quantized_build(fine_tuned_keras, labels_file, tmp_path):
    code, out = _run("--model", fine_tuned_keras, "--labels", labels_file, "--quantize", "uint8=*/kernel",
                     "--quantize", "float16", "--out", tmp_path / "q")
    assert code == 0, out
    report = json.loads((tmp_path / "q" / "report.json").read_text())
    assert report["quantization"]["map"] == "uint8=*/kernel; float16"
    assert report["quantization"]["mode"] == "manual" and "auto" not in report["quantization"]
    # Each uint8 kernel is channel-scaled: its BatchNorm's scales, mean and variance stay float32.
    scaled = report["optimization"]["scaled_kernels"]
    dtypes = report["weight_dtypes"]
    assert scaled > 0 and dtypes["float32"] == 3 * scaled and dtypes["uint8"] >= scaled and set(dtypes) == {
        "uint8", "float16", "float32"}
    assert report["parity"]["quantization_error"] > 0
    assert "quantization max" in out


def test_a_manual_quantization_that_moves_the_probabilities_more_than_auto_allows_is_warned(fine_tuned_keras,
                                                                                           labels_file, tmp_path):
    code, out = _run("--model", fine_tuned_keras, "--labels", labels_file, "--quantize", "uint8",
                     "--out", tmp_path / "q")
    assert code == 0, out  # what was asked for is built...
    error = json.loads((tmp_path / "q" / "report.json").read_text())["parity"]["quantization_error"]
    assert error > 0.1  # ...and said plainly, beside the figure
    assert f"warning: --quantize uint8 moves the probabilities by up to {error:.3g} on the self-check's" in out
    code, out = _run("--model", fine_tuned_keras, "--labels", labels_file, "--quantize", "float16",
                     "--out", tmp_path / "f")
    assert code == 0 and "warning: --quantize" not in out


def test_auto_quantized_build(sequential_keras, tmp_path, monkeypatch):
    """--quantize auto measures the plan it then writes: the model is read into a graph, converted (planned,
    optimized, written) and its shards hashed once each per build. (A small model: the search itself, on a
    MobileNetV2, is tested in tests/convert/test_mixed_precision.py.)"""
    from builder.convert import graph, layers_model

    calls = {"read": 0, "plan": 0, "optimize": 0, "write_weights": 0, "hash": 0}

    def counted(name, function):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(graph, "from_keras", counted("read", graph.from_keras))
    monkeypatch.setattr(layers_model, "plan", counted("plan", layers_model.plan))
    monkeypatch.setattr(layers_model.optimizing, "optimize", counted("optimize", layers_model.optimizing.optimize))
    monkeypatch.setattr(layers_model, "_write_weights", counted("write_weights", layers_model._write_weights))
    monkeypatch.setattr(layers_model, "_hash_names", counted("hash", layers_model._hash_names))
    labels = tmp_path / "labels.txt"
    labels.write_text("north\neast\nsouth\nwest\n")
    code, out = _run("--model", sequential_keras, "--preprocess", "unit", "--labels", labels, "--quantize", "auto",
                     "--out", tmp_path / "a")
    assert code == 0, out
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    q = report["quantization"]
    assert q["mode"] == "auto" and q["map"].startswith("auto: ")
    assert sum(report["weight_dtypes"].values()) == len(q["dtypes"]) and "uint8" in report["weight_dtypes"]
    auto = q["auto"]
    assert auto["calibration_source"] == "built-in" and auto["images"] == 200
    assert auto["agreement"] >= 0.99 and auto["max_prob_error"] <= 0.1
    assert auto["bounds"] == {"agreement": 0.99, "max_prob_error": 0.1}
    assert set(auto["plain"]) == {"float32", "float16", "uint16", "uint8"}
    assert q["weight_bytes"] <= auto["plain"]["float16"]["weight_bytes"] < q["float32_weight_bytes"]
    # float32's bytes are one figure everywhere: a float32 build's, not the uint8 map's tensors stored as float32.
    assert auto["plain"]["float32"]["weight_bytes"] == q["float32_weight_bytes"]
    # The written shards are the chosen map's bytes (model.json holds the rest).
    shards = sum(n for p, n in report["files"].items() if p.startswith("model/") and p.endswith(".bin"))
    assert shards == q["weight_bytes"]
    manifest = json.loads((tmp_path / "a" / "model" / "model.json").read_text())["weightsManifest"]
    stored = {w["name"]: w.get("quantization", {}).get("dtype", "float32") for g in manifest for w in g["weights"]}
    assert stored == q["dtypes"]
    assert "trade-off" in out and "top-1 agrees with float32 on" in out
    assert calls == {"read": 1, "plan": 1, "optimize": 1, "write_weights": 1, "hash": 1}


def test_default_quantization_is_auto_only_for_stock_imagenet_models(fine_tuned_keras):
    from builder.build import BuildOptions, default_quantize

    assert default_quantize(BuildOptions()) == ("auto",)
    assert default_quantize(BuildOptions(model="mobilenet_v1", alpha=0.25)) == ("auto",)
    assert default_quantize(BuildOptions(weights="none")) == ("none",)
    assert default_quantize(BuildOptions(model=str(fine_tuned_keras))) == ("none",)
    assert default_quantize(BuildOptions(quantize=("uint8",))) == ("uint8",)


def _layers_not_a_list(model: Path, folder: Path) -> Path:
    """A copy of the .keras file ``model`` whose config.json says ``"layers": 5``."""
    damaged = folder / "damaged.keras"
    with zipfile.ZipFile(model) as src, zipfile.ZipFile(damaged, "w") as out:
        for name in src.namelist():
            data = src.read(name)
            if name == "config.json":
                config = json.loads(data)
                config["config"]["layers"] = 5
                data = json.dumps(config).encode()
            out.writestr(name, data)
    return damaged


def _upper_case_copy(model: Path, folder: Path) -> Path:
    copy = folder / "Model.KERAS"
    shutil.copyfile(model, copy)
    return copy


@pytest.mark.parametrize("make_args, message", [
    (lambda d, m, l: ["--model", d / "corrupt.h5"], r"corrupt\.h5: not a readable Keras model"),
    (lambda d, m, l: ["--model", _upper_case_copy(m, d), "--labels", l],
     r"Model\.KERAS: Keras reads only lower-case file suffixes; rename it to Model\.keras"),
    (lambda d, m, l: ["--model", _layers_not_a_list(m, d), "--labels", l],
     r"damaged\.keras: layer '.*' \(Functional\): its saved config lists no layers \('layers' is int\)"),
    (lambda d, m, l: ["--model", d / "missing.keras"], r"missing\.keras: no such model file"),
    (lambda d, m, l: ["--model", d / "notes.txt"], r"notes\.txt: expected a Keras model file"),
    (lambda d, m, l: ["--model", m, "--labels", d / "three.txt"], r"three\.txt: 3 labels, but .* has 5 classes"),
    (lambda d, m, l: ["--model", m], r"has 5 classes, so the ImageNet labels \(1000\) do not apply"),
    (lambda d, m, l: ["--model", m, "--labels", l, "--quantize", "int3"], r"unknown dtype 'int3'"),
    (lambda d, m, l: ["--model", m, "--labels", l, "--quantize", "auto", "--quantize", "uint8"],
     r"--quantize auto chooses every weight's dtype, so it cannot be combined"),
    (lambda d, m, l: ["--model", m, "--labels", l, "--calibration", d], r"--calibration is for --quantize auto"),
    (lambda d, m, l: ["--model", m, "--labels", l, "--quantize", "auto", "--calibration", d / "nope"],
     r"--calibration .*nope: no such folder"),
    (lambda d, m, l: ["--model", m, "--labels", l, "--quantize", "auto", "--calibration", d / "few"],
     r"--calibration .*few: 2 images, need at least 20 "),
    (lambda d, m, l: ["--model", "mobilenet_v2", "--alpha", "0.3", "--input-size", "96"],
     r"ImageNet weights exist only for alpha in"),
    (lambda d, m, l: ["--model", m, "--labels", l, "--alpha", "0.5", "--weights", "none"],
     r"--alpha, --weights: for a stock --model \(mobilenet_v2, \.\.\.\); the model file .* has its own"),
    (lambda d, m, l: ["--model", m, "--labels", l, "--input-size", "128"],
     r"the model's input is \d+x\d+; --input-size is for a stock model, or a model whose input takes any size"),
    (lambda d, m, l: ["--model", m, "--labels", l, "--shard-size", "1024"],
     r"--shard-size 1024 splits .* into [\d,]+ shards, .*use --shard-size \d+ or more \(at most 500 shards\)"),
])
def test_bad_input_is_one_line_exit_1_and_keeps_the_previous_site(make_args, message, previous_site, tmp_path,
                                                                  fine_tuned_keras, labels_file):
    (tmp_path / "corrupt.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"garbage" * 100)
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "three.txt").write_text("a\nb\nc\n")
    (tmp_path / "few").mkdir()
    (tmp_path / "few" / "a.png").write_bytes(b"")
    (tmp_path / "few" / "b.png").write_bytes(b"")
    before = _digest(previous_site)
    code, out = _run(*make_args(tmp_path, fine_tuned_keras, labels_file), "--out", previous_site)
    errors = [line for line in out.splitlines() if line.startswith("Error:")]
    assert code == 1 and len(errors) == 1, out
    assert __import__("re").search(message, errors[0]), errors[0]
    assert "Traceback" not in out
    assert _digest(previous_site) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site")] == []  # no temp dirs left


def test_a_ctrl_c_that_a_library_swallows_still_keeps_the_previous_site(previous_site, sequential_keras, tmp_path,
                                                                         monkeypatch):
    """CPython ignores an exception raised in a garbage-collector callback (JAX registers one), so Ctrl-C's
    KeyboardInterrupt can vanish mid-build: the build then ran on and replaced the site, exit 0. The signal is
    remembered, and the finished build is not moved into place after it."""
    import os
    import signal

    from builder.site import precompress

    write_copies = precompress.write_copies

    def swallowing_ctrl_c(*args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGINT)  # handled at once, on this (the main) thread
        except KeyboardInterrupt:
            pass  # what CPython does to an exception raised in a gc callback
        return write_copies(*args, **kwargs)

    monkeypatch.setattr(precompress, "write_copies", swallowing_ctrl_c)
    (tmp_path / "four.txt").write_text("north\neast\nsouth\nwest\n")
    before = _digest(previous_site)
    code, out = _run("--model", sequential_keras, "--labels", tmp_path / "four.txt", "--preprocess", "unit",
                     "--out", previous_site)
    assert code == 1 and out.strip().splitlines()[-1] == "Aborted!", out
    assert _digest(previous_site) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site")] == []


def test_a_ctrl_c_while_the_new_site_is_moved_into_place_leaves_one_whole_site(previous_site, sequential_keras,
                                                                               tmp_path, monkeypatch):
    """The swap is two renames and a clean-up: a Ctrl-C between the renames left no site at all (the old one hidden
    in .site.old-*), one after them the new site reported as "Aborted!" with the old one half-deleted beside it.
    Signals are held off until the swap is over; the build then ends as finished."""
    import os
    import signal

    from builder.site import staging

    rename = os.rename

    def rename_then_ctrl_c(source, target):
        rename(source, target)
        if Path(target).name.startswith(".site.old-"):  # the old site is out of the way, the new one not yet in
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(staging.os, "rename", rename_then_ctrl_c)
    (tmp_path / "four.txt").write_text("north\neast\nsouth\nwest\n")
    code, out = _run("--model", sequential_keras, "--labels", tmp_path / "four.txt", "--preprocess", "unit",
                     "--title", "The new one", "--out", previous_site)
    assert code == 0, out
    assert "the stop signal came while the new output was moved into place, so that finished first" in out
    assert json.loads((previous_site / "config.json").read_text())["title"] == "The new one"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site")] == []


def test_a_previous_site_left_beside_the_output_is_removed_only_beside_a_site(previous_site, sequential_keras,
                                                                               tmp_path):
    """A build stopped while removing the previous site leaves it as .site.old-PID-*: the next build removes it, as
    it removes a killed build's staging folder. A build killed between the two renames leaves no site, and that
    folder is then the only copy of it: it stays until a site is in place again."""
    left = tmp_path / ".site.old-999999999-browsernet-abcd1234"  # no such process
    shutil.move(previous_site, left)  # killed between the renames: no site/ at all
    (tmp_path / "four.txt").write_text("north\neast\nsouth\nwest\n")
    build = ("--model", sequential_keras, "--labels", tmp_path / "four.txt", "--preprocess", "unit", "--out",
             previous_site)
    code, out = _run(*build)
    assert code == 0 and previous_site.is_dir() and left.is_dir(), out
    code, out = _run(*build)
    assert code == 0 and not left.exists(), out


def test_a_signal_held_off_outside_the_cli_takes_effect_after_the_swap(tmp_path):
    """Called as a library (no command's handlers), a Ctrl-C during the renames is raised again after them."""
    import os
    import signal

    from builder import interrupts

    with pytest.raises(KeyboardInterrupt):
        with interrupts.held():
            os.kill(os.getpid(), signal.SIGINT)
            (tmp_path / "done").touch()  # the held step runs to its end
    assert (tmp_path / "done").exists() and not interrupts.seen()


def test_a_signal_held_off_in_a_command_stops_its_later_steps_not_the_finished_one():
    """train --site: the model's swap finished under a Ctrl-C, then the whole site build ran on (the signal was
    dropped). It stops every later publishing step; the output already in place is not called "Aborted!"."""
    import os
    import signal

    from builder import interrupts

    with interrupts.Interrupts():
        with interrupts.held():
            os.kill(os.getpid(), signal.SIGINT)
        interrupts.raise_if_cut_short()  # the command that put its output in place ends as finished
        with pytest.raises(KeyboardInterrupt):
            interrupts.raise_if_seen()  # the site build after it, or serve, does not start
    assert not interrupts.seen()


def test_a_missing_weights_file_fails_before_tensorflow_loads(tmp_path):
    code, out = _run("--model", "mobilenet_v2", "--weights", tmp_path / "nope.weights.h5", "--out", tmp_path / "s")
    assert code == 1 and f"{tmp_path / 'nope.weights.h5'}: weights file not found" in out
    assert "loading TensorFlow" not in out  # a typo costs no 10 s wait
    assert not (tmp_path / "s").exists()
    code, out = _run("--model", "mobilenet_v2", "--weights", tmp_path, "--out", tmp_path / "s")
    assert code == 1 and out.strip().splitlines()[-1] == f"Error: {tmp_path}: a folder, not a weights file"
    for blank in ("   ", "\u200b "):  # spaces, or a zero-width space copied from a web page
        code, out = _run("--model", "mobilenet_v2", "--weights", "none", "--title", blank, "--out", tmp_path / "s")
        assert code == 1 and "Error: --title: shows nothing (only spaces or invisible characters)" in out
        assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("size", ["16", "100000"])
def test_an_input_size_out_of_range_fails_before_tensorflow_loads(size, tmp_path):
    code, out = _run("--model", "mobilenet_v1", "--weights", "none", "--input-size", size, "--out", tmp_path / "s")
    assert code == 1 and f"--input-size must be from 32 to 1024 pixels, got {size}" in out, out
    assert "loading TensorFlow" not in out and not (tmp_path / "s").exists()


def test_offline_imagenet_names_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")  # nothing listens there: offline, deterministically
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    # Keras downloads through urllib's process-wide opener, which keeps the proxies of its first request:
    # a fresh one here, and none after the test, so later tests in this process reach 127.0.0.1 directly.
    monkeypatch.setattr(urllib.request, "_opener", None)
    code, out = _run("--model", "mobilenet_v2", "--alpha", "0.35", "--input-size", "96", "--out", tmp_path / "s")
    assert code == 1
    assert f"Keras cache {tmp_path / 'keras-home' / 'models'}" in out and "--weights none" in out
    assert not (tmp_path / "s").exists()


def test_foreign_directory_is_never_overwritten_without_force(fine_tuned_keras, labels_file, tmp_path):
    out = tmp_path / "docs"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    code, text = _run("--model", fine_tuned_keras, "--labels", labels_file, "--out", out)
    assert code == 1 and "is not a browsernet build" in text and "--force" in text
    assert (out / "thesis.tex").read_text() == "years of work"
    code, text = _run("--model", fine_tuned_keras, "--labels", labels_file, "--out", out, "--force")
    assert code == 0, text
    assert not (out / "thesis.tex").exists() and (out / "report.json").is_file()


def test_an_out_the_system_cannot_hold_is_one_line_naming_why(sequential_keras, tmp_path):
    (tmp_path / "notes.txt").write_text("keep")
    (tmp_path / "labels.txt").write_text("n\ne\ns\nw\n")
    for out, why in ((tmp_path / "notes.txt" / "site", f"{tmp_path / 'notes.txt'}: is a file"),
                     (Path("/proc/browsernet-site"), "/proc: cannot write there (the system makes no folders there)")):
        code, text = _run("--model", sequential_keras, "--preprocess", "unit", "--labels", tmp_path / "labels.txt",
                          "--out", out, "--force")
        errors = [line for line in text.splitlines() if line.startswith("Error:")]
        assert code == 1 and len(errors) == 1 and why in errors[0], text
        assert "unexpected" not in text and "Traceback" not in text
    assert (tmp_path / "notes.txt").read_text() == "keep"


def test_force_never_replaces_a_folder_holding_the_builds_own_inputs(fine_tuned_keras, labels_file, tmp_path):
    out = tmp_path / "work"
    out.mkdir()
    model, labels = out / "mine.keras", out / "labels.txt"
    model.write_bytes(Path(fine_tuned_keras).read_bytes())
    labels.write_bytes(Path(labels_file).read_bytes())
    for args in (("--model", model, "--labels", labels_file), ("--model", fine_tuned_keras, "--labels", labels)):
        code, text = _run(*args, "--out", out, "--force")
        assert code == 1 and "holds the input" in text, text
    assert model.read_bytes() == Path(fine_tuned_keras).read_bytes() and labels.is_file()
    # Nor a folder inside one the build reads: --calibration's photos, sorted into folders.
    cats = tmp_path / "calibration" / "cats"
    cats.mkdir(parents=True)
    photo = cats / "cat.png"
    Image.new("RGB", (8, 8), "orange").save(photo)
    code, text = _run("--model", fine_tuned_keras, "--labels", labels_file, "--quantize", "auto", "--calibration",
                      cats.parent, "--out", cats, "--force")
    assert code == 1 and f"inside the input folder {cats.parent}" in text and photo.is_file(), text


def test_rebuild_replaces_a_previous_build(previous_site, fine_tuned_h5):
    labels = previous_site.parent / "seven.txt"
    labels.write_text("\n".join("abcdefg"))
    code, text = _run("-q", "--model", fine_tuned_h5, "--labels", labels, "--out", previous_site)
    assert code == 0 and text == ""
    assert json.loads((previous_site / "config.json").read_text())["labels"] == list("abcdefg")


def test_the_summary_goes_to_stdout_and_the_steps_to_stderr(previous_site, fine_tuned_h5):
    """`build-site ... > built.txt` keeps what was built; the steps and notes stay on the terminal."""
    labels = previous_site.parent / "seven.txt"
    labels.write_text("\n".join("abcdefg"))
    result = CliRunner().invoke(cli, ["build-site", "--model", str(fine_tuned_h5), "--labels", str(labels),
                                      "--out", str(previous_site)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == f"Site written to {previous_site}/ (report: {previous_site}/report.json)"
    assert "  parity       max |TF.js - Keras|" in result.stdout and "self-check" not in result.stdout
    assert "self-check: TF.js vs Keras ..." in result.stderr and "Site written" not in result.stderr


def test_rebuild_keeps_what_the_user_put_in_the_site(previous_site, fine_tuned_h5):
    """A site folder made a Git repository (to push it somewhere), or given notes: a rebuild would
    replace the folder and delete them, so it refuses and names them; --force replaces it."""
    (previous_site / ".git").mkdir()
    (previous_site / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (previous_site / "NOTES.md").write_text("mine")
    labels = previous_site.parent / "seven.txt"
    labels.write_text("\n".join("abcdefg"))
    code, text = _run("--model", fine_tuned_h5, "--labels", previous_site.parent / "none.txt", "--out", previous_site)
    assert code == 1 and (previous_site / "NOTES.md").exists()  # (labels missing) and the old site is intact
    code, text = _run("--model", fine_tuned_h5, "--labels", labels, "--out", previous_site)
    assert code == 1 and "holds .git/HEAD, NOTES.md, which the previous browsernet build did not write" in text, text
    assert (previous_site / ".git" / "HEAD").is_file() and (previous_site / "NOTES.md").read_text() == "mine"
    code, text = _run("-q", "--model", fine_tuned_h5, "--labels", labels, "--out", previous_site, "--force")
    assert code == 0 and not (previous_site / "NOTES.md").exists()


def test_a_rebuild_never_drops_the_sites_custom_domain_without_a_word(previous_site, fine_tuned_h5):
    """A CNAME in the site (written by hand, or by an earlier build's --cname) was deleted by the next build
    without a word, and the deploy after it then took the site off its domain."""
    labels = previous_site.parent / "seven.txt"
    labels.write_text("\n".join("abcdefg"))
    (previous_site / "CNAME").write_text("www.example.org\n")
    before = _digest(previous_site)
    for options in ((), ("--target", "github-pages")):
        code, text = _run("--model", fine_tuned_h5, "--labels", labels, "--out", previous_site, *options)
        assert code == 1 and text.strip().splitlines()[-1] == (
            f"Error: {previous_site}: its CNAME names the custom domain www.example.org, which this build would drop "
            "(a deploy would then stop serving the site there); keep it with build-site --target github-pages "
            "--cname www.example.org, or pass --force to drop it")
        assert _digest(previous_site) == before
    code, text = _run("-q", "--model", fine_tuned_h5, "--labels", labels, "--out", previous_site, "--target",
                      "github-pages", "--cname", "www.example.org")
    assert code == 0 and (previous_site / "CNAME").read_text().strip() == "www.example.org", text
    code, text = _run("-q", "--model", fine_tuned_h5, "--labels", labels, "--out", previous_site, "--force")
    assert code == 0 and not (previous_site / "CNAME").exists(), text


def test_a_rebuild_for_another_target_never_drops_what_the_user_added_to_the_firebase_files(previous_site,
                                                                                          fine_tuned_h5):
    """`deploy firebase` writes firebase.json and .firebaserc into the site; a user adds an emulator port or an
    alias. A rebuild for another target writes neither file: it refuses, naming what would go, unless --force
    (browsernet's own rules alone are dropped without a word: a deploy writes them again)."""
    from builder.site import hosting

    labels = previous_site.parent / "seven.txt"
    labels.write_text("\n".join("abcdefg"))
    config = {**hosting.firebase_config(), "emulators": {"hosting": {"port": 5001}}}
    (previous_site / "firebase.json").write_text(json.dumps(config))
    (previous_site / ".firebaserc").write_text(json.dumps({"projects": {"default": "demo-x", "staging": "demo-y"}}))
    before = _digest(previous_site)
    code, text = _run("--model", fine_tuned_h5, "--labels", labels, "--out", previous_site)
    assert code == 1 and text.strip().splitlines()[-1] == (
        f"Error: {previous_site}: holds firebase.json's edited emulators, .firebaserc's alias staging, which a --target "
        "generic build does not write; rebuild with --target firebase to keep them, or pass --force to drop them")
    assert _digest(previous_site) == before
    # --target firebase keeps them, beside the new build's own rules.
    code, text = _run("-q", "--model", fine_tuned_h5, "--labels", labels, "--out", previous_site, "--target", "firebase")
    assert code == 0, text
    assert json.loads((previous_site / "firebase.json").read_text())["emulators"] == config["emulators"]
    assert json.loads((previous_site / ".firebaserc").read_text()) == {"projects": {"staging": "demo-y"}}
    # Without additions, a generic rebuild drops browsernet's own files.
    (previous_site / ".firebaserc").unlink()
    (previous_site / "firebase.json").write_text(json.dumps(hosting.firebase_config()))
    code, text = _run("-q", "--model", fine_tuned_h5, "--labels", labels, "--out", previous_site)
    assert code == 0 and not (previous_site / "firebase.json").exists(), text
    # An edited hosting section, which a Firebase build refuses too: the advice is not that build.
    (previous_site / "firebase.json").write_text('{"hosting": null}')
    code, text = _run("--model", fine_tuned_h5, "--labels", labels, "--out", previous_site)
    assert code == 1 and text.strip().splitlines()[-1].endswith(
        "holds firebase.json's edited hosting, which a --target generic build does not write; move the files out "
        "of the site folder to keep them, or pass --force to drop them"), text


@pytest.mark.parametrize("args, message", [
    (["--cname", "example.com"], "--cname is for --target github-pages"),
    (["--quantize", "none", "--calibration", "."], "--calibration is for --quantize auto"),
    (["--top-k", "0"], "--top-k must be at least 1, got 0"),
    (["--input-size", "5"], "--input-size must be from 32 to 1024 pixels, got 5"),
    (["--quantize", "foo"], "--quantize 'foo': unknown dtype 'foo'; choose from float16, uint16, uint8 (or auto, or "
                            "none for float32)"),
])
def test_options_that_contradict_each_other_are_one_line_pointing_to_help(args, message, tmp_path):
    """As for the usage errors click finds (an unknown option): the line says where the options are explained,
    and nothing is announced or written before it."""
    result = CliRunner().invoke(cli, ["build-site", *args, "--out", str(tmp_path / "site")], prog_name="browsernet")
    assert result.exit_code == 1 and result.output.splitlines() == [
        f"Error: {message} (see 'browsernet build-site --help')"], result.output
    assert not (tmp_path / "site").exists()


def test_verbose_shows_the_traceback(tmp_path):
    (tmp_path / "corrupt.keras").write_bytes(b"not a zip")
    code, out = _run("-v", "--model", tmp_path / "corrupt.keras", "--out", tmp_path / "s")
    assert code == 1 and "Traceback" in out and "corrupt.keras: not a readable Keras model" in out


def _build_saved(model, tmp_path, name: str, *options) -> tuple[int, str]:
    """Save a tf-keras model as .h5 and build it with three labels."""
    path = tmp_path / name
    model.save(path)
    labels = tmp_path / "l.txt"
    labels.write_text("a\nb\nc\n")
    return _run("--model", path, "--labels", labels, "--out", tmp_path / "s", *options)


def test_keras2_h5_models_build(tmp_path):
    """An .h5 saved by Keras 2 (tf-keras), which Keras 3 itself cannot always read, still builds and self-checks."""
    import numpy as np
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    base = tf_keras.applications.MobileNetV2(alpha=0.35, input_shape=(64, 64, 3), include_top=False, weights=None)
    inputs = tf_keras.Input((64, 64, 3))
    x = tf_keras.layers.GlobalAveragePooling2D()(base(inputs, training=False))
    model = tf_keras.Model(inputs, tf_keras.layers.Dense(3, activation="softmax")(x))
    code, out = _build_saved(model, tmp_path, "keras2.h5")
    assert code == 0, out
    report = json.loads((tmp_path / "s" / "report.json").read_text())
    assert report["family"] == "mobilenet_v2" and report["alpha"] == 0.35 and report["classes"] == 3
    assert report["parameters"] == model.count_params()


@pytest.mark.parametrize("scaling", ["preprocess_input", "number_first", "number_minus"])
def test_models_that_preprocess_themselves_get_raw_pixels(scaling, tmp_path):
    """TF's transfer-learning tutorial puts preprocess_input inside the model (Keras 2: TFOpLambda layers).
    Scaling the pixels again in the page would be silently wrong, so the default becomes raw. The same scaling
    written with the number first (tf-keras stores it as a _CONSTANT_VALUE input) is read as well."""
    import tf_keras

    tf_keras.utils.set_random_seed(1)
    inputs = tf_keras.Input((32, 32, 3))
    x = {"preprocess_input": lambda: tf_keras.applications.mobilenet_v2.preprocess_input(inputs),
         "number_first": lambda: -1.0 + (2 / 255) * inputs,
         "number_minus": lambda: 1.0 - inputs / 127.5}[scaling]()
    x = tf_keras.layers.Conv2D(8, 3, activation="relu")(x)
    x = tf_keras.layers.GlobalAveragePooling2D()(x)
    model = tf_keras.Model(inputs, tf_keras.layers.Dense(3, activation="softmax")(x))
    code, out = _build_saved(model, tmp_path, "tutorial.h5")
    assert code == 0, out
    assert "rescales its own input" in out
    report = json.loads((tmp_path / "s" / "report.json").read_text())
    assert report["preprocess"] == "raw"
    # Asked to scale the pixels first anyway (a --preprocess copied from a script): the model would see them scaled
    # twice, every answer wrong and the self-check none the wiser. Refused, and the site stays as it was.
    code, out = _build_saved(model, tmp_path, "tutorial.h5", "--preprocess", "mobilenet")
    errors = [line for line in out.splitlines() if line.startswith("Error:")]
    assert code == 1 and len(errors) == 1, out
    assert "--preprocess mobilenet: " in errors[0] and "rescales its own input, made for raw 0-255 pixels, so " \
        "mobilenet's scaling first would scale them twice" in errors[0] and "add --scaled-twice if" in errors[0]
    assert json.loads((tmp_path / "s" / "report.json").read_text())["preprocess"] == "raw"
    if scaling == "preprocess_input":  # a model trained on pixels scaled twice is built so when the user says it was
        code, out = _build_saved(model, tmp_path, "tutorial.h5", "--preprocess", "mobilenet", "--scaled-twice")
        assert code == 0, out
        assert json.loads((tmp_path / "s" / "report.json").read_text())["preprocess"] == "mobilenet"
        code, out = _build_saved(model, tmp_path, "tutorial.h5", "--scaled-twice")  # scaled by what, first?
        assert code == 1 and "--scaled-twice says the model was trained on pixels scaled by --preprocess" in out
        code, out = _build_saved(model, tmp_path, "tutorial.h5", "--preprocess", "raw", "--scaled-twice")
        assert code == 1 and f"--scaled-twice: {tmp_path / 'tutorial.h5'} rescales its own input for raw 0-255 pixels, " \
            "which --preprocess raw feeds it, so nothing is scaled twice; leave --scaled-twice out" in out, out


@pytest.mark.parametrize("scaling, message", [
    ("array_first", r"layer 'tf.math.multiply(_\d+)?' \(math.multiply\) computes with a constant array"),
    ("array_second", r"layer 'tf.math.multiply(_\d+)?' \(math.multiply\) computes with a constant array"),
    ("number_over_x", r"computes 2.0 / x, which TF.js layers cannot express"),
])
def test_tf_keras_arithmetic_tf_js_cannot_express_is_refused_by_name(scaling, message, tmp_path):
    import numpy as np
    import tf_keras

    inputs = tf_keras.Input((16, 16, 3))
    x = {"array_first": lambda: np.array([1.0, 2.0, 3.0], "float32") * inputs,
         "array_second": lambda: inputs * np.array([1.0, 2.0, 3.0], "float32"),
         "number_over_x": lambda: 2.0 / inputs}[scaling]()
    x = tf_keras.layers.GlobalAveragePooling2D()(tf_keras.layers.Conv2D(4, 3)(x))
    code, out = _build_saved(tf_keras.Model(inputs, tf_keras.layers.Dense(3, activation="softmax")(x)), tmp_path,
                             "arithmetic.h5")
    assert code == 1 and re.search(message, out), out
    assert not (tmp_path / "s").exists()


def test_resize_rule_is_recorded_everywhere_and_documented(sites):
    for name, rule in (("keras", "squash"), ("crop", "crop")):
        config = json.loads((sites[name] / "config.json").read_text())
        report = json.loads((sites[name] / "report.json").read_text())
        assert config["resize"] == report["resize"] == report["options"]["resize"] == rule
    result = CliRunner().invoke(cli, ["build-site", "--help"])
    assert "--resize [squash|crop]" in result.output and "crop_to_aspect_ratio" in result.output
    bad = CliRunner().invoke(cli, ["build-site", "--resize", "stretch"])
    assert bad.exit_code == 1 and "'stretch' is not one of 'squash', 'crop'" in bad.output


def test_build_options_validate_themselves(tmp_path, fine_tuned_keras):
    """The library's BuildOptions refuse what the CLI refuses, when they are made, naming the option."""
    from builder.build import BuildOptions
    from builder.errors import BrowsernetError, ModelError

    with pytest.raises(BrowsernetError, match="--resize stretch: choose from squash, crop"):
        BuildOptions(model="mobilenet_v1", weights="none", resize="stretch", out=tmp_path / "s")
    with pytest.raises(BrowsernetError, match="--cname is for --target github-pages"):
        BuildOptions(model=str(fine_tuned_keras), cname="example.com")
    with pytest.raises(ModelError, match="mine.keras"):
        BuildOptions(model=str(tmp_path / "mine.keras"))
    assert not (tmp_path / "s").exists()


def _topology_classes(site: Path) -> list[str]:
    artifacts = json.loads((site / "model" / "model.json").read_text())
    return [layer["class_name"] for layer in artifacts["modelTopology"]["config"]["layers"]]


def test_default_builds_are_optimised(sites):
    for name in ("stock", "keras", "h5"):
        report = json.loads((sites[name] / "report.json").read_text())
        opt = report["optimization"]
        assert opt["enabled"] and report["options"]["optimize"] is True
        assert opt["layers_after"] == report["layers"] == len(_topology_classes(sites[name]))
        # MobileNetV2: every BatchNorm follows a convolution; a ReLU6 follows 35 of them (at alpha 1.0), and
        # a ZeroPadding2D that "same" padding does as well comes before each of the 4 stride-2 depthwise ones.
        assert opt["folded_batchnorms"] == 52 and opt["fused_activations"] == 35 and opt["folded_paddings"] == 4
        assert opt["layers_before"] == opt["layers_after"] + 52 + 35 + 4 + opt["dropped_layers"]
        assert not {"BatchNormalization", "ReLU", "Dropout", "ZeroPadding2D"} & set(_topology_classes(sites[name]))
    assert json.loads((sites["keras"] / "report.json").read_text())["optimization"]["dropped_layers"] == 1


def test_no_optimize_writes_the_layers_as_they_are(sequential_keras, tmp_path):
    labels = tmp_path / "l.txt"
    labels.write_text("a\nb\nc\nd\n")
    args = ("--model", sequential_keras, "--labels", labels, "--preprocess", "unit")
    code, out = _run(*args, "--out", tmp_path / "plain", "--no-optimize")
    assert code == 0, out
    assert "10 TF.js layers (not optimized)" in out
    report = json.loads((tmp_path / "plain" / "report.json").read_text())
    assert report["options"]["optimize"] is False
    assert report["optimization"] == {"enabled": False, "layers_before": 10, "layers_after": 10}
    assert _topology_classes(tmp_path / "plain").count("BatchNormalization") == 2

    code, out = _run(*args, "--out", tmp_path / "optimised")
    assert code == 0, out
    assert "10 → 6 TF.js layers (2 BatchNorms folded, 2 activations fused, 0 no-op layers dropped)" in out
    optimised = json.loads((tmp_path / "optimised" / "report.json").read_text())
    assert optimised["model_bytes"] < report["model_bytes"]


def test_a_mixed_precision_model_is_built_and_checked_in_float32(tmp_path):
    """A model saved with Keras's mixed_float16 policy computes in float16, off from float32 by more than
    the page's 1e-4. The site computes in float32, so the build and the reference that `verify` holds the
    page to are the same model computing in float32: not the float16 numbers, which no page reproduces."""
    import numpy as np

    from builder.convert.self_check import sample_images
    from builder.model import dtype_policy
    from builder.model.preprocessing import apply
    from tests import helpers

    exact = helpers.fine_tuned(size=64, classes=3)
    mixed = dtype_policy.recast(exact, "mixed_float16")
    x = apply(sample_images((64, 64)), "mobilenet")
    want = np.asarray(exact(x, training=False))
    assert np.abs(np.asarray(mixed(x, training=False), np.float32) - want).max() > 1e-3  # float16 is off
    path = tmp_path / "mixed.keras"
    mixed.save(path)
    (tmp_path / "l.txt").write_text("a\nb\nc\n")
    code, out = _run("--model", path, "--labels", tmp_path / "l.txt", "--out", tmp_path / "s")
    assert code == 0, out
    assert "saved with mixed precision (mixed_float16)" in out
    reference = json.loads((tmp_path / "s" / "report.json").read_text())["reference"]["probabilities"]
    assert np.abs(np.asarray(reference) - want).max() < 1e-6


def test_a_model_whose_input_takes_any_size_is_built_at_input_size(tmp_path):
    """MobileNetV2(include_top=False) without input_shape, fine-tuned: the site needs one size, given with
    --input-size; the build's reference (what the self-check and `verify` hold the page to) is the saved model's
    output at that size."""
    import numpy as np

    from builder.convert.self_check import sample_images
    from builder.model.preprocessing import apply
    from tests import helpers

    model, _ = helpers.any_size_fine_tuned(64)
    path = tmp_path / "any.keras"
    model.save(path)
    (tmp_path / "l.txt").write_text("a\nb\nc\n")
    code, out = _run("--model", path, "--labels", tmp_path / "l.txt", "--out", tmp_path / "s")
    assert code == 1 and "the input takes images of any size" in out and "--input-size N" in out, out
    assert not (tmp_path / "s").exists()
    code, out = _run("--model", path, "--labels", tmp_path / "l.txt", "--input-size", 64, "--out", tmp_path / "s")
    assert code == 0, out
    report = json.loads((tmp_path / "s" / "report.json").read_text())
    assert report["input_size"] == [64, 64] and report["family"] == "mobilenet_v2"
    want = np.asarray(model(apply(sample_images((64, 64)), "mobilenet"), training=False))
    assert np.abs(np.asarray(report["reference"]["probabilities"]) - want).max() < 1e-6


def _shared_conv():
    from tests.helpers import keras

    inputs = keras.Input((32, 32, 3))
    shared = keras.layers.Conv2D(4, 3, name="shared")
    x = keras.layers.Add()([shared(inputs), shared(keras.layers.RandomFlip("horizontal")(inputs))])
    return keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x)))


def _normalized_features():
    from tests.helpers import keras

    inputs = keras.Input((32, 32, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))
    x = keras.layers.Normalization(mean=[0.1] * 4, variance=[0.5] * 4, name="feature_norm")(x)
    return keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(x))


def _grayscale():
    from tests.helpers import keras

    inputs = keras.Input((32, 32, 1))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))
    return keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(x))


def _output_with_size_1_axes():
    from tests.helpers import keras

    inputs = keras.Input((32, 32, 3))
    x = keras.layers.GlobalAveragePooling2D(keepdims=True)(keras.layers.Conv2D(4, 3)(inputs))
    return keras.Model(inputs, keras.layers.Conv2D(4, 1, activation="softmax")(x))


@pytest.mark.parametrize("make, expected", [
    (_grayscale, r"expected an input of shape \(None, height, width, 3\), found \(None, 32, 32, 1\); the page feeds "
                 r"the model RGB images"),
    (_output_with_size_1_axes, r"expected an output .* found \(None, 1, 1, 4\); end the model in keras.layers.Flatten"),
    (_shared_conv, r"layer 'shared' \(Conv2D\) is called 2 times; .* not supported: save a model that calls each once"),
    (_normalized_features, r"layer 'feature_norm' \(Normalization\): .*images .* only; on a feature vector, fold it "
                           r"into the Dense layer after it"),
])
def test_a_graph_the_page_cannot_run_is_refused_naming_the_model_the_layer_and_what_to_do(make, expected, tmp_path):
    path = tmp_path / "model.keras"
    make().save(path)
    (tmp_path / "labels.txt").write_text("north\neast\nsouth\nwest\n")
    code, out = _run("--model", path, "--labels", tmp_path / "labels.txt", "--out", tmp_path / "s")
    assert code == 1 and out.count("Error:") == 1 and "Traceback" not in out, out
    assert re.search(rf"Error: {re.escape(str(path))}: {expected}", out), out
    assert not (tmp_path / "s").exists()


def _scaled_in_front(first, tmp_path):
    """``first`` (a Keras layer) in front of a small model calibrated for x/127.5 - 1, saved as model.keras,
    with a labels file: (Keras model, model file, labels file)."""
    from tests import helpers

    inner = helpers.sequential(32, classes=4, preprocess="mobilenet")
    inputs = helpers.keras.Input((32, 32, 3))
    model = helpers.keras.Model(inputs, inner(first(inputs)), name="scaled_in_front")
    model.save(tmp_path / "model.keras")
    (tmp_path / "labels.txt").write_text("north\neast\nsouth\nwest\n")
    return model, tmp_path / "model.keras", tmp_path / "labels.txt"


@pytest.mark.parametrize("scaling", ["rescaling", "normalization"])
def test_a_model_that_scales_0_1_pixels_itself_is_fed_0_1_pixels(scaling, tmp_path):
    """Rescaling(2, offset=-1), or a Normalization with a mean of 0.5 and a standard deviation of 0.5: made for
    pixels/255, as a training pipeline that divides by 255 first feeds them. Fed 0..255 pixels, 255 times too
    large, the page would be silently wrong; the build feeds x/255 (--preprocess unit) and says so."""
    import numpy as np

    from builder.convert.self_check import sample_images
    from tests import helpers

    layers = helpers.keras.layers
    first = (layers.Rescaling(2.0, offset=-1.0, name="to_plus_minus_1") if scaling == "rescaling" else
             layers.Normalization(mean=[0.5] * 3, variance=[0.25] * 3, name="standardize"))
    model, path, labels = _scaled_in_front(first, tmp_path)
    code, out = _run("--model", path, "--labels", labels, "--out", tmp_path / "s")
    assert code == 0, out
    assert "made for 0-1 pixels (x/255)" in out
    report = json.loads((tmp_path / "s" / "report.json").read_text())
    assert report["preprocess"] == "unit"
    want = np.asarray(model(sample_images((32, 32)) / 255.0, training=False))
    assert np.abs(np.asarray(report["reference"]["probabilities"]) - want).max() < 1e-6
    assert np.ptp(want, axis=0).max() > 0.05  # the images get different answers


def test_a_scaling_made_for_neither_pixel_range_needs_preprocess(tmp_path):
    """Rescaling(0.4, offset=-1): 0..255 pixels would become -1..101, 0..1 pixels -1..-0.6, -1..1 pixels
    -1.4..-0.6; no reading is safe to guess, so the build asks, and builds with the range given."""
    from tests import helpers

    _, path, labels = _scaled_in_front(helpers.keras.layers.Rescaling(0.4, offset=-1.0, name="unclear"), tmp_path)
    code, out = _run("--model", path, "--labels", labels, "--out", tmp_path / "s")
    assert code == 1 and "the pixel ranges that scaling fits are none" in out and "unit (x/255)" in out, out
    assert out.count("Error:") == 1 and "Traceback" not in out and not (tmp_path / "s").exists()
    code, out = _run("--model", path, "--labels", labels, "--preprocess", "unit", "--out", tmp_path / "s")
    assert code == 0, out
    assert json.loads((tmp_path / "s" / "report.json").read_text())["preprocess"] == "unit"


@pytest.mark.parametrize("error", [
    lambda: OSError(28, "No space left on device", "/data/site/model/group1-shard1of3.bin"),
    lambda: __import__("tensorflow").errors.ResourceExhaustedError(
        None, None, "/data/site/model/group1-shard1of3.bin; No space left on device"),
])
def test_a_full_disk_is_one_line_naming_the_file(error):
    """Python's and TensorFlow's ways of saying the disk is full both become one line that names the file
    (a test cannot fill a real disk: the error is raised where the writer would raise it)."""
    from builder.cli import _run
    from builder.errors import BrowsernetError

    def write():
        raise error()

    with pytest.raises(BrowsernetError) as caught:
        _run(0, False, write)
    assert str(caught.value).startswith("/data/site/model/group1-shard1of3.bin: no space left on the device")
    assert "free some space" in str(caught.value) and "unexpected" not in str(caught.value)


@pytest.mark.parametrize("error, where", [
    (lambda: OSError(27, "File too large", "/data/site/model/group1-shard1of3.bin"),
     "/data/site/model/group1-shard1of3.bin: "),
    (lambda: __import__("tensorflow").errors.OutOfRangeError(
        None, None, "/data/site/model/group1-shard1of3.bin; File too large"), "/data/site/model/group1-shard1of3.bin: "),
    (lambda: OSError("110592 requested and 102400 written"), ""),  # NumPy's tofile, short of space or limit
])
def test_a_file_size_limit_or_short_write_is_one_line_saying_what_to_do(error, where):
    """What a full disk or `ulimit -f` gives as the writers word it (measured: a build under ulimit -f 400 and
    1000): one line with the cause and the fix, not 'unexpected OSError'."""
    from builder.cli import _run
    from builder.errors import BrowsernetError

    def write():
        raise error()

    with pytest.raises(BrowsernetError) as caught:
        _run(0, False, write)
    message = str(caught.value)
    assert message.startswith(where) and "unexpected" not in message
    assert "ulimit -f" in message and "and run it again" in message


def test_keras_warnings_are_shown_only_with_v(capsys):
    """Keras warns in its own terms while reading some models (the structure of their inputs); without -v the
    command's own lines say what matters, and -v shows Keras's too. Other libraries' warnings (Pillow's on a
    photo's EXIF) are one "warning:" line without their source line, and -q leaves them out."""
    import warnings

    from builder.cli import _run

    def read_a_model():
        warnings.warn_explicit("The structure of `inputs` doesn't match the expected structure", UserWarning,
                               "functional.py", 259, module="keras.src.models.functional")
        warnings.warn_explicit("Corrupt EXIF data.  Expecting to read 2 bytes\nbut only got 0.", UserWarning,
                               "TiffImagePlugin.py", 900, module="PIL.TiffImagePlugin")

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        # One line (its line break folded), as Pillow wrote it otherwise.
        for quiet, shown in ((False, ["warning: Corrupt EXIF data.  Expecting to read 2 bytes but only got 0."]),
                             (True, [])):
            _run(0, quiet, read_a_model)
            assert capsys.readouterr().err.splitlines() == shown, quiet
    with warnings.catch_warnings(record=True) as caught:  # -v: every warning, as Python shows them
        warnings.simplefilter("always")
        _run(1, False, read_a_model)
    assert [str(w.message) for w in caught] == ["The structure of `inputs` doesn't match the expected structure",
                                               "Corrupt EXIF data.  Expecting to read 2 bytes\nbut only got 0."]


# What runs after a command ends, standing in for TensorFlow's and JAX's: an exit callback (about a second of
# theirs), then the interpreter's teardown, where an object left in a module is deleted (0.1-0.5 s of theirs,
# after Python has put back the signals' default actions).
_AFTER_THE_COMMAND = {
    "exit callback": "import atexit, time; atexit.register(lambda: (print('exiting', flush=True), time.sleep(30)))\n",
    "teardown": ("import sys, time\n"
                 "class Slow:\n"
                 "    def __init__(self): self.sleep, self.out = time.sleep, sys.stdout\n"
                 "    def __del__(self): self.out.write('exiting\\n'); self.out.flush(); self.sleep(2)\n"
                 "keep = Slow()\n"),
}


@pytest.mark.parametrize("phase", list(_AFTER_THE_COMMAND))
def test_a_ctrl_c_during_the_interpreters_shutdown_keeps_the_commands_exit_status(phase):
    """After a command has ended, Python's exit callbacks run, then it tears its modules down; a Ctrl-C then
    printed a KeyboardInterrupt traceback without -v, or ended the process by the signal (exit 130): a CI script
    saw a good build fail."""
    import signal
    import subprocess
    import sys

    # TensorFlow and JAX are imported during the command, after browsernet's own modules.
    script = ("import sys; sys.argv[0] = 'browsernet'; from builder.cli import main\n" + _AFTER_THE_COMMAND[phase]
              + "main()\n")
    proc = subprocess.Popen([sys.executable, "-c", script, "--version"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith("browsernet, version")
        assert proc.stdout.readline() == "exiting\n"  # the command has ended, and the interpreter shuts down
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "Traceback" not in err and "KeyboardInterrupt" not in err, err


def test_a_command_under_nohup_keeps_running_when_the_terminal_closes():
    """SIGHUP stops a command as Ctrl-C does (clean-up included), unless it was ignored when the command
    started, as nohup does: then it stays ignored."""
    import signal

    from builder.interrupts import Interrupts

    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with Interrupts():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        with Interrupts() as interrupts:
            assert signal.getsignal(signal.SIGHUP) == interrupts._handle
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_a_rebuild_for_firebase_keeps_what_the_user_added_to_firebase_json_and_firebaserc(publish_sites,
                                                                                         sequential_keras, tmp_path):
    """deploy firebase keeps an emulator port and aliases; a rebuild of the site dropped them without a word."""
    site = tmp_path / "site"
    shutil.copytree(publish_sites["firebase"], site)
    config = json.loads((site / "firebase.json").read_text())
    (site / "firebase.json").write_text(json.dumps({**config, "emulators": {"hosting": {"port": 5055}}}))
    (site / ".firebaserc").write_text(json.dumps({"projects": {"default": "demo-browsernet", "staging": "demo-2"}}))
    (tmp_path / "four.txt").write_text("north\neast\nsouth\nwest\n")
    build = ("--model", sequential_keras, "--labels", tmp_path / "four.txt", "--preprocess", "unit",
             "--target", "firebase", "--out", site)
    code, out = _run(*build, "--firebase-project", "demo-browsernet", "--title", "Rebuilt")
    assert code == 0, out
    written = json.loads((site / "firebase.json").read_text())
    assert written["emulators"] == {"hosting": {"port": 5055}} and written["hosting"] == config["hosting"]
    assert json.loads((site / ".firebaserc").read_text()) == {"projects": {"default": "demo-browsernet",
                                                                           "staging": "demo-2"}}
    # An edited hosting section cannot be kept beside browsernet's: the rebuild stops, the site as it was.
    (site / "firebase.json").write_text(json.dumps({**written, "hosting": {**written["hosting"], "cleanUrls": True}}))
    before = _digest(site)
    code, out = _run(*build)
    assert code == 1 and out.strip().splitlines()[-1].startswith(
        f"Error: {site / 'firebase.json'}: its hosting section is not the one browsernet writes (cleanUrls differ), "
        "and a rebuild writes browsernet's, which would lose that; nothing was built."), out
    assert "Building" not in out  # refused before the minutes of converting, not after them
    assert _digest(site) == before
    # A rebuild that names no project does not deploy to the last build's unasked; the user's aliases stay.
    (site / "firebase.json").write_text(json.dumps(written))
    code, out = _run(*build)
    assert code == 0, out
    assert json.loads((site / ".firebaserc").read_text()) == {"projects": {"staging": "demo-2"}}
