// Unit tests for config.json's validation (templates/js/config.js), run by `node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { validateConfig } from '../../templates/js/config.js';

const GOOD = Object.freeze({
  labels: ['x'], inputSize: [96, 96], preprocess: 'unit', topK: 1, modelUrl: 'model/model.json', resize: 'crop',
  shardSha256: { 'group1-shard1of1.0123456789ab.bin': 'ab'.repeat(32) },
  hashedName: '\\.[0-9a-f]{12}\\.[A-Za-z0-9]+$',
  wasmFiles: { 'tfjs-backend-wasm.wasm': 'vendor/tfjs-backend-wasm.wasm' },
});

test('config.json is validated with every problem reported', () => {
  assert.deepEqual(validateConfig(GOOD).inputSize, [96, 96]);
  assert.throws(() => validateConfig({ ...GOOD, labels: [], topK: 0 }), /labels.*topK/);
  assert.throws(() => validateConfig({ ...GOOD, modelUrl: 'https://cdn.example/model.json' }), /relative URL/);
  assert.throws(() => validateConfig({ ...GOOD, modelUrl: '/model.json' }), /relative URL/);
  assert.throws(() => validateConfig({ ...GOOD, modelUrl: undefined }), /modelUrl/);
  assert.equal(validateConfig(GOOD).resize, 'crop');
  assert.throws(() => validateConfig({ ...GOOD, resize: 'stretch' }), /"resize" must be one of squash, crop/);
  assert.throws(() => validateConfig({ ...GOOD, shardSha256: undefined }), /shardSha256/);
  assert.throws(() => validateConfig({ ...GOOD, shardSha256: { 'a.bin': 'xyz' } }), /shardSha256/);
  assert.throws(() => validateConfig([]), /expected a JSON object/);
});

test('the site layout comes from the build: the hashed-name pattern and the WASM binaries', () => {
  const config = validateConfig(GOOD);
  assert.ok(new RegExp(config.hashedName).test('model/group1-shard1of1.0123456789ab.bin'));
  assert.ok(!new RegExp(config.hashedName).test('model/model.json'));
  assert.deepEqual(config.wasmFiles, GOOD.wasmFiles);
  assert.throws(() => validateConfig({ ...GOOD, hashedName: undefined }), /hashedName/);
  assert.throws(() => validateConfig({ ...GOOD, hashedName: '(' }), /hashedName/);
  assert.throws(() => validateConfig({ ...GOOD, wasmFiles: {} }), /wasmFiles/);
  assert.throws(() => validateConfig({ ...GOOD, wasmFiles: { 'a.wasm': 'https://cdn.example/a.wasm' } }), /wasmFiles/);
  // Every problem at once.
  assert.throws(() => validateConfig({ ...GOOD, hashedName: 1, wasmFiles: null }), /hashedName.*wasmFiles/);
});

test('the config carries the model download size when the build recorded it', () => {
  assert.equal(validateConfig({ ...GOOD, modelBytes: 1234 }).modelBytes, 1234);
  assert.equal(validateConfig(GOOD).modelBytes, null);
  assert.equal(validateConfig({ ...GOOD, modelBytes: -1 }).modelBytes, null);
});

test('a validated config survives being posted to the worker (structured clone)', () => {
  const config = validateConfig(GOOD);
  assert.deepEqual(validateConfig(structuredClone(config)), config);
});
