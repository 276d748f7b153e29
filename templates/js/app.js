// Entry point: starts inference (in a worker when possible), exposes window.browsernet and wires the page.

import { choose, fingerprint, loadChoice, measureBackends, probeOrder, saveChoice, storageKey } from './backend-probe.js';
import { loadConfig } from './config.js';
import { startEngine } from './engine.js';
import { createFileInput } from './file-input.js';
import { createInferenceLog } from './latency.js';
import { modelCardRows } from './model-card.js';
import { runtimeScripts } from './runtime.js';
import { resolveTopK } from './topk.js';
import { createView } from './ui.js';
import { requestedBackend, requestedThreads, requestedWorker, wasmThreadCount } from './url-options.js';
import { createWebcam } from './webcam.js';

const view = createView(document);

// The page's state. Each of the first four is set once, as start-up gets there.
const state = Object.seal({
  config: null, // config.json, validated
  report: null, // report.json, for the model card (null: `reportError` says why)
  reportError: null,
  engine: null, // the running engine (engine.js), once `ready` resolves
  asked: false, // has anything asked for a classification? (then it pays the first inference, not a warm-up)
  inferences: createInferenceLog(), // what this page measured: the last inferences and their running median
  stored: null, // the backend choice remembered from an earlier visit (backend-probe.js), if still valid
  choice: null, // the backend choice's state, for the model card and backendChoice
});

// An unknown ?backend=, a bad ?threads= or a broken runtime list fails start() (the page shows why), not this module.
let forced = null;
let runtime = [];
let optionsError = null;
try {
  forced = requestedBackend(location.search);
  requestedThreads(location.search);
  runtime = runtimeScripts(document);
} catch (err) {
  optionsError = err;
}
const threads = (loaded) => wasmThreadCount(location.search, loaded.wasmThreads, navigator.hardwareConcurrency);

// localStorage, or null where the browser refuses it (reading the property can throw).
function storage() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

// The backend measured fastest here on an earlier visit, for this runtime and model.
function preferredBackend(config) {
  const store = storage();
  state.stored = store && !forced ? loadChoice(store, storageKey(document.baseURI), fingerprint(runtime, config)) : null;
  return state.stored ? state.stored.chosen : null;
}

let firstInferenceDone;
const firstInference = new Promise((resolve) => {
  firstInferenceDone = resolve;
});

function idle() {
  return new Promise((resolve) => {
    if (typeof requestIdleCallback === 'function') requestIdleCallback(() => resolve(), { timeout: 2000 });
    else setTimeout(resolve, 500);
  });
}

/**
 * The measured backend choice (backend-probe.js): after the first inference, once the
 * page is idle, unless ?backend= forces one or a still-valid measurement chose the
 * backend running now. Never awaited by start-up or classify().
 */
async function chooseBackend(engine) {
  const store = storage();
  if (forced) {
    state.choice = { state: 'forced', backend: forced };
  } else if (engine.thread !== 'worker') {
    state.choice = { state: 'off', reason: 'inference runs on the main thread' };
  } else if (store === null) {
    state.choice = { state: 'off', reason: 'this browser keeps no localStorage' };
  } else if (state.stored && state.stored.chosen === engine.backend) {
    state.choice = { state: 'remembered', record: state.stored };
  }
  if (state.choice !== null) {
    refreshModelCard();
    return;
  }
  state.choice = { state: 'waiting' };
  refreshModelCard();
  await firstInference;
  await idle();
  const { config } = state;
  const order = probeOrder(engine.backend);
  state.choice = { state: 'measuring', candidates: order };
  refreshModelCard();
  const results = await measureBackends({ order, runtime, config, base: document.baseURI, threads: threads(config) });
  const { chosen, measured } = choose(results, engine.backend);
  if (chosen === null) {
    state.choice = { state: 'failed', reason: `${engine.backend}: ${measured[0].error}` };
  } else {
    const record = { ...fingerprint(runtime, config), chosen, measured, measuredAt: new Date().toISOString() };
    saveChoice(store, storageKey(document.baseURI), record);
    state.choice = { state: 'measured', record };
  }
  refreshModelCard();
}

async function loadReport() {
  try {
    const response = await fetch('report.json', { cache: 'no-cache' });
    if (!response.ok) throw new Error(`report.json: HTTP ${response.status}`);
    state.report = await response.json();
  } catch (err) {
    state.reportError = err.message;
    console.warn('browsernet: no model card data:', err.message);
  }
}

function refreshModelCard() {
  const { engine, inferences } = state;
  view.setModelCard(modelCardRows(state.report, {
    backend: engine ? engine.backend : null,
    thread: engine ? engine.thread : null,
    warmupMs: engine ? engine.firstMs : null,
    medianMs: inferences.medianMs,
    samples: inferences.samples,
    runs: inferences.runs,
    choice: state.choice,
  }, state.reportError));
}

