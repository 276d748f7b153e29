// Pure helpers: no DOM, no TF.js. Everything here can be unit-tested in Node.

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

export const BACKENDS = Object.freeze(['webgl', 'wasm', 'cpu']);

/**
 * Reads `?backend=` from a query string. Returns null when absent (meaning:
 * try BACKENDS in order) and throws for a value we do not know.
 */
export function requestedBackend(search) {
  const value = new URLSearchParams(search).get('backend');
  if (value === null || value === '') return null;
  if (!BACKENDS.includes(value)) {
    throw new Error(`?backend=${value} is not a known backend; use one of ${BACKENDS.join(', ')}`);
  }
  return value;
}

function isPositiveInt(n) {
  return Number.isInteger(n) && n > 0;
}

/**
 * Checks config.json's shape and returns a normalised copy. Collects every
 * problem and reports them together, so one reload shows all of them.
 */
export function validateConfig(raw) {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new Error('config.json: expected a JSON object');
  }
  const problems = [];
  const { labels, inputSize, preprocess, topK: k, modelUrl = 'model/model.json' } = raw;
  if (!Array.isArray(labels) || labels.length === 0 || !labels.every((l) => typeof l === 'string')) {
    problems.push('"labels" must be a non-empty list of strings');
  }
  if (!Array.isArray(inputSize) || inputSize.length !== 2 || !inputSize.every(isPositiveInt)) {
    problems.push('"inputSize" must be [height, width] in whole pixels');
  }
  if (!Object.hasOwn(PREPROCESS, preprocess)) {
    problems.push(`"preprocess" must be one of ${Object.keys(PREPROCESS).join(', ')}`);
  }
  if (!isPositiveInt(k)) {
    problems.push('"topK" must be a positive integer');
  }
  // Only same-site, relative model URLs: the site must make no third-party requests.
  if (typeof modelUrl !== 'string' || /^([a-z][a-z0-9+.-]*:|\/)/i.test(modelUrl)) {
    problems.push('"modelUrl" must be a relative URL such as "model/model.json"');
  }
  if (problems.length > 0) {
    throw new Error(`config.json: ${problems.join('; ')}`);
  }
  return Object.freeze({
    title: typeof raw.title === 'string' ? raw.title : '',
    version: typeof raw.version === 'string' ? raw.version : '',
    labels: Object.freeze([...labels]),
    inputSize: Object.freeze([inputSize[0], inputSize[1]]),
    preprocess,
    topK: k,
    modelUrl,
  });
}

/** Formats a probability for display: one decimal, never a misleading "0.0%". */
export function formatPercent(p) {
  const pct = p * 100;
  if (pct > 0 && pct < 0.1) return '<0.1%';
  return `${pct.toFixed(1)}%`;
}
