// Fitting an image to the model's input: the `--resize` rule's crop, then bilinear
// resizing exactly as tf.image.resize does it. Pure: no DOM, no TF.js.

export const RESIZE_RULES = Object.freeze(['squash', 'crop']);

/**
 * The region of a width×height image that is resized to [targetH, targetW]:
 * everything for "squash"; for "crop", the largest centred box with the target's
 * aspect ratio, computed exactly as Keras's `crop_to_aspect_ratio=True`
 * (float32 division, truncation to int, at least 1 pixel).
 */
export function cropBox(width, height, [targetH, targetW], rule = 'crop') {
  if (rule === 'squash') return { x: 0, y: 0, width, height };
  if (rule !== 'crop') throw new Error(`unknown resize rule ${JSON.stringify(rule)}; expected ${RESIZE_RULES.join(' or ')}`);
  const f = Math.fround;
  const cropH = Math.max(Math.min(height, Math.trunc(f(f(width * targetH) / targetW))), 1);
  const cropW = Math.max(Math.min(width, Math.trunc(f(f(height * targetW) / targetH))), 1);
  return {
    x: Math.trunc(f(width - cropW) / 2),
    y: Math.trunc(f(height - cropH) / 2),
    width: cropW,
    height: cropH,
  };
}

// For one output coordinate: the two source indices and the weight of the second,
// as TF's resize_bilinear computes them with half_pixel_centers (Keras/TF2 default).
function bilinearTaps(outSize, inSize, offset) {
  const scale = Math.fround(inSize / outSize);
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const lerp = new Float32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const x = Math.fround(Math.fround((i + 0.5) * scale) - 0.5);
    const floor = Math.floor(x);
    lo[i] = offset + Math.max(floor, 0);
    hi[i] = offset + Math.min(Math.ceil(x), inSize - 1);
    lerp[i] = x - floor;
  }
  return { lo, hi, lerp };
}

/**
 * RGBA bytes (straight alpha) of a width×height image → Float32Array of
 * [targetH, targetW, 3] RGB values in 0..255: bilinear with half-pixel centres
 * (tf.image.resize, what Keras trains with), after the `rule` crop. Transparent
 * pixels are composited on white first. Reads only the pixels it needs, so a
 * 24-megapixel photo costs no more than a thumbnail.
 */
export function resizeToInput(rgba, width, height, [targetH, targetW], rule = 'squash') {
  if (!(width > 0 && height > 0) || rgba.length < width * height * 4) {
    throw new Error(`image data does not hold ${width}×${height} RGBA pixels`);
  }
  const box = cropBox(width, height, [targetH, targetW], rule);
  const ys = bilinearTaps(targetH, box.height, box.y);
  const xs = bilinearTaps(targetW, box.width, box.x);
  const out = new Float32Array(targetH * targetW * 3);
  const px = (y, x, c) => {
    const i = (y * width + x) * 4;
    const a = rgba[i + 3];
    if (a === 255) return rgba[i + c];
    const alpha = a / 255;
    return rgba[i + c] * alpha + 255 * (1 - alpha);
  };
  let o = 0;
  for (let y = 0; y < targetH; y++) {
    const y0 = ys.lo[y], y1 = ys.hi[y], dy = ys.lerp[y];
    for (let x = 0; x < targetW; x++) {
      const x0 = xs.lo[x], x1 = xs.hi[x], dx = xs.lerp[x];
      for (let c = 0; c < 3; c++) {
        const tl = px(y0, x0, c), tr = px(y0, x1, c), bl = px(y1, x0, c), br = px(y1, x1, c);
        const top = tl + (tr - tl) * dx;
        const bottom = bl + (br - bl) * dx;
        out[o++] = top + (bottom - top) * dy;
      }
    }
  }
  return out;
}
