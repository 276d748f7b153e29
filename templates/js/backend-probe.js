// The measured backend choice. Which TF.js backend is fastest depends on the device
// (WASM with SIMD and threads beats a weak integrated GPU; a strong GPU beats WASM), so
// once the page is ready and idle it times the model on each backend that starts here,
// each in a worker of its own (worker.js with that backend forced), one after another.
// The page's own inference worker never waits for them. A backend that fails, hangs
// past PROBE_TIMEOUT_MS or disagrees with the backend the page runs on now by more than
// TOLERANCE is dropped; the fastest of the rest is kept in localStorage with the runtime
// and model it was measured with, and the next visit starts on it. `?backend=` still
// overrides. The pure parts (choose, readChoice, fingerprint, choiceText) are unit-tested
// in tests/js/backend-probe.test.mjs.

import { median } from './latency.js';
import { formatMs } from './format.js';
import { BACKENDS } from './url-options.js';

/** The backends the probe times, where they start. The CPU backend is never the fastest. */
export const CANDIDATES = Object.freeze(['webgpu', 'webgl', 'wasm']);
/** Timed inferences per backend, after one untimed first inference (shader compilation, weight packing). */
export const PROBE_RUNS = 5;
/**
 * Largest difference in any class probability allowed between a candidate and the
 * backend the page runs on now, on the probe image: the build's own float32 parity bound
 * against Keras.
 */
export const TOLERANCE = 1e-4;
/** Per backend: its worker's start, the model, the first and the timed inferences. */
export const PROBE_TIMEOUT_MS = 60_000;
const STORAGE_PREFIX = 'browsernet.backend:';

/** The localStorage key for the site at `base` (several sites may share an origin). */
export function storageKey(base) {
  return STORAGE_PREFIX + new URL('.', base).pathname;
}

/**
 * What a measurement holds for: the runtime (its scripts' integrity hashes, which change
 * with the TF.js version or the bundle) and the model (its weight shards' sha256 from
 * config.json). `runtime` is runtimeScripts(), `config` the validated config.json.
 */
export function fingerprint(runtime, config) {
  return {
    runtime: runtime.map((script) => script.integrity).join(' '),
    model: Object.keys(config.shardSha256).sort().map((path) => config.shardSha256[path]).join(' '),
  };
}

/**
 * The stored choice (`text`: localStorage's string or null) if it was measured with
 * `print` (fingerprint()), else null: never measured, another runtime or model, or unreadable.
 */
export function readChoice(text, print) {
  let record;
  try {
    record = JSON.parse(text);
  } catch {
    return null;
  }
  if (record === null || typeof record !== 'object' || record.runtime !== print.runtime || record.model !== print.model) {
    return null;
  }
  if (!BACKENDS.includes(record.chosen) || !Array.isArray(record.measured)) return null;
  return record;
}

/** The largest |a[i] - b[i]|; Infinity when the lengths differ, NaN if either holds NaN. */
export function maxAbsDifference(a, b) {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= worst)) worst = d; // NaN sticks
  }
  return worst;
}

/**
 * The probe's input: `h`×`w` RGB pixels in 0..255 (Float32Array [h, w, 3]), the same on
 * every device (a fixed-seed generator), varied enough that the model's output depends on it.
 */
