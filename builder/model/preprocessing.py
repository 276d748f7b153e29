"""Input preprocessing, defined once: the same arithmetic runs in Python (self-check) and in the page.

``mobilenet`` is ``keras.applications.mobilenet*.preprocess_input`` (x/127.5 − 1),
``unit`` is x/255, ``raw`` leaves 0..255 pixels alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

from builder.errors import ModelError, OptionError

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
           note: Callable[[str], None], scaled_twice: bool | None = None) -> str:
    """The input scaling to feed the model ``where`` names (build-site's page, train's base): ``requested``
    (``--preprocess``) when given; else, for a model that rescales its own input, the pixel range its scaling
    was made for (``scaling``, :func:`builder.convert.graph.input_scaling`), since scaling them otherwise would
    give silently wrong predictions; else MobileNet's. ``note`` gets the notes.

    Raises :class:`ModelError` when the model scales its own input but the range it was made for cannot be
    told, and ``--preprocess`` does not say it. For a build (``scaled_twice`` not None: a page feeds the model),
    raises :class:`OptionError` when ``--preprocess`` asks for another range than the model's own scaling was
    made for (the pixels would be scaled twice, every answer wrong) unless ``scaled_twice`` (``--scaled-twice``:
    the model was trained so), and when ``scaled_twice`` has nothing to apply to. Where ``scaled_twice`` is None
    (train, which puts the scaling it trains with inside the model it saves, so its pixels stay consistent),
    such a ``--preprocess`` gets a warning."""
    expects = None if scaling is None else scaling.expects
    if scaled_twice and (expects is None or requested == expects):
        raise OptionError(f"--scaled-twice: {where} " + ("does not rescale its own input" if expects is None else
                          f"rescales its own input for {RANGES[expects]}, which --preprocess {requested} feeds it")
                          + ", so nothing is scaled twice; leave --scaled-twice out")
    if requested is not None:
        if expects is not None and requested != expects:
            if scaled_twice is None:
                note(f"warning: the base rescales its own input, made for {RANGES[expects]}, and --preprocess "
                     f"{requested} feeds it something else; use --preprocess {expects} unless that is intended")
            elif not scaled_twice:
                raise OptionError(f"--preprocess {requested}: {where} rescales its own input, made for "
                                  f"{RANGES[expects]}, so {requested}'s scaling first would scale them twice and "
                                  f"give wrong answers without a sign; leave --preprocess out (or give "
                                  f"--preprocess {expects}), or add --scaled-twice if the model was trained on "
                                  "pixels scaled so before its own scaling")
            else:
                note(f"note: --scaled-twice: the page scales the pixels by --preprocess {requested}, and the model "
                     f"then by its own scaling, made for {RANGES[expects]}, as it was trained")
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
