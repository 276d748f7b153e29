// The page ↔ inference-worker message protocol. Pure: no DOM, no TF.js.
//
// page → worker  {type: 'init', runtime: [script URLs], backend: name|null (forced), preferred: name|null (measured
//                 fastest here), probe: true in backend-probe.js's workers, threads: WASM threads wanted, config,
//                 base: page URL}
//                {type: 'preload', runtime: the runtime list's JSON text, base}  early-worker.js, before 'init'
//                                                    on a return visit: start importing TF.js and reading
//                                                    config.json and the model ('init' uses them if its
//                                                    runtime, base and config match)
//                {type: 'classify', id, source: Blob|ImageBitmap|ImageData, name, k}
//                {type: 'warmup', id}                one blank inference, unless one ran already
//                {type: 'memory', id}
//                {type: 'probe', id, pixels: Float32Array [h, w, 3], runs}  backend-probe.js's timing
// worker → page  {type: 'progress', fraction, loaded}  weight download: 0..1, bytes so far
//                {type: 'building'}                  weights in, the model is being built
//                {type: 'ready', backend, threads: WASM threads or null, startup: [[stage, time]],
//                 skipped: ["backend: why it did not start"] (the backends tried before this one)}
//                {type: 'result', id, results, ms, first, start, end, firstMs}
//                {type: 'warmup', id, firstMs}
//                {type: 'memory', id, numTensors, numBytes}
//                {type: 'probe', id, firstMs, times: [ms], output: Float32Array}
//                {type: 'error', id, stage, message}  id null for a failure outside a request
//
// `firstMs` is the first inference's time (a warm-up's or a real image's); a result's `first`
// says it was that one.
// `start`/`end` are performance.timeOrigin + performance.now() in the worker, so the
// page can place them on its own clock. Errors are always explicit messages: a
// failure in the worker must reach the visitor, never vanish.

export const STAGES = Object.freeze(['runtime', 'backend', 'model', 'classify', 'worker']);

// Failures at these stages mean "this worker cannot run here": the page falls back
// to the main thread. A model that fails to load would fail there too.
const FALLBACK_STAGES = new Set(['runtime', 'backend', 'worker']);

export function errorMessage(id, stage, err) {
  const message = err && err.message ? err.message : String(err);
  return { type: 'error', id: id ?? null, stage: STAGES.includes(stage) ? stage : 'worker', message };
}

export function shouldFallBack(stage) {
  return FALLBACK_STAGES.has(stage);
}

/** Checks a message from the worker; returns it, or throws naming what is wrong. */
export function checkWorkerMessage(data) {
  const known = ['progress', 'building', 'ready', 'result', 'warmup', 'memory', 'probe', 'error'];
  if (data === null || typeof data !== 'object' || !known.includes(data.type)) {
    throw new Error(`unexpected message from the inference worker: ${JSON.stringify(data)?.slice(0, 80)}`);
  }
  if (['result', 'warmup', 'memory', 'probe'].includes(data.type) && !Number.isInteger(data.id)) {
    throw new Error(`inference worker sent a ${data.type} without a request id`);
  }
  return data;
}

/** Absolute milliseconds on a clock that the page and its workers share. */
export function sharedNow(perf = globalThis.performance) {
  return perf.timeOrigin + perf.now();
}

/**
 * Start-up milestones: `marks` is `[[stage, sharedNow() when it ended]]`, starting
 * with `first`; `mark(stage)` adds one.
 */
export function startupTimeline(first) {
  const marks = [[first, sharedNow()]];
  return { marks, mark: (stage) => marks.push([stage, sharedNow()]) };
}
