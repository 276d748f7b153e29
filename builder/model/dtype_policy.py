"""Keras dtype policies: find a mixed-precision model, and rebuild a model in one float dtype.

A model trained with mixed precision (Keras's ``mixed_float16`` or ``mixed_bfloat16`` policy) keeps its
variables in float32 but computes in 16 bits. The site computes in float32, so browsernet rebuilds such a
model with a float32 policy (same architecture, same weights) and uses that everywhere, the self-check's
reference included: the page then gives Keras's float32 numbers, not numbers off by 16-bit rounding.
The self-check also uses :func:`recast` for its float64 reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_FLOATS = ("float16", "bfloat16", "float32", "float64")
_POLICY_CLASSES = ("DTypePolicy", "FloatDTypePolicy", "Policy")  # Keras 3, Keras 3.0-3.3, tf-keras


def mixed_precision_policy(model: Any) -> str | None:
    """The name of the first mixed-precision policy among ``model``'s layers (``"mixed_float16"``,
    ``"mixed_bfloat16"``), or None when every layer computes in float32 or wider."""
    for layer in leaf_layers(model):
        policy = getattr(layer, "dtype_policy", None)
        if getattr(policy, "compute_dtype", None) in ("float16", "bfloat16"):
            return str(getattr(policy, "name", policy.compute_dtype))
    return None


def recast(model: Any, dtype: str) -> Any:
    """``model`` rebuilt from its config with every float dtype and dtype policy set to ``dtype``
    (``"float32"``, ``"float64"``, or a policy name such as ``"mixed_float16"``), and its weights
    copied over, cast to the variable dtype (float32 for a mixed-precision policy).

    Raises whatever Keras raises when the model cannot be rebuilt so (e.g. a layer without that dtype).
    """
    variables = "float32" if dtype.startswith("mixed_") else dtype

    def retyped(value: Any) -> Any:
        if isinstance(value, dict):
            # A plain dtype (an InputLayer's) takes the variable dtype; a layer's policy takes ``dtype``.
            return {k: (variables if isinstance(v, str) else dtype) if k == "dtype" and _is_float_dtype(v)
                    else retyped(v) for k, v in value.items()}
        return [retyped(v) for v in value] if isinstance(value, list) else value

    return rebuild(model, retyped(model.get_config()), variables)


def rebuild(model: Any, config: dict, weights_dtype: str | None = None) -> Any:
    """A model of ``model``'s class made from ``config`` (an edited ``model.get_config()``: the same layers
    in the same order), with ``model``'s weights copied in layer by layer (cast to ``weights_dtype`` if given).
    Only Keras's own layers are made: the config was read from a file that :func:`builder.model.zoo.check_safe`
    cleared, or from a model built here."""
    clone = type(model).from_config(config)
    for original, copy in zip(leaf_layers(model), leaf_layers(clone)):
        copy.set_weights([w if weights_dtype is None else np.asarray(w, weights_dtype) for w in original.get_weights()])
    return clone


def leaf_layers(model: Any) -> list[Any]:
    """Every layer of ``model`` in order, nested models opened up, InputLayers left out (so two models built
    from one config give matching lists; ``train --fine-tune N`` counts the top N of them)."""
    out = []
    for layer in getattr(model, "layers", []):
        if hasattr(layer, "layers") and layer.layers:
            out.extend(leaf_layers(layer))
        elif type(layer).__name__ != "InputLayer":
            out.append(layer)
    return out


def _is_float_dtype(value: Any) -> bool:
    if isinstance(value, str):
        return value in _FLOATS or value.startswith("mixed_")
    return isinstance(value, dict) and value.get("class_name") in _POLICY_CLASSES
