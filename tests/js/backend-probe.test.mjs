// Unit tests for the measured backend choice's pure parts (templates/js/backend-probe.js), run by `node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  choiceText, choose, fingerprint, loadChoice, maxAbsDifference, measureBackends, probeImage, probeOrder, readChoice,
  saveChoice, storageKey, TOLERANCE, webgpuUnavailable,
} from '../../templates/js/backend-probe.js';
import { errorMessage } from '../../templates/js/protocol.js';

const out = (...values) => Float32Array.from(values);

test('the fastest backend that agrees with the current one is chosen', () => {
  const results = [
    { backend: 'wasm', times: [20, 22, 21, 50, 19], output: out(0.25, 0.75) },
    { backend: 'webgpu', times: [9, 8, 10, 9, 30], output: out(0.25 + TOLERANCE / 2, 0.75 - TOLERANCE / 2) },
    { backend: 'webgl', times: [12, 12, 12, 12, 12], output: out(0.25, 0.75) },
  ];
  const { chosen, measured } = choose(results, 'wasm');
  assert.equal(chosen, 'webgpu');
  assert.deepEqual(measured.map((m) => [m.backend, m.medianMs, m.error]),
    [['wasm', 21, null], ['webgpu', 9, null], ['webgl', 12, null]]);
});

