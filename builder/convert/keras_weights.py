"""Written weights back into Keras: the reference that the self-check and ``--quantize auto`` measure against.

A written weight is not always one Keras variable: a folded kernel goes into the convolution's kernel, a folded
bias into the BatchNorm's moving mean (negated), and the rest of that BatchNorm is pinned to an identity, which
makes the original Keras layers compute exactly the rewritten layer (:mod:`builder.convert.inference_rewrites`;
each :class:`~builder.convert.topology.Weight`'s :class:`~builder.convert.graph.Origin` gives its ``layer``, ``index``,
``sign`` and ``pinned`` values).
Weights that no Keras layer holds (``layer`` None: the exact per-channel affine steps the lowering adds for
``Normalization``) are left alone: the Keras layer they stand for computes the same with its own weights.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

from builder.convert.topology import Weight

ValueOf = Callable[[Weight], np.ndarray]


class KerasWeights:
    """The Keras layers ``weights`` came from, with their original values kept for :meth:`restore`.

    :meth:`load` sets every layer to hold the written weights as ``value_of`` gives them (what the browser
    computes with, e.g. quantized then dequantized); :meth:`load_layers` updates only some layers, for a
    search that changes a few weights at a time. The model is left as it was by :meth:`restore`.
    """

    def __init__(self, weights: Iterable[Weight]) -> None:
        self.weights = [w for w in weights if w.origin.layer is not None]
        self.layers: dict[int, Any] = {}
        for w in self.weights:
            self.layers.setdefault(id(w.origin.layer), w.origin.layer)
            for layer, _, _ in w.origin.pinned:
                self.layers.setdefault(id(layer), layer)
        self._originals = {key: layer.get_weights() for key, layer in self.layers.items()}
        # The original values with every pinned value in place: what each layer holds under any value_of.
        self._pinned = {key: list(values) for key, values in self._originals.items()}
        for w in self.weights:
            for layer, index, value in w.origin.pinned:
                _put(self._pinned[id(layer)], index, value)

    def layer_of(self, w: Weight) -> int:
        """The key of the Keras layer holding ``w`` (weights of one layer change together)."""
        return id(w.origin.layer)

    def load(self, value_of: ValueOf) -> None:
        """Every layer holds the written weights, each as ``value_of(weight)`` (float32, the written shape)."""
        self.load_layers(self.layers, value_of)

    def load_layers(self, keys: Iterable[int], value_of: ValueOf) -> None:
        """The layers with these keys (:meth:`layer_of`) hold their written weights as ``value_of`` gives them."""
        keys = set(keys) & self.layers.keys()  # a weight no Keras layer holds has nothing to load
        values = {key: list(self._pinned[key]) for key in keys}
        for w in self.weights:
            if id(w.origin.layer) in keys:
                _put(values[id(w.origin.layer)], w.origin.index, w.origin.sign * np.asarray(value_of(w), np.float32))
        for key in keys:
            self.layers[key].set_weights(values[key])

    def restore(self) -> None:
        """Every layer holds its original values again."""
        for key, layer in self.layers.items():
            layer.set_weights(self._originals[key])


def _put(values: list[np.ndarray], index: int, value: np.ndarray) -> None:
    values[index] = np.asarray(value, np.float32).reshape(values[index].shape)