async function start() {
  if (optionsError !== null) throw optionsError;
  view.setStatus(forced ? `Starting the ${forced} backend…` : 'Starting TF.js…');
  const configReady = loadConfig(document.baseURI).then((loaded) => {
    state.config = loaded;
    return loaded;
  });
  // The engine starts at once; it waits for config.json itself.
  const engineReady = startEngine({
    config: configReady,
    forced,
    preferred: preferredBackend,
    useWorker: requestedWorker(location.search),
    threads,
    base: document.baseURI,
    runtime,
    onProgress: (fraction, loaded) => view.setProgress(fraction, loaded, state.config.modelBytes),
    onBuild: () => {
      view.setProgress(1);
      view.setStatus('Preparing the model…');
    },
    onFallback: (reason) => view.setStatus(`Starting on the main thread (${reason})…`),
    onFatal: (err) => fail(err, 'The classifier stopped working.'),
  });
  engineReady.catch(() => {}); // awaited below, once the config is in
  await Promise.all([configReady, loadReport()]);
  refreshModelCard();
  state.engine = await engineReady;
}

function fail(err, status) {
  console.error('browsernet:', err);
  view.setState('error');
  view.showFatal(err && err.message ? err.message : String(err), status);
}

const ready = start();
// Callers who never await `ready` must not see an unhandled rejection; the page shows the error itself.
ready.catch(() => {});

async function classify(source, topK) {
  state.asked = true;
  await ready;
  const { config, engine } = state;
  const reply = await engine.classify(source, resolveTopK(topK, config.topK, config.labels.length));
  state.inferences.record(reply);
  firstInferenceDone();
  refreshModelCard();
  return reply;
}

const api = {
  ready,
  get backend() {
    return state.engine ? state.engine.backend : null;
  },
  get labels() {
    return state.config ? state.config.labels : [];
  },
  get inputSize() {
    return state.config ? state.config.inputSize : null;
  },
  /** "worker" or "main": where inference runs. */
  get thread() {
    return state.engine ? state.engine.thread : null;
  },
  /** Resolves to `[{label, index, probability}]`, most probable first. */
  async classify(source, topK) {
    return (await classify(source, topK)).results;
  },
  /**
   * The measured backend choice: `{state, backend?, reason?, candidates?, record?}` (null
   * before the model is ready); `state` is 'forced', 'off', 'waiting', 'measuring',
   * 'measured', 'remembered' or 'failed', and `record` `{chosen, measured:
   * [{backend, medianMs, maxDiff, error}], measuredAt, runtime, model}`.
   */
  get backendChoice() {
    return state.choice === null ? null : JSON.parse(JSON.stringify(state.choice));
  },
  /** TF.js's live tensor count and bytes where inference runs (after queued work). */
  async memory() {
    await ready;
    return state.engine.memory();
  },
  /**
   * Measured on this device: the first inference (warm-up or a real image), the median
   * inference time of the last inferences after the first, the start-up milestones (ms since
   * navigation), the last inferences' windows on the shared clock (`first`: the model's first).
   */
  stats() {
    const { engine, inferences } = state;
    return {
      warmupMs: engine ? engine.firstMs : null,
      medianMs: inferences.medianMs,
      threads: engine ? engine.threads ?? null : null,
      startup: engine && engine.startup ? { ...engine.startup } : null,
      inferences: inferences.inferences(),
    };
  },
};
window.browsernet = Object.freeze(api);

ready.then(
  () => {
    const { engine } = state;
    view.setState('ready');
    view.setBackend(engine.backend, engine.thread, engine.fallback);
    const skipped = engine.skipped?.length ? ` (${engine.skipped.join('; ')})` : '';
    view.setStatus(`Ready. Running on the ${engine.backend} backend ${engine.thread === 'worker' ? 'in a Web Worker' : 'on the main thread'}${skipped}.`);
    view.enableInput();
    refreshModelCard();
    // Warm up once this task is over, unless code that awaited `ready` has asked for
    // a classification already: that one pays the first-inference cost instead of
    // waiting behind a warm-up.
    setTimeout(() => {
      if (state.asked) return;
      engine.warmUp().then(() => {
        firstInferenceDone();
        refreshModelCard();
      }, (err) => fail(err, 'The classifier could not run the model.'));
    }, 0);
    chooseBackend(engine).catch((err) => {
      console.warn('browsernet: the backend measurement failed:', err);
      state.choice = { state: 'failed', reason: err && err.message ? err.message : String(err) };
      refreshModelCard();
    });
  },
  (err) => fail(err, 'The classifier could not start.'),
);

createWebcam(view, (video) => classify(video));
createFileInput(view, (file) => classify(file));