test('a faster backend whose output disagrees beyond the tolerance is never chosen', () => {
  const results = [
    { backend: 'wasm', times: [20], output: out(0.25, 0.75) },
    { backend: 'webgl', times: [5], output: out(0.2505, 0.7495) }, // float16-like error
    { backend: 'webgpu', times: [4], output: out(NaN, NaN) },
  ];
  const { chosen, measured } = choose(results, 'wasm');
  assert.equal(chosen, 'wasm');
  assert.match(measured[1].error, /differs from wasm's by 5\.0e-4/);
  assert.match(measured[2].error, /differs from wasm's/);
});

test('a backend that failed is dropped, and without the reference nothing is chosen', () => {
  const failed = { backend: 'webgl', error: 'timed out after 60 s' };
  const fine = { backend: 'wasm', times: [3, 4, 5], output: out(1) };
  assert.equal(choose([fine, failed], 'wasm').chosen, 'wasm');
  assert.deepEqual(choose([fine, failed], 'wasm').measured[1],
    { backend: 'webgl', medianMs: null, maxDiff: null, error: 'timed out after 60 s' });
  assert.equal(choose([{ backend: 'wasm', error: 'boom' }, { ...fine, backend: 'webgl' }], 'wasm').chosen, null);
  assert.equal(maxAbsDifference(out(1, 2), out(1)), Infinity);
});

test('the current backend is measured first, as the reference', () => {
  assert.deepEqual(probeOrder('wasm'), ['wasm', 'webgpu', 'webgl']);
  assert.deepEqual(probeOrder('cpu'), ['cpu', 'webgpu', 'webgl', 'wasm']);
});

test('a stored choice holds only for the runtime and model it was measured with', () => {
  const runtime = [{ src: 'a.js', integrity: 'sha384-A' }, { src: 'b.js', integrity: 'sha384-B', backend: 'webgpu' }];
  const config = { shardSha256: { 'group1-shard2of2.bin': 'f'.repeat(64), 'group1-shard1of2.bin': 'e'.repeat(64) } };
  const print = fingerprint(runtime, config);
  assert.deepEqual(print, { runtime: 'sha384-A sha384-B', model: `${'e'.repeat(64)} ${'f'.repeat(64)}` });
  const record = { ...print, chosen: 'webgl', measured: [], measuredAt: '2026-12-01T00:00:00Z' };
  const storage = new Map();
  const store = { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => storage.set(k, v) };
  const key = storageKey('https://example.org/site/index.html?backend=wasm');
  assert.equal(key, 'browsernet.backend:/site/');
  assert.equal(loadChoice(store, key, print), null);
  assert.equal(saveChoice(store, key, record), true);
  assert.equal(loadChoice(store, key, print).chosen, 'webgl');
  assert.equal(loadChoice(store, key, { ...print, runtime: 'sha384-C sha384-B' }), null); // a new TF.js
  assert.equal(loadChoice(store, key, { ...print, model: 'e'.repeat(64) }), null); // a new model
  assert.equal(readChoice('{not json', print), null);
  assert.equal(readChoice(JSON.stringify({ ...record, chosen: 'webnn' }), print), null);
  const refusing = { getItem: () => { throw new Error('SecurityError'); }, setItem: () => { throw new Error('QuotaExceededError'); } };
  assert.equal(loadChoice(refusing, key, print), null);
  assert.equal(saveChoice(refusing, key, record), false);
});

test('the probe image is fixed and varied', () => {
  const a = probeImage(4, 5);
  assert.equal(a.length, 4 * 5 * 3);
  assert.deepEqual(a, probeImage(4, 5));
  assert.ok(a.every((v) => Number.isInteger(v) && v >= 0 && v <= 255));
  assert.ok(new Set(a).size > 30);
});

test('WebGPU is unavailable without navigator.gpu or an adapter', async () => {
  assert.match(await webgpuUnavailable(undefined), /no WebGPU/);
  assert.equal(await webgpuUnavailable({ requestAdapter: async () => null }), 'no WebGPU adapter on this device');
  assert.equal(await webgpuUnavailable({ requestAdapter: async () => ({}) }), null);
  assert.match(await webgpuUnavailable({ requestAdapter: async () => { throw new Error('lost'); } }), /lost/);
});

test('the model card says what was measured and chosen', () => {
  const record = { chosen: 'wasm', measured: [
    { backend: 'wasm', medianMs: 21.04, maxDiff: 0, error: null },
    { backend: 'webgpu', medianMs: null, maxDiff: null, error: 'no WebGPU adapter on this device' },
  ] };
  assert.equal(choiceText({ state: 'measured', record }),
    'wasm, the fastest here (measured on this visit, median of 5 runs: wasm 21.0 ms; webgpu dropped (no WebGPU adapter on this device))');
  assert.match(choiceText({ state: 'remembered', record }), /measured on an earlier visit/);
  assert.equal(choiceText({ state: 'forced', backend: 'cpu' }), 'set by ?backend=cpu, not measured');
  assert.equal(choiceText({ state: 'measuring', candidates: ['wasm', 'webgl'] }), 'measuring wasm, webgl on this device…');
  assert.equal(choiceText(null), 'not measured yet');
});

// measureBackends() with a stand-in for the browser's Worker: each probe worker answers as
// worker.js does (protocol.js), or as `behaviour[backend]` says: 'hang' (never a word) or 'error'
// (an error message, as worker.js posts when its backend will not start). setTimeout is node:test's
// mock: the probe's timeout fires only when a hanging worker moves the clock past it (`onHang`), so
// a slow machine can never time out a worker that answers.
class FakeWorker {
  static started = [];
  static behaviour = {};
  static medians = {};
  static onHang = () => {};

  constructor(url, options) {
    this.url = String(url);
    this.name = options.name;
    this.backend = null;
    this.terminated = false;
    this.listeners = { message: [], error: [] };
    FakeWorker.started.push(this);
  }

  addEventListener(type, listener) {
    this.listeners[type].push(listener);
  }

  terminate() {
    this.terminated = true;
  }

  #send(data) {
    setImmediate(() => {
      if (!this.terminated) for (const listener of this.listeners.message) listener({ data });
    });
  }

  postMessage(msg) {
    if (msg.type === 'init') this.backend = msg.backend;
    const behaviour = FakeWorker.behaviour[this.backend] ?? 'answer';
    if (behaviour === 'hang') {
      if (msg.type === 'init') setImmediate(FakeWorker.onHang);
      return;
    }
    if (behaviour === 'error') {
      this.#send(errorMessage(null, 'backend', new Error(`${this.backend} did not start`)));
    } else if (msg.type === 'init') {
      this.#send({ type: 'ready', backend: this.backend, threads: null, startup: [] });
    } else if (msg.type === 'probe') {
      const ms = FakeWorker.medians[this.backend];
      this.#send({ type: 'probe', id: msg.id, firstMs: 3 * ms, times: Array(msg.runs).fill(ms), output: out(0.25, 0.75) });
    }
  }
}

const TIMEOUT_MS = 50;

async function measureWith(t, behaviour, order = ['wasm', 'webgpu', 'webgl']) {
  FakeWorker.started = [];
  FakeWorker.behaviour = behaviour;
  FakeWorker.medians = { wasm: 20, webgpu: 5, webgl: 10 };
  t.mock.timers.enable({ apis: ['setTimeout'] });
  FakeWorker.onHang = () => t.mock.timers.tick(TIMEOUT_MS);
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  globalThis.Worker = FakeWorker;
  // A device with a WebGPU adapter, so that WebGPU gets a worker of its own.
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: { requestAdapter: async () => ({}) } }, configurable: true });
  t.after(() => {
    delete globalThis.Worker;
    if (saved) Object.defineProperty(globalThis, 'navigator', saved);
    else delete globalThis.navigator;
  });
  const steps = [];
  const results = await measureBackends({
    order, runtime: [], config: { inputSize: [2, 2] }, base: 'https://example.org/', threads: 1, runs: 3,
    timeoutMs: TIMEOUT_MS, onStep: (backend) => steps.push(backend),
  });
  return { results, steps };
}

