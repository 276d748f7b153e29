"""Pure quantization choices: parse ``--quantize`` options and map weight names to dtypes.

``--quantize uint8`` quantizes every weight; ``--quantize float16=*/kernel`` only the
matching ones (``fnmatch`` patterns over TF.js weight names such as ``Conv1/kernel``);
options combine, with at most one catch-all. This mirrors tensorflowjs's own
``quantization_dtype_map`` so the written files are exactly what its loader expects.
"""

from __future__ import annotations

import fnmatch
from typing import Iterable, Sequence

import numpy as np

from builder.errors import QuantizeError

DTYPES = ("float16", "uint16", "uint8")
_NUMPY = {"float16": np.float16, "uint16": np.uint16, "uint8": np.uint8}

QuantizeMap = dict[str, "list[str] | bool"]


def parse(specs: Sequence[str]) -> QuantizeMap:
    """``["uint8=*/kernel,dense*", "float16"]`` → ``{"uint8": ["*/kernel", "dense*"], "float16": True}``."""
    qmap: QuantizeMap = {}
    for spec in specs:
        dtype, _, patterns = spec.partition("=")
        dtype = dtype.strip()
        if dtype not in DTYPES:
            raise QuantizeError(f"--quantize {spec!r}: unknown dtype '{dtype}'; choose from {', '.join(DTYPES)}")
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
                raise QuantizeError(f"--quantize {dtype}={pattern}: matches no weight (names look like "
                                    f"'{names[0] if names else 'layer/kernel'}')")
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
