// The k most probable classes, and the k a caller may ask for. Pure: no DOM, no TF.js.

/**
 * Resolves the requested top-K against the config default and the label count.
 * Returns an integer in 1..numLabels; throws RangeError for anything that is not
 * a positive integer.
 */
export function resolveTopK(requested, fallback, numLabels) {
  const k = requested === undefined || requested === null ? fallback : requested;
  if (!Number.isInteger(k) || k < 1) {
    throw new RangeError(`topK must be a positive integer, got ${String(k)}`);
  }
  return Math.min(k, numLabels);
}

/**
 * The k most probable classes as `[{label, index, probability}]`, highest first.
 * Ties keep the lower class index first so results are deterministic.
 */
export function topK(probabilities, labels, k) {
  const count = Math.min(k, probabilities.length, labels.length);
  const order = Array.from({ length: probabilities.length }, (_, i) => i);
  order.sort((a, b) => probabilities[b] - probabilities[a] || a - b);
  return order.slice(0, count).map((index) => ({
    label: labels[index],
    index,
    probability: probabilities[index],
  }));
}