test('a backend that hangs is timed out, its worker ended, and the later ones still measured', async (t) => {
  const { results, steps } = await measureWith(t, { webgpu: 'hang' });
  assert.deepEqual(steps, ['wasm', 'webgpu', 'webgl']);
  assert.deepEqual(results.map((r) => [r.backend, r.error ?? null]),
    [['wasm', null], ['webgpu', 'timed out after 0.05 s'], ['webgl', null]]);
  assert.deepEqual(results[2].times, [10, 10, 10]);
  const hung = FakeWorker.started.find((w) => w.backend === 'webgpu');
  assert.equal(hung.terminated, true);
  // One fresh worker per backend, each ended once measured.
  assert.deepEqual(FakeWorker.started.map((w) => [w.backend, w.terminated]),
    [['wasm', true], ['webgpu', true], ['webgl', true]]);
  assert.ok(FakeWorker.started.every((w) => w.url.endsWith('/templates/js/worker.js')));
  // The fastest of the rest: WebGPU would have won, had it answered.
  const { chosen, measured } = choose(results, 'wasm');
  assert.equal(chosen, 'webgl');
  assert.deepEqual(measured.map((m) => [m.backend, m.medianMs, m.error]),
    [['wasm', 20, null], ['webgpu', null, 'timed out after 0.05 s'], ['webgl', 10, null]]);
});

test('a backend whose worker posts an error is dropped with its message', async (t) => {
  const { results } = await measureWith(t, { webgpu: 'error' });
  assert.deepEqual(results.map((r) => [r.backend, r.error ?? null]),
    [['wasm', null], ['webgpu', 'webgpu did not start'], ['webgl', null]]);
  assert.ok(FakeWorker.started.every((w) => w.terminated));
  assert.equal(choose(results, 'wasm').chosen, 'webgl');
});

test('a reference backend that hangs ends the measurement: nothing to compare with', async (t) => {
  const { results, steps } = await measureWith(t, { wasm: 'hang' });
  assert.deepEqual(steps, ['wasm']);
  assert.deepEqual(results, [{ backend: 'wasm', error: 'timed out after 0.05 s' }]);
  assert.equal(FakeWorker.started.length, 1);
  assert.equal(FakeWorker.started[0].terminated, true);
  assert.equal(choose(results, 'wasm').chosen, null);
});
