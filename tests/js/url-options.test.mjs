// Unit tests for what the page's URL may ask for (templates/js/url-options.js), run by `node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { requestedBackend, requestedThreads, requestedWorker, wasmThreadCount } from '../../templates/js/url-options.js';

test('?backend= is read and validated', () => {
  assert.equal(requestedBackend(''), null);
  assert.equal(requestedBackend('?backend=wasm'), 'wasm');
  assert.equal(requestedBackend('?backend=webgpu'), 'webgpu');
  assert.throws(() => requestedBackend('?backend=webnn'), /not a known backend/);
  assert.equal(requestedBackend('?backend=WASM'), 'wasm'); // as people type it
});

test('?threads= is a whole number from 1 to 64, or refused as ?backend= is', () => {
  assert.equal(requestedThreads(''), null);
  assert.equal(requestedThreads('?threads=1'), 1);
  assert.equal(requestedThreads('?threads=64'), 64);
  for (const bad of ['0', '65', 'abc', '1.5', '-2', '1e1', '0x1', '2.0', ' 2']) {
    assert.throws(() => requestedThreads(`?threads=${bad}`), new RegExp(`\\?threads=${bad} is not a thread count`));
  }
});

test('?worker=0 turns the worker off', () => {
  assert.equal(requestedWorker(''), true);
  assert.equal(requestedWorker('?worker=0'), false);
  assert.equal(requestedWorker('?worker=off&backend=cpu'), false);
});

test('WASM threads: the URL overrides the build, and "auto" means every CPU', () => {
  assert.equal(wasmThreadCount('?threads=2', 1, 8), 2);
  assert.equal(wasmThreadCount('', 3, 8), 3);
  assert.equal(wasmThreadCount('', 'auto', 8), 8);
  assert.equal(wasmThreadCount('?threads=0', 'auto', undefined), 1);
  assert.equal(wasmThreadCount('?threads=abc', 1, 4), 1);
});
