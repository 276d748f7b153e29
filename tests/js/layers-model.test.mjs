// templates/js/layers-model.js, run by `node --test` on TF.js's CPU backend: a model built
// from model.json and its shards with each weight made once must be the model that
// tf.loadLayersModel() builds from the same files, and a manifest that does not fit the
// topology or the bytes must be refused, naming the weight, without leaking tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import tf from '@tensorflow/tfjs';

import { buildLayersModel, weightTensors } from '../../templates/js/layers-model.js';

await tf.setBackend('cpu');

// Convolutions, a depthwise convolution, a BatchNorm and a dense head: every weight kind
// a MobileNet has, with values far from any initializer's.
function buildModel() {
  const input = tf.input({ shape: [10, 10, 3] });
  let x = tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', name: 'stem' }).apply(input);
  x = tf.layers.batchNormalization({ name: 'stem_bn' }).apply(x);
  x = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', name: 'dw' }).apply(x);
  x = tf.layers.globalAveragePooling2d({}).apply(x);
  const output = tf.layers.dense({ units: 5, activation: 'softmax', name: 'head' }).apply(x);
  const model = tf.model({ inputs: input, outputs: output });
  let seed = 7;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
  model.setWeights(model.getWeights().map((w, i) =>
    tf.tensor(Array.from({ length: w.size }, () => (i === 4 ? 1.5 + random() : random())), w.shape)));
  return model;
}

async function saved(model) {
  let artifacts;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return artifacts;
}

// The artifacts with one weight stored as TF.js's uint8 quantization (so every later float32
// weight starts at an offset that is not a multiple of 4), cut into shards of `shardBytes`.
function quantizedAndSharded(artifacts, quantize, shardBytes) {
  const parts = [];
  const specs = [];
  let offset = 0;
  const all = new Uint8Array(artifacts.weightData);
  for (const spec of artifacts.weightSpecs) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(all.slice(offset, offset + 4 * n).buffer);
    offset += 4 * n;
    if (spec.name === quantize) {
      const min = Math.min(...values);
      const scale = (Math.max(...values) - min) / 255;
      parts.push(Uint8Array.from(values, (v) => Math.round((v - min) / scale)));
      specs.push({ ...spec, quantization: { dtype: 'uint8', scale, min } });
    } else {
      parts.push(new Uint8Array(values.buffer));
      specs.push(spec);
    }
  }
  const stream = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  parts.reduce((at, p) => (stream.set(p, at), at + p.byteLength), 0);
  const shards = [];
  for (let at = 0; at < stream.byteLength; at += shardBytes) shards.push(stream.slice(at, at + shardBytes).buffer);
  return { modelTopology: artifacts.modelTopology, weightSpecs: specs, stream: stream.buffer, shards };
}

async function outputs(model, x) {
  const y = model.predict(x);
  const values = await y.data();
  y.dispose();
  return values;
}

test('the model is the one tf.loadLayersModel() builds from the same files, quantized and split weights included', async () => {
  const original = buildModel();
  const files = quantizedAndSharded(await saved(original), 'stem/bias', 301);
  assert.ok(files.shards.length > 3);
  const x = tf.randomUniform([3, 10, 10, 3], 0, 1, 'float32', 5);
  const reference = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: files.modelTopology, weightSpecs: files.weightSpecs, weightData: files.stream,
  }));
  const before = tf.memory().numTensors;
  const built = await buildLayersModel(tf, files, files.shards);
  // One tensor per weight, nothing left over.
  assert.equal(tf.memory().numTensors - before, built.weights.length);
  assert.deepEqual(built.weights.map((w) => w.originalName), reference.weights.map((w) => w.originalName));
  for (const [a, b] of built.getWeights().map((w, i) => [w, reference.getWeights()[i]])) {
    assert.deepEqual(Array.from(await a.data()), Array.from(await b.data()));
  }
  assert.deepEqual(Array.from(await outputs(built, x)), Array.from(await outputs(reference, x)));
  // The quantized weight was dequantized, not read as float32.
  const bias = built.weights.find((w) => w.originalName === 'stem/bias').read();
  assert.ok(Math.max(...(await bias.data()).map(Math.abs)) <= 1.001);
  // The hook is gone: a layer built afterwards gets its own initializer.
  const later = tf.layers.dense({ units: 2, kernelInitializer: 'ones' });
  later.apply(tf.input({ shape: [3] }));
  assert.deepEqual(Array.from(await later.getWeights()[0].data()), [1, 1, 1, 1, 1, 1]);
  built.dispose();
  reference.dispose();
  x.dispose();
});

test('a manifest that does not fit the topology or the bytes is refused, naming the weight, with no tensor left', async () => {
  const files = quantizedAndSharded(await saved(buildModel()), null, 1000);
  const last = files.weightSpecs.at(-1);
  const lastBytes = 4 * last.shape.reduce((a, b) => a * b, 1);
  const cases = [
    // The last weight left out of the manifest and of the bytes.
    [{ weightSpecs: files.weightSpecs.slice(0, -1) }, [files.shards[0], files.shards[1].slice(0, -lastBytes)],
      new RegExp(`weight ${last.name} is not in the manifest`)],
    [{ weightSpecs: [...files.weightSpecs, { name: 'extra/kernel', shape: [2], dtype: 'float32' }] },
      [...files.shards, new ArrayBuffer(8)], /extra\/kernel belongs to no layer/],
    [{ weightSpecs: files.weightSpecs.map((s) => (s.name === 'dw/depthwise_kernel' ? { ...s, name: 'dw/other' } : s)) },
      files.shards, /dw\/depthwise_kernel is not in the manifest.*dw\/other belongs to no layer/],
    [{}, files.shards.slice(0, -1), /end before weight/],
    [{}, [...files.shards, new ArrayBuffer(4)], /hold \d+ bytes/],
    [{ weightSpecs: files.weightSpecs.map((s) => (s.name === 'head/bias' ? { ...s, shape: [1, 5] } : s)) },
      files.shards, /head\/bias has shape \[1,5\] in the manifest, but its layer needs \[5\]/],
  ];
  // Topologies TF.js cannot build: TF.js's own errors, before any layer has weights or after some have.
  const unknown = structuredClone(files.modelTopology);
  unknown.config.layers.at(-1).class_name = 'NoSuchLayer';
  cases.push([{ modelTopology: unknown }, files.shards, /NoSuchLayer/]);
  const late = structuredClone(files.modelTopology);
  late.config.layers.find((l) => l.name === 'head').inbound_nodes[0][0][2] = 3; // no such output tensor
  cases.push([{ modelTopology: late }, files.shards, /./]);
  for (const [change, shards, message] of cases) {
    const before = tf.memory().numTensors;
    await assert.rejects(buildLayersModel(tf, { ...files, ...change }, shards), message);
    assert.equal(tf.memory().numTensors, before, String(message));
  }
});

test('weightTensors() reads a weight that spans shards', async () => {
  const values = Float32Array.from([1.5, -2, 3.25, 4]);
  const bytes = new Uint8Array(values.buffer);
  const tensors = weightTensors(tf, [{ name: 'w', shape: [2, 2], dtype: 'float32' }],
    [bytes.slice(0, 6).buffer, bytes.slice(6).buffer]);
  assert.deepEqual(Array.from(await tensors.get('w').data()), Array.from(values));
  tf.dispose([...tensors.values()]);
});
