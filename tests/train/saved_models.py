"""What the train tests ask of a saved model.keras: its layers, and its probabilities on photos as the site feeds them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from builder.model import page_input


def keras():
    """Keras, after browsernet's TensorFlow set-up (as the CLI does it)."""
    from builder.model import tf_runtime

    tf_runtime.load(converter=False)
    import keras as loaded

    return loaded


def leaves(model):
    """Every layer but the inputs, nested models opened up."""
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            yield from leaves(layer)
        elif type(layer).__name__ != "InputLayer":
            yield layer


def probabilities(model, folder: Path, files: list[str]) -> np.ndarray:
    """The model's probabilities (N, classes) on ``folder``'s ``files`` as the site feeds them: raw 0..255
    pixels, squashed to its input size."""
    size = tuple(model.input_shape[1:3])
    pixels = np.stack([page_input.resize_to_input(page_input.decode(folder / f), size) for f in files])
    return np.asarray(model.predict(pixels, verbose=0))
