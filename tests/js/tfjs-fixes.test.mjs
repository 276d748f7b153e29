// The page's corrections to TF.js (templates/js/tfjs-fixes.js), run by `node --test`
// on TF.js's CPU backend: a model saved by TF.js itself, loaded again with the fixes,
// must run fewer kernels and give the same numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import tf from '@tensorflow/tfjs';

import { useFastKernels } from '../../templates/js/tfjs-fixes.js';

// Every case the fixes take over (relu6, relu, elu, linear; with and without a bias;
// strides, a depth multiplier) and two they must leave to TF.js (tanh).
function buildModel() {
  const input = tf.input({ shape: [12, 12, 3] });
  let x = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu6' }).apply(input);
  x = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthMultiplier: 2, activation: 'relu6' }).apply(x);
  x = tf.layers.conv2d({ filters: 6, kernelSize: 1, useBias: false, activation: 'relu' }).apply(x);
  x = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'valid', useBias: false }).apply(x);
  x = tf.layers.depthwiseConv2d({ kernelSize: 1, activation: 'elu' }).apply(x);
  x = tf.layers.conv2d({ filters: 5, kernelSize: 1, activation: 'tanh' }).apply(x);
  x = tf.layers.depthwiseConv2d({ kernelSize: 1, activation: 'tanh' }).apply(x);
  const output = tf.layers.globalAveragePooling2d({}).apply(x);
  const model = tf.model({ inputs: input, outputs: output });
  // Biases far from zero and kernels large enough that relu6 clips: every path matters.
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
  model.setWeights(model.getWeights().map((w) => tf.tensor(Array.from({ length: w.size }, () => 3 * random()), w.shape)));
  return model;
}

async function kernelsAndOutput(model, x) {
  let y;
  const { kernels } = await tf.profile(() => {
    y = model.execute(x, model.outputs[0].name);
    return y;
  });
  const counts = {};
  for (const { name } of kernels) counts[name] = (counts[name] ?? 0) + 1;
  return { counts, values: await y.data() };
}

