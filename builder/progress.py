"""The reporter seam: build code announces steps; the CLI decides how they look.

:class:`Reporter` is silent (library use and tests that do not care);
:class:`BufferReporter` records events for tests; the CLI passes a
:class:`TerminalReporter`.
"""

from __future__ import annotations

import logging
import sys
import time
from contextlib import contextmanager
from typing import Iterator, TextIO


class Reporter:
    """Receives progress events. The base class ignores them."""

    def start(self, step: str) -> None:
        pass

    def finish(self, step: str, seconds: float) -> None:
        pass

    def note(self, message: str) -> None:
        pass

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.start(name)
        t0 = time.perf_counter()
        yield
        self.finish(name, time.perf_counter() - t0)


class BufferReporter(Reporter):
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def start(self, step: str) -> None:
        self.events.append(("start", step))

    def finish(self, step: str, seconds: float) -> None:
        self.events.append(("finish", step))

    def note(self, message: str) -> None:
        self.events.append(("note", message))


class TerminalReporter(Reporter):
    """One line per step: ``  converting model ... 2.3s``; quiet mode prints nothing."""

    def __init__(self, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self._open = False
        # A warning logged inside a step (the CLI logs to stderr) starts on its own line, not after "... ".
        for handler in logging.getLogger().handlers:
            handler.addFilter(self._end_line)

    def _end_line(self, record: logging.LogRecord | None = None) -> bool:
        """End a step line left open, so that what comes next starts on its own line; a logging filter
        that lets every record through."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False
        return True

    def start(self, step: str) -> None:
        if not self.quiet:
            self.stream.write(f"  {step} ...")
            self.stream.flush()
            self._open = True

    def finish(self, step: str, seconds: float) -> None:
        if not self.quiet:
            # After a note or a warning inside the step, its time goes on a line that names it again.
            self.stream.write(f" {seconds:.1f}s\n" if self._open else f"  {step} ... {seconds:.1f}s\n")
            self.stream.flush()
            self._open = False

    def note(self, message: str) -> None:
        if not self.quiet:
            self._end_line()  # a note inside a step starts on its own line
            self.stream.write(f"  {message}\n")
            self.stream.flush()

    def abort(self) -> None:
        """End a step line left open by a failure, so the error starts on a fresh line."""
        if self._open:
            self.stream.write(" failed\n")
            self._open = False
