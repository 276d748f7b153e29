// The inference worker (a module worker): loads TF.js and the model, and classifies
// what the page sends, so that the page stays responsive. Protocol: protocol.js.

import { errorMessage, startupTimeline } from './protocol.js';
import { loadConfig, validateConfig } from './config.js';
import { getTf, importRuntime, parseRuntimeList, startBackend, wasmThreads } from './runtime.js';
import { loadClassifier } from './classifier.js';
import { prefetchModel } from './model-files.js';

let classifier = null;
let starting = null;
// What a 'preload' (early-worker.js) started before 'init': {runtime, base, timeline,
// imported: the runtime's import, model: null or {config (as the worker read it), download}}.
let preloaded = null;
// Progress before 'init' is held back: the page may not have its config yet.
let initialized = false;
let heldProgress = null;

function post(message, transfer = []) {
  self.postMessage(message, transfer);
}

function progress(fraction, loaded) {
  if (initialized) post({ type: 'progress', fraction, loaded });
  else heldProgress = { type: 'progress', fraction, loaded };
}

// The runtime's import, with its 'runtime' mark; a failure is reported by 'init' (at its
// 'runtime' stage, so the page falls back to the main thread), not as an unhandled rejection.
function importMarked(runtime, mark) {
  const imported = importRuntime(runtime).then(() => mark('runtime'));
  imported.catch(() => {});
  return imported;
}

// Starts what 'init' will need before the page sends it: TF.js (`runtime`: the text of the
// page's runtime list), and config.json and the model files as this worker reads them
// (verified as always). A list that does not parse is left to 'init' to report.
function preload({ runtime: text, base }) {
  let runtime;
  try {
    runtime = parseRuntimeList(text, base);
  } catch {
    return;
  }
  const timeline = startupTimeline('worker');
  const model = loadConfig(base).then(
    (config) => {
      const download = prefetchModel(config, { base, onProgress: progress, mark: timeline.mark });
      // A failure reaches the page through 'init' if it uses this download; one it does not use
      // (the page's config.json differs) must not end the worker as an unhandled rejection.
      download.files.catch(() => {});
      return { config, download };
    },
    () => null, // 'init' brings the page's config.json and downloads with it
  );
  preloaded = { runtime, base, timeline, imported: importMarked(runtime, timeline.mark), model };
}

const sameJson = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// Stage by stage, so the page knows whether the main thread could do better.
async function init({ runtime, backend: forced, preferred = null, probe = false, threads: threadCount, config: rawConfig, base }) {
  let stage = 'model';
  // A preload for the same runtime and site is used if it read the same config.json.
  const early = preloaded !== null && sameJson(preloaded.runtime, runtime) && preloaded.base === base ? preloaded : null;
  preloaded = null;
  const { marks: startup, mark } = early ? early.timeline : startupTimeline('worker');
  initialized = true;
  if (heldProgress !== null) post(heldProgress);
  try {
    const config = validateConfig(rawConfig);
    const preloadedModel = early ? await early.model : null;
    // The model downloads (and is verified) while TF.js loads and starts.
    const model = preloadedModel !== null && sameJson(preloadedModel.config, config)
      ? preloadedModel.download
      : prefetchModel(config, { base, onProgress: progress, mark });
    stage = 'runtime';
    await (early ? early.imported : importMarked(runtime, mark));
    const tf = getTf(runtime);
    stage = 'backend';
    // No page CSP applies inside this worker, so threaded WASM may start its helpers.
    const skipped = [];
    const backend = await startBackend(tf, forced, {
      base, wasmFiles: config.wasmFiles, threads: true, threadCount, runtime, preferred, skipped,
      ...(probe ? { forcedBy: 'the backend measurement' } : {}),
    });
    mark('backend');
    stage = 'model';
    classifier = await loadClassifier(tf, config, model, { onBuild: () => post({ type: 'building' }), mark });
    post({ type: 'ready', backend, skipped, threads: wasmThreads(tf), startup });
  } catch (err) {
    post(errorMessage(null, stage, err));
  }
}

async function handle(message) {
  const { type, id } = message;
  if (type === 'preload') {
    if (starting === null && preloaded === null) preload(message);
    return;
  }
  if (type === 'init') {
    if (starting === null) starting = init(message);
    return;
  }
  if (classifier === null) {
    post(errorMessage(id, 'worker', new Error(`"${type}" before the model was ready`)));
    return;
  }
  try {
    if (type === 'classify') {
      const result = await classifier.classify(message.source, message.name, message.k);
      post({ type: 'result', id, ...result, firstMs: classifier.firstMs });
    } else if (type === 'warmup') {
      await classifier.warmUp();
      post({ type: 'warmup', id, firstMs: classifier.firstMs });
    } else if (type === 'probe') {
      const { firstMs, times, output } = await classifier.probe(message.pixels, message.runs);
      post({ type: 'probe', id, firstMs, times, output });
    } else if (type === 'memory') {
      post({ type: 'memory', id, ...(await classifier.memory()) });
    } else {
      throw new Error(`unknown request "${type}"`);
    }
  } catch (err) {
    post(errorMessage(id, type === 'classify' ? 'classify' : 'worker', err));
  }
}

self.addEventListener('message', (event) => {
  handle(event.data);
});
// Whatever escapes a handler still reaches the page as an explicit error.
self.addEventListener('unhandledrejection', (event) => {
  post(errorMessage(null, 'worker', event.reason));
});