test('convolutions run as fused kernels, with the same numbers as TF.js-layers computes them', async () => {
  await tf.setBackend('cpu');
  const original = buildModel();
  const x = tf.randomUniform([2, 12, 12, 3], -1, 1, 'float32', 3);
  const before = await kernelsAndOutput(original, x);
  let saved;
  await original.save(tf.io.withSaveHandler(async (artifacts) => {
    saved = artifacts;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));

  useFastKernels(tf);
  const fixed = await tf.loadLayersModel(tf.io.fromMemory(saved));
  const after = await kernelsAndOutput(fixed, x);

  // TF.js-layers alone: relu6 as Relu + Minimum, a depthwise bias as Reshape + Add.
  assert.ok(before.counts.Minimum === 2 && before.counts.Add === 3 && before.counts.DepthwiseConv2dNative === 4,
    JSON.stringify(before.counts));
  const kernels = JSON.stringify(after.counts);
  assert.equal(after.counts.FusedConv2D, 3, kernels);
  assert.equal(after.counts.FusedDepthwiseConv2D, 3, kernels); // relu6, linear and elu
  for (const gone of ['Minimum', 'Relu', 'Relu6', 'Elu']) assert.equal(after.counts[gone], undefined, kernels);
  // The tanh layers are TF.js's own: convolution, then its bias (depthwise), then tanh.
  assert.equal(after.counts.DepthwiseConv2dNative, 1, kernels);
  assert.equal(after.counts.Add, 1, kernels);
  assert.equal(after.counts.Tanh, 2, kernels);

  assert.equal(after.values.length, before.values.length);
  const spread = Math.max(...before.values) - Math.min(...before.values);
  assert.ok(spread > 0.1, `the outputs barely differ (${spread})`);
  for (let i = 0; i < before.values.length; i++) {
    assert.ok(Math.abs(after.values[i] - before.values[i]) <= 1e-5, `output ${i}: ${after.values[i]} vs ${before.values[i]}`);
  }
});

// MobileNetV3 as browsernet writes it: hard-swish, Keras 3's squeeze-and-excite block (global
// average, gate, product), and a residual Add.
function buildMobileNetV3Block() {
  const input = tf.input({ shape: [4, 4, 3] });
  const gate = tf.layers.reLU({ maxValue: 1 }).apply(tf.layers.rescaling({ scale: 1 / 6, offset: 0.5 }).apply(input));
  const swish = tf.layers.multiply().apply([input, gate]);
  const squeezed = tf.layers.reshape({ targetShape: [1, 1, 3] }).apply(tf.layers.globalAveragePooling2d({}).apply(swish));
  let se = tf.layers.rescaling({ scale: 1, offset: 3 }).apply(squeezed);
  se = tf.layers.reLU({ maxValue: 6 }).apply(se);
  se = tf.layers.rescaling({ scale: 1 / 6, offset: 0 }).apply(se);
  const excited = tf.layers.multiply().apply([swish, se]);
  const output = tf.layers.add().apply([tf.layers.reLU({}).apply(excited), swish]);
  return tf.model({ inputs: input, outputs: output });
}

async function beforeAndAfter(backend) {
  await tf.setBackend(backend);
  const x = tf.randomUniform([2, 4, 4, 3], -8, 8, 'float32', 5);
  const original = buildMobileNetV3Block(); // built from TF.js's own classes, whatever the registry holds
  let saved;
  await original.save(tf.io.withSaveHandler(async (artifacts) => {
    saved = artifacts;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  const before = await kernelsAndOutput(original, x);
  useFastKernels(tf);
  const after = await kernelsAndOutput(await tf.loadLayersModel(tf.io.fromMemory(saved)), x);
  return { before, after, kernels: `${JSON.stringify(before.counts)} -> ${JSON.stringify(after.counts)}` };
}

function assertClose(after, before, tolerance) {
  assert.equal(after.length, before.length);
  for (let i = 0; i < before.length; i++) {
    const limit = tolerance * Math.max(1, Math.abs(before[i]));
    assert.ok(Math.abs(after[i] - before[i]) <= limit, `output ${i}: ${after[i]} vs ${before[i]}`);
  }
  const spread = Math.max(...before) - Math.min(...before);
  assert.ok(spread > 0.1, `the outputs barely differ (${spread})`);
}

test('CPU: hard-swish runs as one kernel, merges without a copy, gates with only the kernels that change a value', async () => {
  const { before, after, kernels } = await beforeAndAfter('cpu');
  assert.equal(before.counts.Identity, 3, kernels); // TF.js-layers copies the first input of each merge
  assert.equal(after.counts.Identity, undefined, kernels);
  assert.equal(after.counts.BrowsernetHardSwish, 1, kernels); // instead of a Mul, an Add, a clip and a Mul
  assert.equal(after.counts.ClipByValue, undefined, kernels);
  assert.equal(after.counts.Relu6, 1, kernels); // the squeeze-and-excite gate: Add(3), Relu6, Mul(1/6)
  assert.equal(after.counts.Multiply, 2, kernels); // the gate's 1/6 and the product
  assert.equal(after.counts.Add, 2, kernels); // the gate's + 3 and the residual
  assert.equal(after.counts.Mean, undefined, kernels); // the global average is one whole-image AvgPool
  assert.equal(after.counts.AvgPool, 1, kernels);
  // x · relu6(x + 3) / 6 rounded once, against TF.js's float32 steps: a float32 rounding apart.
  assertClose(after.values, before.values, 2e-6);
});

test('WASM: the same block without the merge copies; hard-swish stays four SIMD kernels', async () => {
  await import('@tensorflow/tfjs-backend-wasm');
  const { before, after, kernels } = await beforeAndAfter('wasm');
  assert.equal(after.counts.Identity, undefined, kernels);
  assert.equal(after.counts.BrowsernetHardSwish, undefined, kernels); // no CPU kernel on the WASM backend
  assert.equal(after.counts.ClipByValue, 1, kernels);
  assert.equal(after.counts.Mean, undefined, kernels);
  assert.equal(after.counts.AvgPool, 1, kernels);
  const total = (counts) => Object.values(counts).reduce((a, b) => a + b, 0);
  // Three merge copies, a Mul by 1, an Add of 0 and two Relus before a clip or a Relu6 gone; the
  // AvgPool's output is reshaped to (batch, channels), a view.
  assert.equal(total(before.counts) - total(after.counts), 6, kernels);
  assertClose(after.values, before.values, 1e-6); // the average summed in another order
});
