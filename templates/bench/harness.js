// browsernet bench harness: loads one model in one runtime and times it. Every format goes
// through the same timing loop and the same input, so their figures compare like for like:
//   layers, graph: TF.js (the page's layers model, or tensorflowjs's graph model), on any backend;
//   litert: LiteRT.js (@litertjs/core) on its WASM CPU runtime (XNNPACK);
//   onnx: onnxruntime-web's WASM execution provider.
// One page per measurement: runtime state is global. A layers model runs with the site's own
// TF.js fixes, as the site runs it. The input is the same function of the element index as
// builder/bench/run.py's, so the output can be checked against Keras.

import { useFastKernels } from './tfjs-fixes.js';

// x[i] in [-1, 1]: a pattern that needs no random generator, reproduced in Python.
function benchInput(length) {
  const x = new Float32Array(length);
  for (let i = 0; i < length; i++) x[i] = ((i * 2654435761) % 251) / 125 - 1;
  return x;
}

// TF.js's threaded WASM caps its pool at half of navigator.hardwareConcurrency; as the site's
// worker does, show it twice the real count so that `threads` can reach the CPU count.
// One thread runs the plain SIMD binary, as the site does.
// The site's WebGPU script registers the webgpu backend with the engine that vendor/tf.js made;
// it is loaded only for a webgpu run, so the other rows' runtime bytes stay TF.js's own.
function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`${src} did not load`));
    document.head.append(script);
  });
}

async function startTfjs(backend, threads) {
  if (backend === 'webgpu') await loadScript('vendor/tf-backend-webgpu.js');
  if (backend === 'wasm') {
    tf.wasm.setWasmPaths(new URL('vendor/', location.href).href);
    if (threads === 1) {
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    } else {
      const real = navigator.hardwareConcurrency || 1;
      Object.defineProperty(Object.getPrototypeOf(navigator), 'hardwareConcurrency',
        { configurable: true, get: () => real * 2 });
      tf.wasm.setThreadsCount(threads);
    }
  }
  await tf.setBackend(backend);
  await tf.ready();
  if (tf.getBackend() !== backend) throw new Error(`the ${backend} backend did not start (got ${tf.getBackend()})`);
}

async function tfjsRunner({ format, url, backend, inputSize, threads }) {
  await startTfjs(backend, threads);
  if (format === 'layers') useFastKernels(tf);
  const model = format === 'graph' ? await tf.loadGraphModel(url) : await tf.loadLayersModel(url);
  const x = tf.tensor(benchInput(inputSize[0] * inputSize[1] * 3), [1, inputSize[0], inputSize[1], 3]);
  // A layers model runs as the site runs it (execute: inference mode, no batching).
  const call = format === 'graph' ? () => model.predict(x) : () => model.execute(x, model.outputs[0].name);
  return {
    run: async () => {
      const y = call();
      const data = await y.data();
      y.dispose();
      return data;
    },
    threads: backend === 'wasm' ? tf.wasm.getThreadsCount() : null,
    dispose: () => { x.dispose(); model.dispose(); },
  };
}

async function litertRunner({ url, inputSize, threads }) {
  const litert = await import('./vendor/@litertjs/core/dist/index.js');
  // Its threaded build at every thread count: at numThreads 1 it ran 25 ms against its single-threaded
  // build's 42 ms (MobileNetV2 at 224, 2 Dec 2026), so the baseline is LiteRT.js at its fastest.
  await litert.loadLiteRt(new URL('vendor/@litertjs/core/wasm/', location.href).href, { threads: crossOriginIsolated });
  const model = await litert.loadAndCompile(url, { accelerator: 'wasm', cpuOptions: { numThreads: threads } });
  const input = new litert.Tensor(benchInput(inputSize[0] * inputSize[1] * 3), [1, inputSize[0], inputSize[1], 3]);
  return {
    run: async () => {
      const outputs = await model.run(input);
      const data = outputs[0].toTypedArray().slice();
      for (const t of outputs) t.delete();
      return data;
    },
    threads,
    dispose: () => { input.delete(); model.delete(); },
  };
}

async function onnxRunner({ url, inputSize, threads }) {
  const ort = await import('./vendor/onnxruntime-web/ort.wasm.min.mjs');
  ort.env.wasm.wasmPaths = new URL('vendor/onnxruntime-web/', location.href).href;
  ort.env.wasm.numThreads = threads;
  const session = await ort.InferenceSession.create(url, { executionProviders: ['wasm'] });
  const input = new ort.Tensor('float32', benchInput(inputSize[0] * inputSize[1] * 3),
    [1, inputSize[0], inputSize[1], 3]);
  const feeds = { [session.inputNames[0]]: input };
  return {
    run: async () => {
      const outputs = await session.run(feeds);
      const y = outputs[session.outputNames[0]];
      const data = y.data.slice();
      for (const t of Object.values(outputs)) t.dispose();
      return data;
    },
    threads,
    dispose: () => { input.dispose(); session.release(); },
  };
}

const RUNNERS = { layers: tfjsRunner, graph: tfjsRunner, litert: litertRunner, onnx: onnxRunner };

// One measurement in two calls, so that the bench can read the renderer's CPU time around the
// timed loop alone. benchLoad: {loadMs (runtime start, model download and compile), firstMs,
// threads, output (the first inference's output, flattened)}. benchTime: {times}.
let runner = null;

window.benchLoad = async (options) => {
  const started = performance.now();
  runner = await RUNNERS[options.format](options);
  const loadMs = performance.now() - started;
  const t0 = performance.now();
  const output = await runner.run();
  const firstMs = performance.now() - t0;
  return { loadMs, firstMs, threads: runner.threads, output: Array.from(output) };
};

window.benchTime = async ({ runs, maxMs }) => {
  const times = [];
  const loop = performance.now();
  while (times.length < runs && (times.length < 3 || performance.now() - loop < maxMs)) {
    const t0 = performance.now();
    await runner.run();
    times.push(performance.now() - t0);
  }
  runner.dispose();
  return { times };
};
