"""Ctrl-C, SIGTERM and SIGHUP: each command stops for them, and no output is replaced after one.

The handler raises ``KeyboardInterrupt`` in whatever Python code runs at that moment, and some code
swallows it: CPython ignores an exception raised inside a garbage-collector callback (JAX, which
tensorflowjs imports, registers one), printing "Exception ignored in ...". The signal is therefore also
remembered, and :func:`raise_if_seen` stops the command at the points that publish its result (the
rename of a finished output into place, a push): an interrupted command never replaces the previous
output, whatever swallowed the ``KeyboardInterrupt``.
"""

from __future__ import annotations

import atexit
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
# A stop signal held off while an output was moved into place (held()): the output is in place, so the command
# that moved it is not "Aborted!" for it, but no later step publishes anything (train --site's build, serve).
_late = threading.Event()


def seen() -> bool:
    """Whether a stop signal arrived during the current command."""
    return _seen.is_set() or _late.is_set()


def raise_if_seen() -> None:
    """Raise ``KeyboardInterrupt`` when a stop signal arrived, even if the one raised then was swallowed (or held
    off by :func:`held`): before a step that publishes something."""
    if seen():
        raise KeyboardInterrupt


def raise_if_cut_short() -> None:
    """Raise ``KeyboardInterrupt`` when a stop signal arrived that nothing held off: at a command's end, whose
    result it would otherwise report as complete (one held off by :func:`held` came after the output was in
    place, and does not make that output's command a failure)."""
    if _seen.is_set():
        raise KeyboardInterrupt


def note_late() -> None:
    """A stop signal stopped a clean-up after the output was in place (removing the previous one): as
    :func:`held`'s, it stops every later step, not the command that put the output in place."""
    _late.set()


@contextmanager
def held() -> Iterator[None]:
    """Hold the stop signals off while a step that must not stop half-way runs: the two renames that put a
    finished output in place of the previous one (a Ctrl-C between them left no output at all, one after them a
    new output reported as "Aborted!"). A signal that arrives meanwhile takes effect after the step: under the
    CLI (:class:`Interrupts`), every later publishing step stops (:func:`raise_if_seen`), though the command that
    moved the output in place ends as finished; elsewhere it is raised again, to its own handler. On the main
    thread only (elsewhere, signals reach no Python code)."""
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
            log.warning("the stop signal came while the new output was moved into place, so that finished first")
            if previous.get(arrived[0]) == Interrupts._handle:
                _late.set()
            else:  # no command's handler: what the signal does on its own (KeyboardInterrupt, or the end)
                signal.raise_signal(arrived[0])


_exiting = threading.Event()  # exit_on_signal() was called: the command is over, the interpreter shuts down


def _ignore_during_teardown() -> None:
    """The last exit callback (registered when this module is imported, before TensorFlow's and JAX's, and
    callbacks run last registered first): after it, Python puts back the default action of every signal it
    handles, which for SIGINT ends the process by the signal (exit 130), while it collects garbage and tears its
    modules down (0.1-0.5 s with TensorFlow loaded). An ignored signal stays ignored: the command is over, and
    its exit status is the one the process ends with. Only Ctrl-C: SIGTERM (kill, timeout, a service manager)
    still ends a teardown that hangs."""
    if _exiting.is_set() and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


atexit.register(_ignore_during_teardown)


def exit_on_signal(code: int) -> None:
    """From now on, a stop signal ends the process at once with ``code``: for the interpreter's shutdown, after
    the command ended with that exit status (JAX's and TensorFlow's exit callbacks take about a second, and a
    Ctrl-C then printed a traceback, or ended the process by the signal, exit 130). Once the exit callbacks have
    run, Ctrl-C is ignored (:func:`_ignore_during_teardown`)."""
    _exiting.set()

    def leave(signum: int, frame: Any) -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # closed, or a write to it under way ("reentrant call"): leave anyway
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
        _late.clear()
        self._previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in SIGNALS
                              if signal.getsignal(sig) is not signal.SIG_IGN}
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        _seen.clear()  # the command is over: a later one (a test calling the CLI again) starts afresh
        _late.clear()

    @staticmethod
    def _handle(signum: int, frame: Any) -> None:
        _seen.set()
        signal.default_int_handler(signum, frame)
