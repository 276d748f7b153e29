// Unit tests for the page's pure helpers (templates/js/pure.js), run by `node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  cameraErrorMessage, cropBox, downloadText, fileLabel, quantizationText, wasmThreadCount, formatBytes, formatPercent, frameDelay, measuredFps, median, modelCardRows,
  preprocessSpec, preprocessValue, requestedBackend, requestedWorker, resizeToInput, resolveTopK, topK, validateConfig,
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
  const good = { labels: ['x'], inputSize: [96, 96], preprocess: 'unit', topK: 1, modelUrl: 'model/model.json',
    resize: 'crop', shardSha256: { 'group1-shard1of1.bin': 'ab'.repeat(32) } };
  assert.deepEqual(validateConfig(good).inputSize, [96, 96]);
  assert.throws(() => validateConfig({ ...good, labels: [], topK: 0 }), /labels.*topK/);
  assert.throws(() => validateConfig({ ...good, modelUrl: 'https://cdn.example/model.json' }), /relative URL/);
  assert.throws(() => validateConfig({ ...good, modelUrl: '/model.json' }), /relative URL/);
  assert.equal(validateConfig(good).resize, 'crop');
  assert.throws(() => validateConfig({ ...good, resize: 'stretch' }), /"resize" must be one of squash, crop/);
  assert.throws(() => validateConfig({ ...good, shardSha256: undefined }), /shardSha256/);
  assert.throws(() => validateConfig({ ...good, shardSha256: { 'a.bin': 'xyz' } }), /shardSha256/);
});

test('percentages never show a misleading 0.0%', () => {
  assert.equal(formatPercent(0.5), '50.0%');
  assert.equal(formatPercent(0.0004), '<0.1%');
  assert.equal(formatPercent(0), '0.0%');
});

test('?worker=0 turns the worker off', () => {
  assert.equal(requestedWorker(''), true);
  assert.equal(requestedWorker('?worker=0'), false);
  assert.equal(requestedWorker('?worker=off&backend=cpu'), false);
});

test('crop boxes follow Keras crop_to_aspect_ratio', () => {
  assert.deepEqual(cropBox(150, 120, [96, 96]), { x: 15, y: 0, width: 120, height: 120 });
  assert.deepEqual(cropBox(6000, 4000, [160, 160]), { x: 1000, y: 0, width: 4000, height: 4000 });
  assert.deepEqual(cropBox(1, 1, [96, 96]), { x: 0, y: 0, width: 1, height: 1 });
  assert.deepEqual(cropBox(3, 1, [2, 4]), { x: 0, y: 0, width: 2, height: 1 });
  assert.deepEqual(cropBox(150, 120, [96, 96], 'squash'), { x: 0, y: 0, width: 150, height: 120 });
  assert.throws(() => cropBox(1, 1, [1, 1], 'fit'), /unknown resize rule/);
});

test('bilinear resize: identity at the same size, half-pixel centres, white behind transparency', () => {
  const rgba = new Uint8ClampedArray([0, 0, 0, 255, 100, 50, 200, 255]); // 2x1
  assert.deepEqual([...resizeToInput(rgba, 2, 1, [1, 2])], [0, 0, 0, 100, 50, 200]);
  // 2 -> 1 pixel: the centre falls halfway between the two.
  assert.deepEqual([...resizeToInput(rgba, 2, 1, [1, 1])], [50, 25, 100]);
  // 1 -> 4: every output is the single input (edge clamping).
  assert.deepEqual([...resizeToInput(new Uint8ClampedArray([9, 8, 7, 255]), 1, 1, [2, 2])], [9, 8, 7, 9, 8, 7, 9, 8, 7, 9, 8, 7]);
  assert.deepEqual([...resizeToInput(new Uint8ClampedArray([0, 0, 0, 0]), 1, 1, [1, 1])], [255, 255, 255]);
  assert.deepEqual([...resizeToInput(new Uint8ClampedArray([0, 0, 0, 51]), 1, 1, [1, 1])].map(Math.round), [204, 204, 204]);
  // crop: a 3x1 image cropped to its centre pixel for a square input.
  const row = new Uint8ClampedArray([10, 10, 10, 255, 20, 20, 20, 255, 30, 30, 30, 255]);
  assert.deepEqual([...resizeToInput(row, 3, 1, [1, 1], 'crop')], [20, 20, 20]);
  assert.throws(() => resizeToInput(new Uint8ClampedArray(4), 2, 2, [1, 1]), /does not hold 2×2/);
});