export function probeImage(h, w, seed = 0x9e3779b9) {
  let state = seed >>> 0;
  const next = () => { // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pixels = new Float32Array(h * w * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.floor(next() * 256);
  return pixels;
}

/**
 * Chooses from `results`: `[{backend, times: [ms], output: Float32Array} | {backend, error}]`.
 * `reference` is the backend the page runs on now: the others must match its output
 * within `tolerance`. Returns `{chosen, measured: [{backend, medianMs, maxDiff, error}]}`,
 * `chosen` being the fastest (median) that ran and agrees, or null when the reference
 * itself did not run (then nothing can be compared).
 */
export function choose(results, reference, tolerance = TOLERANCE) {
  const ref = results.find((r) => r.backend === reference && !r.error);
  const measured = results.map((r) => {
    if (r.error) return { backend: r.backend, medianMs: null, maxDiff: null, error: r.error };
    const maxDiff = ref ? maxAbsDifference(r.output, ref.output) : null;
    const error = maxDiff !== null && !(maxDiff <= tolerance)
      ? `its output differs from ${reference}'s by ${Number.isFinite(maxDiff) ? maxDiff.toExponential(1) : maxDiff}`
      : null;
    return { backend: r.backend, medianMs: median(r.times), maxDiff, error };
  });
  if (!ref) return { chosen: null, measured };
  const usable = measured.filter((m) => m.error === null).sort((a, b) => a.medianMs - b.medianMs);
  return { chosen: usable[0].backend, measured };
}

/** The candidates to time, the page's current backend first (it is the reference). */
export function probeOrder(current, candidates = CANDIDATES) {
  return [current, ...candidates.filter((name) => name !== current)];
}

/** The stored choice for `print` in `storage` (localStorage), or null (none, stale, or no storage). */
export function loadChoice(storage, key, print) {
  try {
    return readChoice(storage.getItem(key), print);
  } catch {
    return null; // storage disabled
  }
}

/** Stores `record`; false when the browser refuses (storage off or full). */
export function saveChoice(storage, key, record) {
  try {
    storage.setItem(key, JSON.stringify(record));
    return true;
  } catch {
    return false;
  }
}

/**
 * The model card's "Backend choice" text for `choice`:
 * `{state: 'forced'|'off'|'waiting'|'measuring'|'measured'|'remembered'|'failed', reason?, record?}`
 * (`record`: `{chosen, measured, measuredAt}` as stored).
 */
export function choiceText(choice) {
  if (!choice) return 'not measured yet';
  switch (choice.state) {
    case 'forced':
      return `set by ?backend=${choice.backend}, not measured`;
    case 'off':
      return `not measured (${choice.reason})`;
    case 'waiting':
      return 'to be measured once the page is idle';
    case 'measuring':
      return `measuring ${choice.candidates.join(', ')} on this device…`;
    case 'failed':
      return `measurement failed (${choice.reason})`;
    default: {
      const { chosen, measured } = choice.record;
      const each = measured.map((m) => (m.error ? `${m.backend} dropped (${m.error})` : `${m.backend} ${formatMs(m.medianMs)}`));
      const when = choice.state === 'remembered' ? 'measured on an earlier visit' : 'measured on this visit';
      return `${chosen}, the fastest here (${when}, median of ${PROBE_RUNS} runs: ${each.join('; ')})`;
    }
  }
}

function probeOne({ backend, runtime, config, base, threads, pixels, runs, timeoutMs }) {
  return new Promise((resolve, reject) => {
    let worker = null;
    let timer = null;
    const finish = (settle, value) => {
      clearTimeout(timer);
      if (worker) worker.terminate(); // also ends a backend that hangs
      settle(value);
    };
    timer = setTimeout(() => finish(reject, new Error(`timed out after ${timeoutMs / 1000} s`)), timeoutMs);
    try {
      worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: `browsernet probe ${backend}` });
    } catch (err) {
      finish(reject, err);
      return;
    }
    worker.addEventListener('message', (event) => {
      const msg = event.data || {};
      if (msg.type === 'ready') {
        if (msg.backend !== backend) finish(reject, new Error(`started ${msg.backend} instead`));
        else worker.postMessage({ type: 'probe', id: 1, pixels, runs });
      } else if (msg.type === 'probe') {
        finish(resolve, { times: msg.times, output: msg.output });
      } else if (msg.type === 'error') {
        finish(reject, new Error(msg.message));
      }
    });
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      finish(reject, new Error(event.message || 'its worker failed'));
    });
    worker.postMessage({ type: 'init', runtime, backend, preferred: null, probe: true, threads, config, base });
  });
}

/**
 * Why WebGPU cannot run here (no navigator.gpu, no adapter), or null: asked on the page,
 * so that a device without it starts no worker and downloads nothing for it.
 */
export async function webgpuUnavailable(gpu = globalThis.navigator && navigator.gpu) {
  if (!gpu) return 'this browser has no WebGPU (navigator.gpu)';
  try {
    return (await gpu.requestAdapter()) ? null : 'no WebGPU adapter on this device';
  } catch (err) {
    return `no WebGPU adapter (${err && err.message ? err.message : err})`;
  }
}

/**
 * Times the model on each backend in `order` (probeOrder(): the reference first), each
 * in a fresh inference worker that is ended afterwards. Resolves to choose()'s input:
 * `[{backend, times, output} | {backend, error}]`. Stops early if the reference fails.
 * `onStep(backend)` is called as each starts.
 */
export async function measureBackends({
  order, runtime, config, base, threads, runs = PROBE_RUNS, timeoutMs = PROBE_TIMEOUT_MS, onStep = () => {},
}) {
  const [h, w] = config.inputSize;
  const pixels = probeImage(h, w);
  const results = [];
  for (const backend of order) {
    const unavailable = backend === 'webgpu' ? await webgpuUnavailable() : null;
    if (unavailable !== null) {
      results.push({ backend, error: unavailable });
      continue;
    }
    onStep(backend);
    try {
      results.push({ backend, ...(await probeOne({ backend, runtime, config, base, threads, pixels, runs, timeoutMs })) });
    } catch (err) {
      results.push({ backend, error: err && err.message ? err.message : String(err) });
      if (backend === order[0]) break;
    }
  }
  return results;
}
