import io
import json

import click
import pytest

from builder import report
from builder.errors import BrowsernetError, LabelsError
from builder.progress import BufferReporter, TerminalReporter


def test_report_round_trip_and_summary(sites):
    data = report.read(sites["keras"])
    assert data is not None and data["generator"] == "browsernet"
    rebuilt = report.BuildReport(**data)
    lines = rebuilt.summary()
    assert any(line.startswith("parity") and "limit 0.0001" in line for line in lines)
    assert any("multiply-adds" in line for line in lines)


def test_read_ignores_foreign_or_broken_reports(tmp_path):
    assert report.read(tmp_path) is None
    (tmp_path / "report.json").write_text("{ nope")
    assert report.read(tmp_path) is None
    (tmp_path / "report.json").write_text(json.dumps({"generator": "mkdocs"}))
    assert report.read(tmp_path) is None


def test_errors_are_one_line_with_exit_code_1():
    err = LabelsError("labels.txt: 3 labels,\nbut model.h5 has 19 outputs")
    assert isinstance(err, click.ClickException) and isinstance(err, BrowsernetError)
    assert err.exit_code == 1
    assert err.format_message() == "labels.txt: 3 labels, but model.h5 has 19 outputs"


def test_reporters():
    buffer = BufferReporter()
    with buffer.step("converting"):
        buffer.note("hello")
    assert buffer.events == [("start", "converting"), ("note", "hello"), ("finish", "converting")]
    stream = io.StringIO()
    terminal = TerminalReporter(stream=stream)
    with terminal.step("converting"):
        pass
    assert stream.getvalue().startswith("  converting ...") and stream.getvalue().endswith("s\n")
    quiet = io.StringIO()
    with TerminalReporter(quiet=True, stream=quiet).step("x"):
        pass
    assert quiet.getvalue() == ""
    with pytest.raises(RuntimeError):
        with terminal.step("failing"):
            raise RuntimeError
    terminal.abort()
    assert stream.getvalue().endswith("failing ... failed\n")


def test_summary_warns_when_parity_proves_little(sites):
    """Random weights give every image the same answer; the report must not oversell its parity figure."""
    random_weights = report.BuildReport(**report.read(sites["v1-none"]))
    assert random_weights.parity["output_spread"] < 1e-3
    assert any("parity figure says little" in line for line in random_weights.summary())
    calibrated = report.BuildReport(**report.read(sites["keras"]))
    assert not any("says little" in line for line in calibrated.summary())


def test_sha256_covers_every_site_file(sites):
    data = report.read(sites["keras"])
    assert set(data["sha256"]) == set(data["files"]) and data["files"]
    for path, digest in data["sha256"].items():
        assert report.sha256_of(sites["keras"] / path) == digest, path


def test_reference_is_keras_on_images_verify_can_recreate(sites, stock_v2_weights):
    """report.json's reference: Keras's probabilities on images rebuilt from the recorded recipe alone."""
    import numpy as np

    from builder.convert.self_check import sample_images
    from tests.helpers import keras, keras_probs

    for name in ("keras", "stock"):
        data = report.read(sites[name])
        ref = data["reference"]
        recipe = ref["images"]
        assert recipe["size"] == data["input_size"] and recipe["generator"] == "sample_images"
        images = sample_images(tuple(recipe["size"]), recipe["count"])
        assert images.min() >= 0 and images.max() <= 255 and np.array_equal(images, np.round(images))
        if name == "keras":
            model = data["sources"]["model"]["path"]  # report.json names it; this machine's record says where
        else:
            model = keras.applications.MobileNetV2(alpha=0.35, input_shape=(*recipe["size"], 3), weights=None)
            model.load_weights(str(stock_v2_weights))
        want = keras_probs(model, images, data["preprocess"])
        got = np.asarray(ref["probabilities"])
        assert got.shape == (recipe["count"], data["classes"])
        # The stock site is quantized (auto): its reference is Keras with the site's dequantized weights.
        limit = 1e-6 if data["quantization"]["mode"] == "none" else data["parity"]["quantization_error"] + 1e-6
        assert np.abs(got - want).max() <= limit, name


def test_load_types_the_report_and_refuses_one_this_version_cannot_read(sites, tmp_path):
    loaded = report.load(sites["keras"])
    raw = report.read(sites["keras"])
    assert isinstance(loaded, report.BuildReport) and loaded.files == raw["files"] and loaded.target == "generic"
    assert report.load(tmp_path) is None  # no report: not a build
    (tmp_path / report.REPORT_FILE).write_text(json.dumps({**raw, "new_field_from_a_later_version": 1}))
    assert report.load(tmp_path).sha256 == raw["sha256"]  # unknown keys are ignored
    old = {k: v for k, v in raw.items() if k != "files"}
    (tmp_path / report.REPORT_FILE).write_text(json.dumps({**old, "version": "0.0.1"}))
    with pytest.raises(BrowsernetError, match=r"written by browsernet 0\.0\.1, which this version cannot read.*rebuild"):
        report.load(tmp_path)
    # An edited report whose fields have the wrong JSON types: said in one line, not "'str' object has no attribute
    # 'items'" from deploy's file check.
    (tmp_path / report.REPORT_FILE).write_text(json.dumps({**raw, "files": "x", "classes": "5", "alpha": None}))
    with pytest.raises(BrowsernetError, match=r"report\.json: classes is a str, files is a str: not what a build "
                                              r"writes \(the file was edited or damaged\); rebuild"):
        report.load(tmp_path)
    for damaged in ("{ nope", ""):  # a damaged report.json is not a missing one (verify, bench, deploy say which)
        (tmp_path / report.REPORT_FILE).write_text(damaged)
        with pytest.raises(BrowsernetError, match=r"report\.json: cannot be read as a build report .*rebuild"):
            report.load(tmp_path)


def test_the_published_report_names_files_without_their_folders():
    """report.json is published: the build machine's paths become names, wherever they are; texts that only
    look like paths (a weight pattern, a URL, a MIME type, a site path, a fraction) are left as they are."""
    data = {"options": {"model": "/home/me/my models/m.keras", "out": "site", "quantize": ["uint8=*/kernel"]},
            "sources": {"model": {"path": "/home/me/my models/m.keras", "sha256": "ab", "from_site": "../m.keras"}},
            "quantization": {"map": "uint8=*/kernel; float16",
                             "auto": {"calibration_source": "the held-out photos of /home/me/photos"}},
            "texts": ["/home/me/my models/m.keras: read", "https://example.com/a/b", "text/html", "js/app.js", "1/2"]}
    published = report.public(data)
    assert published["options"] == {"model": "m.keras", "out": "site", "quantize": ["uint8=*/kernel"]}
    assert published["sources"] == {"model": {"name": "m.keras", "sha256": "ab"}}
    assert published["quantization"] == {"map": "uint8=*/kernel; float16",
                                         "auto": {"calibration_source": "the held-out photos of photos"}}
    assert published["texts"] == ["m.keras: read", "https://example.com/a/b", "text/html", "js/app.js", "1/2"]
