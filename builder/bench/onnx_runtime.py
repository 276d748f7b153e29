"""The onnxruntime-web baseline for ``browsernet bench``: the same Keras model converted to
ONNX by ``tf2onnx`` (pip, the ``bench`` extra), run in the browser by onnxruntime-web's WASM
build (npm ``onnxruntime-web``, a devDependency).

``tf2onnx`` 1.17 pairs with ``onnx`` 1.17: newer ``onnx`` wheels need a protobuf that
TensorFlow 2.19 refuses. The input keeps Keras's NHWC layout and a batch of 1.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from builder.errors import BrowsernetError

NAME = "onnx"
PACKAGE = "onnxruntime-web"
MODEL_FILE = "model.onnx"
OPSET = 17
# The WASM-only build and the one binary it loads (SIMD, threaded; it runs 1 thread without helpers).
FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")


def convert(model: Any, input_size: tuple[int, int], out_dir: Path) -> Path:
    """Write ``model`` as a float32 ONNX model (opset 17), input ``[1, height, width, 3]``, to
    ``out_dir``; return the ``.onnx`` path. Raises :class:`BrowsernetError` when ``tf2onnx`` is
    missing or fails."""
    import tensorflow as tf

    from builder.model import tf_runtime

    try:
        import tf2onnx
    except ImportError as e:
        raise BrowsernetError("the ONNX baseline needs tf2onnx: pip install 'browsernet[bench]'") from e
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / MODEL_FILE
    signature = [tf.TensorSpec([1, *input_size, 3], tf.float32, name="input")]
    call = tf.function(lambda x: model(x, training=False), input_signature=signature)
    try:
        with tf_runtime.quiet():
            tf2onnx.convert.from_function(call, input_signature=signature, opset=OPSET, output_path=str(path))
    except Exception as e:  # tf2onnx raises ValueError, RuntimeError and its own errors alike
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise BrowsernetError(f"could not convert the model to ONNX: {first}") from e
    return path


def stage(node_modules: Path, dest: Path) -> None:
    """Copy onnxruntime-web's WASM build from ``node_modules`` into ``dest/onnxruntime-web``.
    Raises :class:`BrowsernetError` when the package is not installed (``npm ci`` installs it)."""
    source = node_modules / PACKAGE / "dist"
    missing = [name for name in FILES if not (source / name).is_file()]
    if missing:
        raise BrowsernetError(f"{PACKAGE} is not installed in {node_modules}: run 'npm ci' in the checkout")
    (dest / PACKAGE).mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copyfile(source / name, dest / PACKAGE / name)
