// What the page's URL may ask for: ?backend=, ?worker=, ?threads=. Pure: no DOM, no TF.js.

/** The backends the page knows (what `?backend=` may name). */
export const BACKENDS = Object.freeze(['webgpu', 'webgl', 'wasm', 'cpu']);

/**
 * The order the page tries them in when neither `?backend=` nor a measured choice
 * (backend-probe.js) names one. WebGPU is not in it: only a measurement on this
 * device, or `?backend=webgpu`, makes the page download its script and use it.
 */
export const AUTO_ORDER = Object.freeze(['webgl', 'wasm', 'cpu']);

/**
 * Reads `?backend=` from a query string. Returns null when absent (meaning: the
 * measured choice, else AUTO_ORDER) and throws for a value we do not know.
 */
export function requestedBackend(search) {
  const value = new URLSearchParams(search).get('backend');
  if (value === null || value === '') return null;
  if (!BACKENDS.includes(value)) {
    throw new Error(`?backend=${value} is not a known backend; use one of ${BACKENDS.join(', ')}`);
  }
  return value;
}

/** `?worker=0` runs inference on the main thread (for comparison and for hosts that cannot run workers). */
export function requestedWorker(search) {
  const value = new URLSearchParams(search).get('worker');
  return !(value === '0' || value === 'off' || value === 'false');
}

/**
 * WASM threads wanted: `?threads=N` (1-64) overrides the build's `wasmThreads`
 * ("auto": every CPU the browser reports, or a count).
 */
export function wasmThreadCount(search, configured, cpus) {
  const asked = Number.parseInt(new URLSearchParams(search).get('threads') ?? '', 10);
  if (Number.isInteger(asked) && asked >= 1 && asked <= 64) return asked;
  if (Number.isInteger(configured) && configured >= 1) return configured;
  return Math.max(1, cpus || 1);
}
