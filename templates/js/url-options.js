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
  if (!BACKENDS.includes(value.toLowerCase())) {
    throw new Error(`?backend=${value} is not a known backend; use one of ${BACKENDS.join(', ')}`);
  }
  return value.toLowerCase();
}

/**
 * Reads `?threads=` from a query string: a whole number from 1 to 64 in digits, or null when absent.
 * Throws for anything else, as `?backend=` does, rather than run on another count unsaid.
 */
export function requestedThreads(search) {
  const value = new URLSearchParams(search).get('threads');
  if (value === null || value === '') return null;
  // Digits only: Number() would also take 1e1, 0x1, +2 and 2.0.
  const count = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(count) || count < 1 || count > 64) {
    throw new Error(`?threads=${value} is not a thread count; use a whole number from 1 to 64`);
  }
  return count;
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
  let asked = null;
  try {
    asked = requestedThreads(search);
  } catch {
    // the page has already refused the URL (requestedThreads in start())
  }
  if (asked !== null) return asked;
  if (Number.isInteger(configured) && configured >= 1) return configured;
  return Math.max(1, cpus || 1);
}
