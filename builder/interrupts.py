"""Ctrl-C, SIGTERM and SIGHUP: each command stops for them, and no output is replaced after one.

The handler raises ``KeyboardInterrupt`` in whatever Python code runs at that moment, and some code
swallows it: CPython ignores an exception raised inside a garbage-collector callback (JAX, which
tensorflowjs imports, registers one), printing "Exception ignored in ...". The signal is therefore also
remembered, and :func:`raise_if_seen` stops the command at the points that publish its result (the
rename of a finished output into place, a push): an interrupted command never replaces the previous
output, whatever swallowed the ``KeyboardInterrupt``.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Any, Iterator

log = logging.getLogger(__name__)

# SIGTERM (kill, timeout, a CI job cancelled) and SIGHUP (the terminal closed, an ssh session dropped) stop
# the command as Ctrl-C does: the same clean-up runs, so no half-written output or staging folder is left
# behind. A signal already ignored (nohup ignores SIGHUP) stays ignored.
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

_seen = threading.Event()


def seen() -> bool:
    """Whether a stop signal arrived during the current command."""
    return _seen.is_set()


def raise_if_seen() -> None:
    """Raise ``KeyboardInterrupt`` when a stop signal arrived, even if the one raised then was swallowed."""
    if _seen.is_set():
        raise KeyboardInterrupt


@contextmanager
def held() -> Iterator[None]:
    """Hold the stop signals off while a step that must not stop half-way runs: the renames that put a finished
    output in place of the previous one, and the removal of the previous one. A signal that arrives meanwhile
    does not cut the step short (a Ctrl-C between the two renames left no output at all, one after them a new
    output reported as "Aborted!" and the old one half-deleted beside it); the step is the command's last, so the
    command then ends as it would have. On the main thread only (elsewhere, signals reach no Python code)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: arrived.append(signum)) for sig in SIGNALS
                if signal.getsignal(sig) is not signal.SIG_IGN}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if arrived:
            log.warning("the stop signal came while the new output was moved into place, so the command finished")


def exit_on_signal(code: int) -> None:
    """From now on, a stop signal ends the process at once with ``code``: for the interpreter's shutdown, after
    the command ended with that exit status (JAX's and TensorFlow's exit callbacks take about a second, and a
    Ctrl-C then printed a traceback, or ended the process by the signal, exit 130)."""

    def leave(signum: int, frame: Any) -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)

    if threading.current_thread() is threading.main_thread():
        for sig in SIGNALS:
            if signal.getsignal(sig) is not signal.SIG_IGN:
                signal.signal(sig, leave)


def handled() -> None:
    """The stop signal was the command's normal end (``serve`` runs until Ctrl-C): it is not a failure."""
    _seen.clear()


class Interrupts:
    """Handle the stop signals while a command runs (on the main thread; elsewhere nothing is installed).

    A terminal's Ctrl-C reaches the whole process group: Chromium and Playwright's driver stop too, and
    the failure that reaches Python first may be theirs ("Target page, context or browser has been
    closed") rather than the KeyboardInterrupt: :func:`seen` tells."""

    def __enter__(self) -> "Interrupts":
        _seen.clear()
        self._previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in SIGNALS
                              if signal.getsignal(sig) is not signal.SIG_IGN}
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        _seen.clear()  # the command is over: a later one (a test calling the CLI again) starts afresh

    @staticmethod
    def _handle(signum: int, frame: Any) -> None:
        _seen.set()
        signal.default_int_handler(signum, frame)