test('median, fps and the frame-rate cap', () => {
  assert.equal(median([]), null);
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(measuredFps([0]), null);
  assert.equal(measuredFps([0, 500, 1000]), 2);
  assert.equal(frameDelay(null, 10, 2), 0);
  assert.equal(frameDelay(1000, 1200, 2), 300);
  assert.equal(frameDelay(1000, 2000, 2), 0);
});

test('camera failures are said plainly', () => {
  assert.match(cameraErrorMessage('NotAllowedError'), /denied/);
  assert.match(cameraErrorMessage('NotFoundError'), /No camera/);
  assert.match(cameraErrorMessage('NoMediaDevices'), /secure/);
  assert.match(cameraErrorMessage('WeirdError', 'oops'), /WeirdError: oops/);
});

test('the model card shows the report and the live measurements', () => {
  const report = { family: 'mobilenet_v2', alpha: 0.35, input_size: [96, 96], resize: 'crop', parameters: 412345,
    multiply_adds: 12_345_678, model_bytes: 1_650_000, total_bytes: 4_200_000, quantization: 'none' };
  const rows = Object.fromEntries(modelCardRows(report, { backend: 'wasm', thread: 'worker', warmupMs: 120.4,
    medianMs: 12.25, samples: 3 }));
  assert.equal(rows.Family, 'MobileNet V2');
  assert.equal(rows['Alpha (width)'], '0.35');
  assert.equal(rows['Input size'], '96×96 pixels, resized by centre crop');
  assert.equal(rows.Parameters, '412,345');
  assert.equal(rows['Multiply-adds'], '12.3 M');
  assert.equal(rows['Download size'], '1.6 MB model, 4.2 MB site');
  assert.equal(rows.Backend, 'wasm, in a Web Worker');
  assert.equal(rows['First inference'], '120 ms');
  assert.equal(rows['Median latency'], '12.3 ms per image on this device (3 runs)');
  const missing = Object.fromEntries(modelCardRows(null, { backend: null }, 'report.json: HTTP 404'));
  assert.match(missing['Build report'], /HTTP 404/);
  assert.equal(formatBytes(999), '999 B');
});

test('download progress reads as bytes of the total, and never overshoots', () => {
  assert.equal(downloadText(3_200_000, 9_100_000), '3.2 MB of 9.1 MB');
  assert.equal(downloadText(0, 9_100_000), '0 B of 9.1 MB');
  assert.equal(downloadText(9_500_000, 9_100_000), '9.1 MB of 9.1 MB');
});

test('the config carries the model download size when the build recorded it', () => {
  const base = { labels: ['a', 'b'], inputSize: [8, 8], preprocess: 'unit', topK: 1, shardSha256: {} };
  assert.equal(validateConfig({ ...base, modelBytes: 1234 }).modelBytes, 1234);
  assert.equal(validateConfig(base).modelBytes, null);
  assert.equal(validateConfig({ ...base, modelBytes: -1 }).modelBytes, null);
});

test('WASM threads: the URL overrides the build, and "auto" means every CPU', () => {
  assert.equal(wasmThreadCount('?threads=2', 1, 8), 2);
  assert.equal(wasmThreadCount('', 3, 8), 3);
  assert.equal(wasmThreadCount('', 'auto', 8), 8);
  assert.equal(wasmThreadCount('?threads=0', 'auto', undefined), 1);
  assert.equal(wasmThreadCount('?threads=abc', 1, 4), 1);
});

test('the quantization section reads as a phrase', () => {
  assert.equal(quantizationText({ mode: 'none', map: 'none' }), 'none');
  assert.equal(quantizationText({ mode: 'auto', map: 'auto: 105 uint16, 1 float32', auto: { agreement: 0.99 } }),
    'auto: 105 uint16, 1 float32 (99.0% top-1 agreement with float32)');
  assert.equal(quantizationText('float16'), 'float16');  // reports written before the section existed
});

test('fileLabel names a file by its folder and name', () => {
  assert.equal(fileLabel('https://example.org/site/model/group1-shard1of2.0123456789ab.bin'), 'model/group1-shard1of2.0123456789ab.bin');
  assert.equal(fileLabel('http://127.0.0.1:8000/vendor/tf-layers.es2017.min.js?x=1'), 'vendor/tf-layers.es2017.min.js');
});
