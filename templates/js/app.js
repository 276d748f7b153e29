// Entry point: starts inference (in a worker when possible), exposes window.browsernet and wires the page.

import { median, modelCardRows, requestedBackend, requestedWorker, resolveTopK, wasmThreadCount } from './pure.js';
import { runtimeScripts } from './runtime.js';
import { loadConfig } from './classifier.js';
import { startEngine } from './engine.js';
import { createView } from './ui.js';
import { createWebcam } from './webcam.js';

const view = createView(document);

let engine = null;
let config = null;
let report = null;
let reportError = null;
const latencies = []; // ms per image, measured on this device
const timings = []; // the last inferences' {start, end, ms} on the shared clock
const TIMINGS_KEPT = 200;

async function loadReport() {
  try {
    const response = await fetch('report.json', { cache: 'no-cache' });
    if (!response.ok) throw new Error(`report.json: HTTP ${response.status}`);
    report = await response.json();
  } catch (err) {
    reportError = err.message;
    console.warn('browsernet: no model card data:', err.message);
  }
}

function refreshModelCard() {
  view.setModelCard(modelCardRows(report, {
    backend: engine ? engine.backend : null,
    thread: engine ? engine.thread : null,
    warmupMs: engine ? engine.firstMs : null,
    medianMs: median(latencies),
    samples: latencies.length,
  }, reportError));
}

async function start() {
  const forced = requestedBackend(location.search);
  view.setStatus(forced ? `Starting the ${forced} backend…` : 'Starting TF.js…');
  const configReady = loadConfig().then((loaded) => {
    config = loaded;
    return loaded;
  });
  // The engine starts at once; it waits for config.json itself.
  const engineReady = startEngine({
    config: configReady,
    forced,
    useWorker: requestedWorker(location.search),
    threads: (loaded) => wasmThreadCount(location.search, loaded.wasmThreads, navigator.hardwareConcurrency),
    base: document.baseURI,
    runtime: runtimeScripts(document),
    onProgress: (fraction, loaded) => view.setProgress(fraction, loaded, config.modelBytes),
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
  engine = await engineReady;
}

function fail(err, status) {
  console.error('browsernet:', err);
  view.setState('error');
  view.showFatal(err && err.message ? err.message : String(err), status);
}

const ready = start();
// Callers who never await `ready` must not see an unhandled rejection; the page shows the error itself.
ready.catch(() => {});

let asked = false; // has anything asked for a classification yet?

async function classify(source, topK) {
  asked = true;
  await ready;
  const reply = await engine.classify(source, resolveTopK(topK, config.topK, config.labels.length));
  latencies.push(reply.ms);
  timings.push({ start: reply.start, end: reply.end, ms: reply.ms });
  if (timings.length > TIMINGS_KEPT) timings.shift();
  refreshModelCard();
  return reply;
}

const api = {
  ready,
  get backend() {
    return engine ? engine.backend : null;
  },
  get labels() {
    return config ? config.labels : [];
  },
  get inputSize() {
    return config ? config.inputSize : null;
  },
  /** "worker" or "main": where inference runs. */
  get thread() {
    return engine ? engine.thread : null;
  },
  /** Resolves to `[{label, index, probability}]`, most probable first. */
  async classify(source, topK) {
    return (await classify(source, topK)).results;
  },
  /** TF.js's live tensor count and bytes where inference runs (after queued work). */
  async memory() {
    await ready;
    return engine.memory();
  },
  /**
   * Measured on this device: the first inference (warm-up or a real image), the median
   * latency, the start-up milestones (ms since navigation), the last inferences'
   * windows on the shared clock.
   */
  stats() {
    return {
      warmupMs: engine ? engine.firstMs : null,
      medianMs: median(latencies),
      threads: engine ? engine.threads ?? null : null,
      startup: engine && engine.startup ? { ...engine.startup } : null,
      inferences: timings.map((t) => ({ ...t })),
    };
  },
};
window.browsernet = Object.freeze(api);

ready.then(
  () => {
    view.setState('ready');
    view.setBackend(engine.backend, engine.thread, engine.fallback);
    view.setStatus(`Ready. Running on the ${engine.backend} backend ${engine.thread === 'worker' ? 'in a Web Worker' : 'on the main thread'}.`);
    view.enableInput();
    refreshModelCard();
    // Warm up once this task is over, unless code that awaited `ready` has asked for
    // a classification already: that one pays the first-inference cost instead of
    // waiting behind a warm-up.
    setTimeout(() => {
      if (asked) return;
      engine.warmUp().then(refreshModelCard, (err) => fail(err, 'The classifier could not run the model.'));
    }, 0);
  },
  (err) => fail(err, 'The classifier could not start.'),
);

createWebcam(view, (video) => classify(video));

// The file queue: one file at a time, in the order given, so a drop of many large
// photos never holds more than one decoded image (plus small thumbnails).
const { input, dropzone } = view.refs;
const queue = [];
let draining = false;
let batch = { total: 0, done: 0, failed: 0 };

async function drain() {
  if (draining) return;
  draining = true;
  while (queue.length > 0) {
    const { file, card } = queue.shift();
    await card.showThumbnail();
    try {
      card.showResults((await classify(file)).results);
    } catch (err) {
      batch.failed += 1;
      card.showError(err && err.message ? err.message : String(err));
    }
    batch.done += 1;
  }
  draining = false;
  const { total, failed } = batch;
  view.setQueue(`Done: ${total} image${total === 1 ? '' : 's'} classified${failed ? `, ${failed} with errors` : ''}.`);
  batch = { total: 0, done: 0, failed: 0 };
}

function classifyFiles(files) {
  if (input.disabled || files.length === 0) return; // not ready, or failed to start
  for (const file of files) queue.push({ file, card: view.addCard(file) });
  batch.total += files.length;
  view.setQueue(`Classifying ${batch.total} image${batch.total === 1 ? '' : 's'}…`);
  drain();
}

input.addEventListener('change', () => {
  classifyFiles([...input.files]);
  input.value = ''; // so picking the same file again fires change
});

// A file dropped anywhere else would make the browser navigate away to it.
for (const type of ['dragover', 'drop']) {
  document.addEventListener(type, (event) => event.preventDefault());
}
dropzone.addEventListener('dragover', (event) => {
  event.preventDefault();
  if (event.dataTransfer) event.dataTransfer.dropEffect = input.disabled ? 'none' : 'copy';
  if (!input.disabled) dropzone.classList.add('is-dragging');
});
dropzone.addEventListener('dragleave', (event) => {
  if (!dropzone.contains(event.relatedTarget)) dropzone.classList.remove('is-dragging');
});
dropzone.addEventListener('drop', (event) => {
  event.preventDefault();
  dropzone.classList.remove('is-dragging');
  if (event.dataTransfer) classifyFiles([...event.dataTransfer.files]);
});
