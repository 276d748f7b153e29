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
            (staged / "report.json").write_text('{"generator": "browsernet", "files": {"gen": 3}}')
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


def test_a_previous_output_holding_files_its_run_did_not_write_is_not_replaced(tmp_path):
    """A rebuild replaces the folder whole: a .git/ made in the site (to push it elsewhere) or notes added
    to it would be deleted without a word. Only --force replaces such a folder."""
    prev = tmp_path / "site"
    (prev / ".git").mkdir(parents=True)
    (prev / "report.json").write_text('{"generator": "browsernet", "files": {"index.html": 5}}')
    (prev / "index.html").write_text("built")
    (prev / "index.html.br").write_bytes(b"copy")  # the build's pre-compressed copy
    (prev / ".nojekyll").write_text("")  # a host's file, which deploy adds
    output.check_target(prev, force=False)
    (prev / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (prev / "NOTES.md").write_text("mine")
    with pytest.raises(OutputDirError, match=r"site: holds \.git/HEAD, NOTES\.md, which the previous browsernet "
                                             r"build did not write; .* move them out, or pass --force"):
        output.check_target(prev, force=False)
    output.check_target(prev, force=True)


def test_a_previous_training_output_holding_other_files_is_not_replaced(tmp_path):
    from builder.train import report as records

    prev = tmp_path / "trained"
    (prev / "splits").mkdir(parents=True)
    (prev / "train-report.json").write_text('{"generator": "browsernet train"}')
    for name in ("model.keras", "labels.txt", "training-curves.png", "confusion-matrix.png", "splits/test.txt"):
        (prev / name).write_text("written by train")
    kind = "browsernet train output"
    output.check_target(prev, False, records.foreign_to_output, kind)
    (prev / "best_model_backup.keras").write_text("mine")
    with pytest.raises(OutputDirError, match="holds best_model_backup.keras, which the previous browsernet train "
                                             "output did not write"):
        output.check_target(prev, False, records.foreign_to_output, kind)


def test_a_build_killed_outright_has_its_staging_folder_removed_by_the_next(tmp_path):
    """SIGKILL leaves no chance to clean up; the next build beside it removes what a dead process left,
    and never what a running one is writing, nor a folder of the user's that looks alike."""
    import os
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = tmp_path / f".site.building-{int(gone.stdout)}-browsernet-abc123_z"
    old = tmp_path / f".site.old-{int(gone.stdout)}-browsernet-abc123_z"
    running = tmp_path / f".site.building-{os.getpid()}-browsernet-def456_z"
    # The user's, named after a year (no process left them), one ending in 8 letters as tempfile's names do.
    backups = [tmp_path / ".site.old-2024-backup", tmp_path / ".site.old-2024-original"]
    (tmp_path / "site").mkdir()  # a previous output on its way out is only swept beside one
    for folder in (dead, old, running, *backups):
        (folder / "model").mkdir(parents=True)
    with output.staging(tmp_path / "site") as staged:
        assert staged.name.startswith(f".site.building-{os.getpid()}-browsernet-")
    assert not dead.exists() and not old.exists() and running.is_dir() and all(b.is_dir() for b in backups)
