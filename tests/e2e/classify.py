"""Classify exact pixels on a browsernet page: what the page-vs-Keras parity tests share."""

from __future__ import annotations

import numpy as np

# Pixels at the model's input size, so the page's resize is the identity and Keras sees the same numbers.
CLASSIFY_PIXELS = """async ([pixels, height, width]) => {
  const rgba = new Uint8ClampedArray(height * width * 4);
  for (let i = 0; i < height * width; i++) {
    rgba.set(pixels.slice(i * 3, i * 3 + 3), i * 4);
    rgba[i * 4 + 3] = 255;
  }
  return await window.browsernet.classify(new ImageData(rgba, width, height), window.browsernet.labels.length);
}"""


def page_probabilities(page, images: np.ndarray) -> np.ndarray:
    """The page's probabilities, (N, classes), for ``images``: uint8 (N, height, width, 3) at its input size.

    ``page`` is a Playwright page on which ``window.browsernet.ready`` has resolved."""
    classes = page.evaluate("() => window.browsernet.labels.length")
    got = np.zeros((len(images), classes), np.float64)
    for i, image in enumerate(images):
        height, width = image.shape[:2]
        for result in page.evaluate(CLASSIFY_PIXELS, [image.reshape(-1).tolist(), height, width]):
            got[i, result["index"]] = result["probability"]
    return got
