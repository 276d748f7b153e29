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
