"""Input preprocessing, defined once: the same arithmetic runs in Python (self-check) and in the page.

``mobilenet`` is ``keras.applications.mobilenet*.preprocess_input`` (x/127.5 − 1),
``unit`` is x/255, ``raw`` leaves 0..255 pixels alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

from builder.errors import ModelError

if TYPE_CHECKING:
    from builder.convert.graph import InputScaling

MODES = ("mobilenet", "unit", "raw")
# What a model's own input scaling takes, by the mode that feeds it those (builder.convert.graph.PIXEL_RANGES).
RANGES = {"raw": "raw 0-255 pixels", "unit": "0-1 pixels (x/255)", "mobilenet": "-1..1 pixels (x/127.5 - 1)"}


def apply(pixels: np.ndarray, mode: str) -> np.ndarray:
    x = np.asarray(pixels, np.float32)
    if mode == "mobilenet":
        return x / np.float32(127.5) - np.float32(1.0)
    if mode == "unit":
        return x / np.float32(255.0)
    if mode == "raw":
        return x
    raise ValueError(f"unknown preprocessing '{mode}'; choose from {', '.join(MODES)}")


def choose(requested: str | None, scaling: InputScaling | None, family: str, where: str,
           note: Callable[[str], None]) -> str:
    """The input scaling to feed the model ``where`` names (build-site's page, train's base): ``requested``
    (``--preprocess``) when given; else, for a model that rescales its own input, the pixel range its scaling
    was made for (``scaling``, :func:`builder.convert.graph.input_scaling`), since scaling them otherwise would
    give silently wrong predictions; else MobileNet's. ``note`` gets the warnings. Raises :class:`ModelError`
    when the model scales its own input but the range it was made for cannot be told, and ``--preprocess``
    does not say it."""
    expects = None if scaling is None else scaling.expects
    if requested is not None:
        if expects is not None and requested != expects:
            note(f"warning: the model rescales its own input, made for {RANGES[expects]}, and --preprocess "
                 f"{requested} feeds it something else; use --preprocess {expects} unless that is intended")
        return requested
    if scaling is not None:
        if expects is None:
            raise ModelError(f"{where}: {scaling.reason}, so which pixels it was made for cannot be told (feeding "
                             "the wrong ones gives wrong answers silently); give the scaling it was trained with: "
                             "--preprocess raw (0-255), unit (x/255) or mobilenet (x/127.5 - 1)")
        return expects
    if family == "custom":
        note(f"{where}: no --preprocess given; assuming MobileNet preprocessing (x/127.5 - 1)")
    return "mobilenet"
