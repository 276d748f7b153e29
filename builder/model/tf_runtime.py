"""Import TensorFlow, Keras and tensorflowjs once, without their start-up noise.

TensorFlow's C++ side writes absl warnings straight to file descriptor 2 before any
Python logging is configured, and tensorflow-decision-forests (pulled in by
tensorflowjs) prints a banner on stdout. Neither is actionable for our users, so
unless asked for (-vv) the descriptors are pointed at /dev/null during the import,
and during any block run under :func:`quiet`.
"""

from __future__ import annotations

import logging
import os
import sys
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def _silenced() -> Iterator[None]:
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


def _debugging() -> bool:
    return logging.getLogger().isEnabledFor(logging.DEBUG)


@contextmanager
def quiet() -> Iterator[None]:
    """Run a block with TensorFlow's C++ log lines hidden (grappler's, during a graph
    conversion, go straight to file descriptor 2), unless debug logging (-vv) is on."""
    if _debugging():
        yield
        return
    with _silenced():
        yield


def load(converter: bool = True) -> None:
    """Import the heavy ML stack (idempotent), quietly unless debug logging (-vv) is on.

    ``converter=False`` imports TensorFlow and Keras only, not tensorflowjs (half the start-up
    time), for commands that never write TF.js files (``train``)."""
    if "tensorflowjs.write_weights" in sys.modules or (not converter and "keras" in sys.modules):
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if _debugging() else "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    # tensorflow-decision-forests (imported by tensorflowjs) otherwise prints a banner, or
    # tries IPython when stdout is not a terminal (as under pytest).
    os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")
    with quiet():
        _imports(converter)


def _imports(converter: bool) -> None:
    import tensorflow  # noqa: F401
    import keras  # noqa: F401

    if converter:
        import tensorflowjs.write_weights  # noqa: F401
        import tensorflowjs.quantization  # noqa: F401
