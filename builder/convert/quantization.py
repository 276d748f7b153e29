"""Pure quantization choices: parse ``--quantize`` options and map weight names to dtypes.

``--quantize uint8`` quantizes every weight; ``--quantize float16=*/kernel`` only the
matching ones (``fnmatch`` patterns over TF.js weight names such as ``Conv1/kernel``);
options combine, with at most one catch-all. This mirrors tensorflowjs's own
``quantization_dtype_map`` so the written files are exactly what its loader expects.
``--quantize auto`` is recognised here (:func:`is_auto`); the search itself lives in
:mod:`builder.autoquant`, which hands back a per-weight map (:func:`from_dtypes`).
"""

from __future__ import annotations

import fnmatch
import glob
from typing import Iterable, Sequence

import numpy as np

from builder.errors import QuantizeError, UnmatchedPatternError

DTYPES = ("float16", "uint16", "uint8")
AUTO = "auto"
BYTES = {"float32": 4, "float16": 2, "uint16": 2, "uint8": 1}  # stored bytes per value
_NUMPY = {"float16": np.float16, "uint16": np.uint16, "uint8": np.uint8}

QuantizeMap = dict[str, "list[str] | bool"]


def is_auto(specs: Sequence[str]) -> bool:
    """True for ``--quantize auto``, which must then be the only ``--quantize``."""
    if AUTO not in (s.strip() for s in specs):
        return False
    if len(specs) > 1:
        raise QuantizeError(f"--quantize {AUTO} chooses every weight's dtype, so it cannot be combined with "
                            f"other --quantize options (got {', '.join(specs)})")
    return True


def parse(specs: Sequence[str]) -> QuantizeMap:
    """``["uint8=*/kernel,dense*", "float16"]`` → ``{"uint8": ["*/kernel", "dense*"], "float16": True}``."""
    qmap: QuantizeMap = {}
    for spec in specs:
        dtype, _, patterns = spec.partition("=")
        dtype = dtype.strip()
        if dtype not in DTYPES:
            raise QuantizeError(f"--quantize {spec!r}: unknown dtype '{dtype}'; choose from {', '.join(DTYPES)} "
                                f"(or {AUTO}, or none for float32)")
        if not _:
            if any(v is True for v in qmap.values()):
                raise QuantizeError(f"--quantize {spec!r}: only one dtype may apply to all weights")
            if dtype in qmap:
                raise QuantizeError(f"--quantize {spec!r}: '{dtype}' given twice")
            qmap[dtype] = True
            continue
        names = [p.strip() for p in patterns.split(",") if p.strip()]
        if not names:
            raise QuantizeError(f"--quantize {spec!r}: no weight patterns after '='")
        existing = qmap.get(dtype)
        if existing is True:
            raise QuantizeError(f"--quantize {spec!r}: '{dtype}' already applies to all weights")
        qmap[dtype] = [*(existing or []), *names]
    return qmap


def assign(names: Iterable[str], qmap: QuantizeMap) -> dict[str, str]:
    """Map each weight name to the dtype it is stored as (names absent stay float32)."""
    names = list(names)
    chosen: dict[str, str] = {}
    fallthrough = None
    for dtype, patterns in qmap.items():
        if patterns is True:
            fallthrough = dtype
            continue
        for pattern in patterns:
            matches = fnmatch.filter(names, pattern)
            if not matches:
                raise UnmatchedPatternError(f"--quantize {dtype}={pattern}: matches no weight (names look like "
                                            f"'{names[0] if names else 'layer/kernel'}')", pattern)
            for name in matches:
                if chosen.get(name, dtype) != dtype:
                    raise QuantizeError(f"weight '{name}' matches both {chosen[name]} and {dtype}")
                chosen[name] = dtype
    if fallthrough:
        for name in names:
            chosen.setdefault(name, fallthrough)
    return chosen


def dtype_of(name: str, qmap: QuantizeMap) -> str | None:
    """The dtype ``name`` would be stored as under ``qmap`` (None: float32); unlike :func:`assign`, never raises."""
    for dtype, patterns in qmap.items():
        if patterns is not True and any(fnmatch.filter([name], p) for p in patterns):
            return dtype
    return next((dtype for dtype, patterns in qmap.items() if patterns is True), None)


def describe(qmap: QuantizeMap) -> str:
    """Short human form: ``none``, ``uint8``, ``float16=*/kernel; uint8``."""
    if not qmap:
        return "none"
    parts = [d if p is True else f"{d}={','.join(p)}" for d, p in qmap.items()]
    return "; ".join(parts)


def roundtrip(data: np.ndarray, dtype: str) -> np.ndarray:
    """What the browser reconstructs from ``data`` stored as ``dtype`` (the self-check's reference)."""
    from tensorflowjs import quantization

    quantized, meta = quantization.quantize_weights(np.asarray(data, np.float32), _NUMPY[dtype])
    return np.asarray(quantization.dequantize_weights(quantized, meta), np.float32)


def channel_scaled(data: np.ndarray, axes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """``(data / scales, scales)``: each output channel's largest magnitude (1 for an all-zero
    channel), reduced over ``axes`` and kept as dims, and ``data`` divided by it.

    Every channel of the result spans [-1, 1], so one uint8 scale for the whole tensor is as
    fine as one per channel (:mod:`builder.optimize` writes the scales beside it). The one
    division both what is written and what ``--quantize auto`` measures come from.
    """
    data = np.asarray(data, np.float32)
    scales = np.max(np.abs(data), axis=axes, keepdims=True)
    scales = np.where(scales > 0, scales, 1).astype(np.float32)
    return data / scales, scales


def scaled_roundtrip(data: np.ndarray, axes: tuple[int, ...], dtype: str) -> np.ndarray:
    """What the browser computes with for ``data`` stored channel-scaled as ``dtype``: each channel
    divided by its scale (:func:`channel_scaled`), quantized, and multiplied back (in a BatchNorm after it)."""
    normalized, scales = channel_scaled(data, axes)
    return roundtrip(normalized, dtype) * scales


def from_dtypes(dtypes: dict[str, str]) -> QuantizeMap:
    """A per-weight map (name → dtype, float32 included) as a :data:`QuantizeMap` for :func:`assign`.

    The most common quantized dtype becomes the catch-all when no weight stays float32; every
    other weight is listed by its exact (glob-escaped) name.
    """
    counts: dict[str, int] = {}
    for dtype in dtypes.values():
        if dtype != "float32" and dtype not in DTYPES:
            raise QuantizeError(f"unknown dtype '{dtype}'")
        counts[dtype] = counts.get(dtype, 0) + 1
    catch_all = None
    if "float32" not in counts and counts:
        catch_all = max(sorted(counts), key=lambda d: counts[d])
    qmap: QuantizeMap = {}
    for name, dtype in sorted(dtypes.items()):
        if dtype not in ("float32", catch_all):
            qmap.setdefault(dtype, []).append(glob.escape(name))  # type: ignore[union-attr]
    if catch_all:
        qmap[catch_all] = True
    return qmap


def weight_bytes(sizes: dict[str, int], dtypes: dict[str, str]) -> int:
    """Bytes of weight data for tensors of ``sizes`` (name → element count) stored as ``dtypes`` (absent: float32)."""
    return sum(n * BYTES[dtypes.get(name, "float32")] for name, n in sizes.items())
