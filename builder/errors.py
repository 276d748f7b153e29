"""Domain errors. Each one is a single line the CLI prints as-is, with exit code 1."""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterator

import click


# Line breaks (and tabs) with the whitespace around them: every boundary str.splitlines() knows.
_BREAKS = re.compile(r"\s*[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]\s*")


def one_line(text: object) -> str:
    """``text`` on one line: each line break (and tab), with the whitespace around it, becomes one space. Runs of
    plain spaces stay: they may be part of a name the line quotes ('hoofed  mammals')."""
    return _BREAKS.sub(" ", str(text)).strip()


def named(items: list[str], most: int = 3) -> str:
    """The first ``most`` of ``items``, comma-separated, and how many more there are: ``"a, b, c and 2 more"``."""
    return ", ".join(items[:most]) + (f" and {len(items) - most} more" if len(items) > most else "")


class BrowsernetError(click.ClickException):
    """Base class: a user-facing failure with a one-line message."""

    exit_code = 1

    def format_message(self) -> str:
        # One line, always: multi-line causes (TF, h5py) are folded, with the spaces around each break. Runs of
        # plain spaces stay: they may be part of a name the line quotes ('hoofed  mammals').
        return one_line(self.message)

    def show(self, file=None) -> None:  # noqa: ANN001 - click's signature
        click.echo(f"Error: {self.format_message()}", file=file, err=True)


class OptionError(BrowsernetError):
    """An option's value out of its range, or options that contradict each other: the CLI adds a pointer to the
    command's ``--help``, as for the usage errors click finds."""


class ModelError(BrowsernetError):
    """The model could not be read, built or converted."""


class UnsupportedLayerError(ModelError):
    """A layer (or layer option) that TF.js layers cannot run."""


@contextmanager
def naming_model(where: str) -> Iterator[None]:
    """A :class:`ModelError` raised inside names the model first (``where``: its file or stock name), as the
    errors raised where the model's name is known do; the reading of a graph knows only its layers."""
    try:
        yield
    except ModelError as e:
        if str(e.message).startswith(f"{where}:"):
            raise
        raise type(e)(f"{where}: {e.message}") from e


class LabelsError(BrowsernetError):
    """Labels file unreadable or inconsistent with the model."""


class WeightsError(BrowsernetError):
    """Stock weights could not be obtained."""


class ParityError(BrowsernetError):
    """The converted model does not reproduce Keras's numbers."""


class RuntimeMissingError(BrowsernetError):
    """The pinned TF.js runtime (node_modules) or Node.js is missing."""


class OutputDirError(BrowsernetError):
    """The output directory cannot be (over)written safely."""


class ServeError(BrowsernetError):
    """The preview server could not start."""


class QuantizeError(OptionError):
    """A --quantize option that cannot be applied."""


class UnmatchedPatternError(QuantizeError):
    """A ``--quantize DTYPE=PATTERN`` whose ``pattern`` matches no weight name."""

    def __init__(self, message: str, pattern: str) -> None:
        super().__init__(message)
        self.pattern = pattern


class DeployError(BrowsernetError):
    """The site cannot be published (missing, stale, too large) or the host/git refused it."""


class CalibrationError(BrowsernetError):
    """The calibration images for --quantize auto are missing, unreadable or too few."""


class DatasetError(BrowsernetError):
    """The training photos cannot be used: a missing folder, too few classes or images, a broken image."""


class TrainError(BrowsernetError):
    """Training options that cannot be applied, or training that failed."""


class VerifyError(BrowsernetError):
    """A site cannot be verified at all: no such folder, no report.json at the URL, no browser."""
