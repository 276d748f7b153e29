from pathlib import Path

import pytest

from builder.site import staging as output
from builder.errors import OutputDirError


def test_targets_that_may_be_written(tmp_path):
    output.check_target(tmp_path / "new", force=False)
    (tmp_path / "empty").mkdir()
    output.check_target(tmp_path / "empty", force=False)
    prev = tmp_path / "prev"
    prev.mkdir()
    (prev / "report.json").write_text('{"generator": "browsernet"}')
    output.check_target(prev, force=False)


def test_foreign_targets_are_refused(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "report.json").write_text('{"generator": "someone else"}')
    with pytest.raises(OutputDirError, match="not a browsernet build"):
        output.check_target(foreign, force=False)
    output.check_target(foreign, force=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputDirError, match="not a directory"):
        output.check_target(tmp_path / "file", force=True)


def test_staging_is_removed_on_failure_and_swap_replaces(tmp_path):
    out = tmp_path / "site"
    with pytest.raises(RuntimeError):
        with output.staging(out) as staged:
            (staged / "index.html").write_text("half")
            raise RuntimeError("build failed")
    assert list(tmp_path.iterdir()) == []
    for generation in ("one", "two"):
        with output.staging(out) as staged:
            (staged / "report.json").write_text('{"generator": "browsernet"}')
            (staged / "gen").write_text(generation)
            output.swap(staged, out, force=False)
    assert (out / "gen").read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_never_replaces_the_working_directory_or_home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for target in (tmp_path, tmp_path.parent, Path.home()):
        with pytest.raises(OutputDirError, match="refusing to replace a directory that contains"):
            output.check_target(target, force=True)
    output.check_target(tmp_path / "site", force=True)
