// Unit tests for the worker message protocol (templates/js/protocol.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { checkWorkerMessage, errorMessage, shouldFallBack, sharedNow, startupTimeline } from '../../templates/js/protocol.js';

test('errors are explicit messages with a stage', () => {
  assert.deepEqual(errorMessage(3, 'classify', new Error('x.png: could not decode image')),
    { type: 'error', id: 3, stage: 'classify', message: 'x.png: could not decode image' });
  assert.deepEqual(errorMessage(undefined, 'nonsense', 'boom'), { type: 'error', id: null, stage: 'worker', message: 'boom' });
});

test('only runtime, backend and worker failures fall back to the main thread', () => {
  assert.ok(shouldFallBack('backend') && shouldFallBack('runtime') && shouldFallBack('worker'));
  assert.ok(!shouldFallBack('model') && !shouldFallBack('classify'));
});

test('unknown or malformed worker messages are rejected, not ignored', () => {
  assert.equal(checkWorkerMessage({ type: 'ready', backend: 'wasm' }).type, 'ready');
  assert.throws(() => checkWorkerMessage({ type: 'hello' }), /unexpected message/);
  assert.throws(() => checkWorkerMessage(null), /unexpected message/);
  assert.throws(() => checkWorkerMessage({ type: 'result', results: [] }), /without a request id/);
  assert.equal(checkWorkerMessage({ type: 'building' }).type, 'building');
  assert.equal(checkWorkerMessage({ type: 'warmup', id: 3, firstMs: 210 }).firstMs, 210);
  assert.throws(() => checkWorkerMessage({ type: 'warmup', firstMs: 210 }), /without a request id/);
});

test('the shared clock is timeOrigin + now', () => {
  assert.equal(sharedNow({ timeOrigin: 1000, now: () => 5 }), 1005);
});

test('a start-up timeline marks stages in order on the shared clock', () => {
  const before = sharedNow();
  const { marks, mark } = startupTimeline('worker');
  mark('runtime');
  assert.deepEqual(marks.map(([stage]) => stage), ['worker', 'runtime']);
  assert.ok(before <= marks[0][1] && marks[0][1] <= marks[1][1] && marks[1][1] <= sharedNow());
});
