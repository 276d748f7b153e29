// Entry point: starts TF.js, loads the model, exposes window.browsernet and wires the page.

import { requestedBackend } from './pure.js';
import { getTf, startBackend } from './runtime.js';
import { loadClassifier, loadConfig } from './classifier.js';
import { createView } from './ui.js';

const view = createView(document);

let classifier = null;
let config = null;
let backend = null;

async function start() {
  const tf = getTf();
  const forced = requestedBackend(location.search);
  view.setStatus(forced ? `Starting the ${forced} backend…` : 'Starting TF.js…');
  // The backend and the config do not depend on each other; the model needs both.
  const [activeBackend, loadedConfig] = await Promise.all([startBackend(tf, forced), loadConfig()]);
  backend = activeBackend;
  config = loadedConfig;
  view.setBackend(backend);
  view.setProgress(0);
  classifier = await loadClassifier(tf, config, {
    onProgress: (fraction) => view.setProgress(fraction),
    onWarmup: () => {
      view.setProgress(1);
      view.setStatus('Warming up…');
    },
  });
}

const ready = start();
// Callers who never await `ready` must not see an unhandled rejection; the page shows the error itself.
ready.catch(() => {});

const api = {
  ready,
  get backend() {
    return backend;
  },
  get labels() {
    return config ? config.labels : [];
  },
  get inputSize() {
    return config ? config.inputSize : null;
  },
  /** Resolves to `[{label, index, probability}]`, most probable first. */
  async classify(source, topK) {
    await ready;
    return classifier.classify(source, topK);
  },
};
window.browsernet = Object.freeze(api);

ready.then(
  () => {
    view.setState('ready');
    view.setStatus(`Ready. Running on the ${backend} backend.`);
    view.enableInput();
  },
  (err) => {
    console.error('browsernet: failed to start', err);
    view.setState('error');
    view.showFatal(err && err.message ? err.message : String(err));
  },
);

const { input, dropzone } = view.refs;

function classifyFiles(files) {
  if (input.disabled) return; // not ready, or failed to start
  for (const file of files) {
    const card = view.addCard(file);
    // Each call is queued inside the classifier, so cards fill in order.
    api.classify(file).then(
      (results) => card.showResults(results),
      (err) => card.showError(err && err.message ? err.message : String(err)),
    );
  }
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
