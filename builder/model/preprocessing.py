"""Input preprocessing, defined once: the same arithmetic runs in Python (self-check) and in the page.

``mobilenet`` is ``keras.applications.mobilenet*.preprocess_input`` (x/127.5 − 1),
``unit`` is x/255, ``raw`` leaves 0..255 pixels alone.
"""

from __future__ import annotations

import numpy as np

MODES = ("mobilenet", "unit", "raw")


def apply(pixels: np.ndarray, mode: str) -> np.ndarray:
    x = np.asarray(pixels, np.float32)
    if mode == "mobilenet":
        return x / np.float32(127.5) - np.float32(1.0)
    if mode == "unit":
        return x / np.float32(255.0)
    if mode == "raw":
        return x
    raise ValueError(f"unknown preprocessing '{mode}'; choose from {', '.join(MODES)}")
