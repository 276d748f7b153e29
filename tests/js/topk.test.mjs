// Unit tests for top-K (templates/js/topk.js), run by `node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { resolveTopK, topK } from '../../templates/js/topk.js';

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
