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

// MobileNetV3's hard-sigmoid as browsernet writes it, and Keras 3's squeeze-and-excite gate.
function buildHardSigmoids() {
  const input = tf.input({ shape: [4, 4, 3] });
  const gate = tf.layers.reLU({ maxValue: 1 }).apply(tf.layers.rescaling({ scale: 1 / 6, offset: 0.5 }).apply(input));
  const swish = tf.layers.multiply().apply([input, gate]);
  let se = tf.layers.rescaling({ scale: 1, offset: 3 }).apply(swish);
  se = tf.layers.reLU({ maxValue: 6 }).apply(se);
  se = tf.layers.rescaling({ scale: 1 / 6, offset: 0 }).apply(se);
  const plain = tf.layers.reLU({}).apply(se);
  return tf.model({ inputs: input, outputs: plain });
}

test('hard-sigmoid layers run only the kernels that change a value, with identical numbers', async () => {
  await tf.setBackend('cpu');
  const x = tf.randomUniform([2, 4, 4, 3], -8, 8, 'float32', 5);
  const original = buildHardSigmoids(); // built from TF.js's own classes, whatever the registry holds
  let saved;
  await original.save(tf.io.withSaveHandler(async (artifacts) => {
    saved = artifacts;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  const before = await kernelsAndOutput(original, x);
  useFastKernels(tf);
  const after = await kernelsAndOutput(await tf.loadLayersModel(tf.io.fromMemory(saved)), x);

  const kernels = `${JSON.stringify(before.counts)} -> ${JSON.stringify(after.counts)}`;
  const total = (counts) => Object.values(counts).reduce((a, b) => a + b, 0);
  assert.equal(total(before.counts) - total(after.counts), 4, kernels); // a Mul by 1, an Add of 0, two Relus
  assert.equal(after.counts.Relu6, 1, kernels);
  assert.deepEqual(Array.from(after.values), Array.from(before.values));
  const spread = Math.max(...before.values) - Math.min(...before.values);
  assert.ok(spread > 0.1, `the outputs barely differ (${spread})`);
});
