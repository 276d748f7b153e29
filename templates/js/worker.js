// The inference worker (a module worker): loads TF.js and the model, and classifies
// what the page sends, so that the page stays responsive. Protocol: protocol.js.

import { errorMessage, startupTimeline } from './protocol.js';
import { validateConfig } from './config.js';
import { getTf, importRuntime, startBackend, wasmThreads } from './runtime.js';
import { loadClassifier } from './classifier.js';
import { prefetchModel } from './model-files.js';

let classifier = null;
let starting = null;

function post(message, transfer = []) {
  self.postMessage(message, transfer);
}

// Stage by stage, so the page knows whether the main thread could do better.
async function init({ runtime, backend: forced, preferred = null, probe = false, threads: threadCount, config: rawConfig, base }) {
  let stage = 'model';
  const { marks: startup, mark } = startupTimeline('worker');
  try {
    const config = validateConfig(rawConfig);
    // The model downloads (and is verified) while TF.js loads and starts.
    const onProgress = (fraction, loaded) => post({ type: 'progress', fraction, loaded });
    const model = prefetchModel(config, { base, onProgress, mark });
    stage = 'runtime';
    await importRuntime(runtime);
    mark('runtime');
    const tf = getTf(runtime);
    stage = 'backend';
    // No page CSP applies inside this worker, so threaded WASM may start its helpers.
    const backend = await startBackend(tf, forced, {
      base, wasmFiles: config.wasmFiles, threads: true, threadCount, runtime, preferred,
      ...(probe ? { forcedBy: 'the backend measurement' } : {}),
    });
    mark('backend');
    stage = 'model';
    classifier = await loadClassifier(tf, config, model, { onBuild: () => post({ type: 'building' }), mark });
    post({ type: 'ready', backend, threads: wasmThreads(tf), startup });
  } catch (err) {
    post(errorMessage(null, stage, err));
  }
}

async function handle(message) {
  const { type, id } = message;
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
