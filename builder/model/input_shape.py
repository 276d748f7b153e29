"""A model whose input takes images of any size, fixed to the one size the site resizes every image to.

Keras builds ``MobileNetV2(include_top=False)`` without ``input_shape`` with an input of shape
(None, None, None, 3), and a classifier fine-tuned on it keeps that. Its weights do not depend on the image
size, but the page (and the converter, which reads every layer's output shape) needs one: ``--input-size N``
rebuilds the model from its config with (None, N, N, 3) as its input, nested models included, and the
same weights.
"""

from __future__ import annotations

from typing import Any

from builder.model import dtype_policy

# Where a Keras config records an input's shape: InputLayer's batch_shape (Keras 3) or batch_input_shape
# (Keras 2), and a model's or layer's build shape.
_SHAPE_KEYS = ("batch_shape", "batch_input_shape", "input_shape", "build_input_shape")


def is_free(shape: tuple) -> bool:
    """Whether ``shape`` is an image input with no fixed size: (None, None, None, 3)."""
    return len(shape) == 4 and shape[1] is None and shape[2] is None and shape[3] == 3


def fixed(model: Any, size: int | tuple[int, int]) -> Any:
    """``model`` rebuilt with every input of shape (None, None, None, 3) in it, its own or a nested model's, as
    (None, height, width, 3), and the same weights: the same function on images of that size. ``size``: N for
    N x N, or (height, width). Raises what Keras raises when the model cannot be rebuilt from its config."""
    height, width = (size, size) if isinstance(size, int) else size

    def resized(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: [None, height, width, 3] if k in _SHAPE_KEYS and _is_free_list(v) else resized(v)
                    for k, v in value.items()}
        return [resized(v) for v in value] if isinstance(value, list) else value

    return dtype_policy.rebuild(model, resized(model.get_config()))


def has_free_inner_shapes(model: Any) -> bool:
    """Whether a layer of ``model`` (nested models opened up) has an image output of no fixed size: a base
    built without ``input_shape`` and called on a fixed-size input keeps its own (None, None) shapes, which
    are what the converter reads."""
    for layer in dtype_policy.leaf_layers(model):
        try:
            shape = tuple(layer.output.shape)
        except (AttributeError, ValueError):  # a layer called more than once has no single output
            continue
        if len(shape) == 4 and (shape[1] is None or shape[2] is None):
            return True
    return False


def _is_free_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and is_free(tuple(value))
