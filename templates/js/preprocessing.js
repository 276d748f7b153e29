// Input scaling: how each `preprocess` mode maps a float32 pixel value in 0..255
// before the model sees it. Pure: no DOM, no TF.js.

/**
 * How each `preprocess` mode maps a float32 pixel value x in 0..255.
 * The model applies `x / divisor + offset`, in that order, because that is
 * exactly what Keras does (mobilenet: `x /= 127.5; x -= 1.`); multiplying by a
 * reciprocal instead would differ in the last float32 bit.
 */
export const PREPROCESS = Object.freeze({
  mobilenet: Object.freeze({ divisor: 127.5, offset: -1 }),
  unit: Object.freeze({ divisor: 255, offset: 0 }),
  raw: Object.freeze({ divisor: 1, offset: 0 }),
});

/** Returns `{divisor, offset}` for a preprocess mode, or throws naming the valid ones. */
export function preprocessSpec(mode) {
  if (!Object.hasOwn(PREPROCESS, mode)) {
    throw new Error(
      `unknown preprocess mode ${JSON.stringify(mode)}; expected one of ${Object.keys(PREPROCESS).join(', ')}`,
    );
  }
  return PREPROCESS[mode];
}

/** Applies a preprocess mode to one value (reference for tests; the model does this on tensors). */
export function preprocessValue(x, mode) {
  const { divisor, offset } = preprocessSpec(mode);
  return Math.fround(Math.fround(x / divisor) + offset);
}
