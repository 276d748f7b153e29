// browsernet bench harness: loads one TF.js model (layers or graph format) on one
// backend and times it. Both formats go through exactly the same code, so their
// figures compare like for like. One page per measurement: TF.js state is global.
// A layers model runs with the site's own TF.js fixes, as the site runs it.

import { useFastKernels } from './tfjs-fixes.js';

window.benchModel = async ({ format, url, backend, inputSize, runs, maxMs }) => {
  if (backend === 'wasm') tf.wasm.setWasmPaths(new URL('vendor/', location.href).href);
  await tf.setBackend(backend);
  await tf.ready();
  if (tf.getBackend() !== backend) throw new Error(`the ${backend} backend did not start (got ${tf.getBackend()})`);
  if (format === 'layers') useFastKernels(tf);
  const started = performance.now();
  const model = format === 'graph' ? await tf.loadGraphModel(url) : await tf.loadLayersModel(url);
  const loadMs = performance.now() - started;
  const x = tf.randomUniform([1, inputSize[0], inputSize[1], 3], -1, 1, 'float32', 7);
  // A layers model runs as the site runs it (execute: inference mode, no batching).
  const run = format === 'graph' ? () => model.predict(x) : () => model.execute(x, model.outputs[0].name);
  const once = async () => {
    const t0 = performance.now();
    const y = run();
    await y.data();
    y.dispose();
    return performance.now() - t0;
  };
  const firstMs = await once();
  const times = [];
  const loop = performance.now();
  while (times.length < runs && (times.length < 3 || performance.now() - loop < maxMs)) times.push(await once());
  x.dispose();
  model.dispose();
  return { loadMs, firstMs, times, threads: backend === 'wasm' ? tf.wasm.getThreadsCount() : null };
};
