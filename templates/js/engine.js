// Where inference runs: a module worker when it can, else the main thread (and we say why).
// Both engines offer the same operations:
//   {backend, skipped: ["backend: why it did not start"], thread: 'worker'|'main', fallback: reason|null, threads, startup,
//    firstMs: the first inference's ms (null before it), warmUp(),
//    classify(source, k) → {results, ms, start, end}, memory() → {numTensors, numBytes}}
// Start-up overlaps what it can: the worker's scripts load while config.json does,
// and the model downloads while TF.js itself loads and starts its backend. On a return
// visit the worker was started by boot.js (early-worker.js) and has been loading TF.js
// and the model since; it is adopted here.

import { checkWorkerMessage, shouldFallBack, startupTimeline } from './protocol.js';
import { getTf, loadRuntimeHere, startBackend, wasmThreads } from './runtime.js';
import { loadClassifier } from './classifier.js';
import { prefetchModel } from './model-files.js';
import { toMessage } from './image-source.js';
import { takeEarly } from './early-worker.js';

// [stage, shared-clock time] → {stage: ms since this page's navigation}
function sinceNavigation(marks = []) {
  return Object.fromEntries(marks.map(([stage, at]) => [stage, at - performance.timeOrigin]));
}

class EngineError extends Error {
  constructor(stage, message) {
    super(message);
    this.stage = stage;
  }
}

function startWorker({ config: configReady, forced, preferred = () => null, threads, base, runtime, onProgress, onBuild, onFatal }) {
  return new Promise((resolve, reject) => {
    const early = takeEarly();
    let worker;
    try {
      worker = early ? early.worker : new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'browsernet inference' });
    } catch (err) {
      reject(new EngineError('worker', `module workers are not available (${err.message})`));
      return;
    }
    const pending = new Map();
    let nextId = 1;
    let engine = null;
    let dead = null;
    let firstMs = null;

    // After start-up, a worker failure fails every request and the page: never silent.
    const die = (message) => {
      if (dead !== null) return;
      dead = message;
      worker.terminate();
      for (const { reject: fail } of pending.values()) fail(new Error(message));
      pending.clear();
      if (engine === null) reject(new EngineError('worker', message));
      else onFatal(new Error(message));
    };

    const request = (message, transfer = []) => {
      if (dead !== null) return Promise.reject(new Error(dead));
      const id = nextId++;
      return new Promise((res, rej) => {
        pending.set(id, { resolve: res, reject: rej });
        try {
          worker.postMessage({ ...message, id }, transfer);
        } catch (err) {
          pending.delete(id);
          rej(new Error(`could not send the image to the inference worker (${err.message})`));
        }
      });
    };

    worker.addEventListener('message', (event) => {
      let msg;
      try {
        msg = checkWorkerMessage(event.data);
      } catch (err) {
        die(err.message);
        return;
      }
      switch (msg.type) {
        case 'progress':
          onProgress(msg.fraction, msg.loaded);
          break;
        case 'building':
          onBuild();
          break;
        case 'ready':
          engine = Object.freeze({
            backend: msg.backend,
            skipped: msg.skipped ?? [],
            thread: 'worker',
            threads: msg.threads ?? null,
            fallback: null,
            startup: sinceNavigation(msg.startup),
            get firstMs() {
              return firstMs;
            },
            async warmUp() {
              await request({ type: 'warmup' });
            },
            async classify(source, k) {
              const { source: payload, name, transfer } = await toMessage(source);
              const reply = await request({ type: 'classify', source: payload, name, k }, transfer);
              return { results: reply.results, ms: reply.ms, first: reply.first, start: reply.start, end: reply.end };
            },
            async memory() {
              const { numTensors, numBytes } = await request({ type: 'memory' });
              return { numTensors, numBytes };
            },
          });
          resolve(engine);
          break;
        case 'result':
        case 'warmup':
        case 'memory': {
          if (msg.firstMs !== undefined) firstMs = msg.firstMs;
          const entry = pending.get(msg.id);
          pending.delete(msg.id);
          if (entry) entry.resolve(msg);
          break;
        }
        case 'error': {
          const entry = msg.id === null ? undefined : pending.get(msg.id);
          if (entry) {
            pending.delete(msg.id);
            entry.reject(new Error(msg.message));
          } else if (engine === null) {
            worker.terminate();
            reject(new EngineError(msg.stage, msg.message));
          } else {
            die(`The inference worker failed: ${msg.message}`);
          }
          break;
        }
        default:
          break;
      }
    });
    const onError = (event) => {
      event.preventDefault();
      die(event.message ? `The inference worker failed: ${event.message}` : 'The inference worker (js/worker.js) could not start');
    };
    worker.addEventListener('error', onError);
    early?.adopt(onError);
    worker.addEventListener('messageerror', () => die('The inference worker sent a message that could not be read'));
    configReady.then(
      (config) => worker.postMessage({
        type: 'init', runtime, backend: forced, preferred: preferred(config), threads: threads(config), config, base,
      }),
      (err) => {
        worker.terminate();
        reject(err); // config.json itself is broken: no engine would do better
      },
    );
  });
}

async function startMainThread({ config: configReady, forced, preferred = () => null, base, runtime, onProgress, onBuild }, fallback) {
  const { marks: startup, mark } = startupTimeline('main');
  const config = await configReady;
  const model = prefetchModel(config, { base, onProgress, mark });
  await loadRuntimeHere(runtime);
  mark('runtime');
  const tf = getTf(runtime);
  const skipped = [];
  const backend = await startBackend(tf, forced, {
    base, wasmFiles: config.wasmFiles, threads: false, runtime, preferred: preferred(config), skipped,
  });
  mark('backend');
  const classifier = await loadClassifier(tf, config, model, { onBuild, mark });
  return Object.freeze({
    backend,
    skipped,
    thread: 'main',
    threads: wasmThreads(tf),
    fallback,
    startup: sinceNavigation(startup),
    get firstMs() {
      return classifier.firstMs;
    },
    warmUp: () => classifier.warmUp(),
    async classify(source, k) {
      const { source: payload, name } = await toMessage(source);
      return classifier.classify(payload, name, k);
    },
    memory: () => classifier.memory(),
  });
}

/**
 * Starts inference in a module worker, or on the main thread when `useWorker` is
 * false or the worker cannot run the runtime or backend here. `config` is a
 * promise (config.js's loadConfig()), `threads(config)` the WASM threads to ask for,
 * `preferred(config)` the backend to try first (measured fastest here) or null, `runtime`
 * runtimeScripts(). `onFatal(err)` is called if the worker dies after start-up.
 */
export async function startEngine(options) {
  if (!options.useWorker) return startMainThread(options, 'turned off by ?worker=0');
  try {
    return await startWorker(options);
  } catch (err) {
    if (!(err instanceof EngineError) || !shouldFallBack(err.stage)) throw err;
    console.warn(`browsernet: inference falls back to the main thread: ${err.message}`);
    options.onFallback?.(err.message);
    try {
      return await startMainThread(options, err.message);
    } catch (mainErr) {
      // The same reason in both places (no WebGPU adapter on this device) is said once.
      const worker = err.message.includes(mainErr.message) || mainErr.message.includes(err.message)
        ? '' : ` (in a worker: ${err.message})`;
      throw new Error(`${mainErr.message}${worker}`, { cause: mainErr });
    }
  }
}
