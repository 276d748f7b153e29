// Unit tests for the page's pure helpers (templates/js/pure.js), run by `node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  formatPercent, preprocessSpec, preprocessValue, requestedBackend, resolveTopK, topK, validateConfig,
} from '../../templates/js/pure.js';

test('preprocessing is Keras arithmetic in float32', () => {
  assert.equal(preprocessValue(0, 'mobilenet'), -1);
  assert.equal(preprocessValue(255, 'mobilenet'), 1);
  assert.equal(preprocessValue(127.5, 'mobilenet'), 0);
  assert.equal(preprocessValue(51, 'unit'), Math.fround(0.2));
  assert.equal(preprocessValue(200, 'raw'), 200);
  assert.throws(() => preprocessSpec('caffe'), /expected one of mobilenet, unit, raw/);
});

test('topK sorts by probability, ties by index, and caps at the label count', () => {
  const labels = ['a', 'b', 'c', 'd'];
  const probs = new Float32Array([0.1, 0.4, 0.1, 0.4]);
  assert.deepEqual(topK(probs, labels, 3).map((r) => r.index), [1, 3, 0]);
  assert.deepEqual(Object.keys(topK(probs, labels, 1)[0]).sort(), ['index', 'label', 'probability']);
  assert.equal(topK(probs, labels, 10).length, 4);
});

test('resolveTopK uses the default, caps, and rejects nonsense', () => {
  assert.equal(resolveTopK(undefined, 5, 19), 5);
  assert.equal(resolveTopK(19, 5, 19), 19);
  assert.equal(resolveTopK(50, 5, 19), 19);
  for (const bad of [0, -1, 2.5, '3']) assert.throws(() => resolveTopK(bad, 5, 19), RangeError);
});

test('?backend= is read and validated', () => {
  assert.equal(requestedBackend(''), null);
  assert.equal(requestedBackend('?backend=wasm'), 'wasm');
  assert.throws(() => requestedBackend('?backend=webgpu'), /not a known backend/);
});

test('config.json is validated with every problem reported', () => {
  const good = { labels: ['x'], inputSize: [96, 96], preprocess: 'unit', topK: 1, modelUrl: 'model/model.json' };
  assert.deepEqual(validateConfig(good).inputSize, [96, 96]);
  assert.throws(() => validateConfig({ ...good, labels: [], topK: 0 }), /labels.*topK/);
  assert.throws(() => validateConfig({ ...good, modelUrl: 'https://cdn.example/model.json' }), /relative URL/);
  assert.throws(() => validateConfig({ ...good, modelUrl: '/model.json' }), /relative URL/);
});

test('percentages never show a misleading 0.0%', () => {
  assert.equal(formatPercent(0.5), '50.0%');
  assert.equal(formatPercent(0.0004), '<0.1%');
  assert.equal(formatPercent(0), '0.0%');
});
