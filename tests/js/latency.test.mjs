// Unit tests for the page's inference log (templates/js/latency.js), run by `node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { createInferenceLog, median, WINDOW } from '../../templates/js/latency.js';

test('median of a list', () => {
  assert.equal(median([]), null);
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

// A deterministic stream of latencies with repeats, drift and outliers.
function latencies(n, seed = 7) {
  let s = seed;
  return Array.from({ length: n }, (_, i) => {
    s = (s * 16807) % 2147483647;
    const noise = (s % 1000) / 100;
    return i % 97 === 0 ? 900 : Math.round((20 + i / 50 + noise) * 4) / 4; // quarters: many ties
  });
}

test('the running median is the median of the last `size` inferences, at every step', () => {
  const size = 25;
  const log = createInferenceLog(size);
  assert.equal(log.medianMs, null);
  const stream = latencies(400);
  stream.forEach((ms, i) => {
    log.record({ start: i, end: i + ms, ms });
    const window = stream.slice(Math.max(0, i + 1 - size), i + 1);
    assert.equal(log.medianMs, median(window), `after ${i + 1}`);
    assert.equal(log.samples, window.length);
    assert.equal(log.runs, i + 1);
  });
});

test('memory stays bounded however many images are classified', () => {
  const log = createInferenceLog();
  const stream = latencies(5 * WINDOW);
  stream.forEach((ms, i) => log.record({ start: i, end: i + ms, ms }));
  const kept = log.inferences();
  assert.equal(kept.length, WINDOW);
  assert.equal(log.samples, WINDOW);
  assert.equal(log.runs, 5 * WINDOW);
  // The last ones, oldest first, as copies the caller cannot use to change the log.
  assert.deepEqual(kept.map((t) => t.ms), stream.slice(-WINDOW));
  kept[0].ms = -1;
  assert.notEqual(log.inferences()[0].ms, -1);
});

test("the model's first inference is kept in the log but not in the median", () => {
  const log = createInferenceLog(3);
  log.record({ start: 0, end: 900, ms: 900, first: true });
  assert.equal(log.medianMs, null); // the slow first inference alone says nothing about the next ones
  assert.equal(log.runs, 0);
  [10, 12, 11].forEach((ms, i) => log.record({ start: i, end: i + ms, ms }));
  assert.equal(log.medianMs, 11);
  assert.deepEqual(log.inferences().map((t) => [t.ms, t.first]), [[10, false], [12, false], [11, false]]);
  assert.equal(log.samples, 3);
  assert.equal(log.runs, 3);
});

test('nonsense is refused', () => {
  assert.throws(() => createInferenceLog(0), RangeError);
  assert.throws(() => createInferenceLog().record({ start: 0, end: 1, ms: undefined }), TypeError);
});
