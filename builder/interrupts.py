"""Ctrl-C, SIGTERM and SIGHUP: each command stops for them, and no output is replaced after one.

The handler raises ``KeyboardInterrupt`` in whatever Python code runs at that moment, and some code
swallows it: CPython ignores an exception raised inside a garbage-collector callback (JAX, which
tensorflowjs imports, registers one), printing "Exception ignored in ...". The signal is therefore also
remembered, and :func:`raise_if_seen` stops the command at the points that publish its result (the
rename of a finished output into place, a push): an interrupted command never replaces the previous
output, whatever swallowed the ``KeyboardInterrupt``.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

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
