// Unit tests for the model card's rows (templates/js/model-card.js), run by `node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { modelCardRows, quantizationText } from '../../templates/js/model-card.js';

test('the model card shows the report and the live measurements', () => {
  const report = { family: 'mobilenet_v2', alpha: 0.35, input_size: [96, 96], resize: 'crop', parameters: 412345,
    multiply_adds: 12_345_678, model_bytes: 1_650_000, total_bytes: 4_200_000, quantization: 'none' };
  const rows = Object.fromEntries(modelCardRows(report, { backend: 'wasm', thread: 'worker', warmupMs: 120.4,
    medianMs: 12.25, samples: 3, runs: 3 }));
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
  assert.equal(missing['Median latency'], 'not measured yet');
});

test('a median over a window says how many of all runs it covers', () => {
  const rows = Object.fromEntries(modelCardRows(null, { backend: 'cpu', thread: 'main', warmupMs: 5,
    medianMs: 40, samples: 200, runs: 5000 }));
  assert.equal(rows['Median latency'], '40.0 ms per image on this device (median of the last 200 of 5000 runs)');
  assert.equal(rows.Backend, 'cpu, on the main thread');
});

test('the quantization section reads as a phrase', () => {
  assert.equal(quantizationText({ mode: 'none', map: 'none' }), 'none');
  assert.equal(quantizationText({ mode: 'auto', map: 'auto: 105 uint16, 1 float32', auto: { agreement: 0.99 } }),
    'auto: 105 uint16, 1 float32 (99.0% top-1 agreement with float32)');
  assert.equal(quantizationText('float16'), 'float16');  // reports written before the section existed
});
