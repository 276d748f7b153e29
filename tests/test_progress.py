"""What the CLI's step lines look like when something is said inside a step."""

from __future__ import annotations

import io
import logging

from builder.progress import TerminalReporter


def test_a_warning_or_note_inside_a_step_starts_on_its_own_line_and_the_step_is_timed_after_it():
    stream = io.StringIO()
    root = logging.getLogger()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("warning: %(message)s"))
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.WARNING)  # as the CLI sets it (an earlier CLI run in this process may have left -q's)
    try:
        reporter = TerminalReporter(stream=stream)
        with reporter.step("calibration images"):
            logging.getLogger("builder.convert.calibration").warning("skipped 2 file(s) that are not images")
        with reporter.step("rendering the site"):
            pass
        with reporter.step("self-check"):
            reporter.note("a note")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "  calibration images ..."
    assert lines[1] == "warning: skipped 2 file(s) that are not images"
    assert lines[2].startswith("  calibration images ... ") and lines[2].endswith("s")
    assert lines[3].startswith("  rendering the site ... ") and lines[3].endswith("s")
    assert lines[4:6] == ["  self-check ...", "  a note"] and lines[6].startswith("  self-check ... ")
    assert len(lines) == 7
