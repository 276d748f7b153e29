// Unit tests for the model card's rows (templates/js/model-card.js), run by `node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { modelCardRows, quantizationText, trainingRows } from '../../templates/js/model-card.js';

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
  assert.equal(rows['Inference time'],
    '12.3 ms median on this device (3 runs after the first; the model alone, not decoding and resizing the image)');
  const missing = Object.fromEntries(modelCardRows(null, { backend: null }, 'report.json: HTTP 404'));
  assert.match(missing['Build report'], /HTTP 404/);
  assert.equal(missing['Inference time'], 'not measured yet');
});

test('a median over a window says how many of all runs it covers', () => {
  const rows = Object.fromEntries(modelCardRows(null, { backend: 'cpu', thread: 'main', warmupMs: 5,
    medianMs: 40, samples: 200, runs: 5000 }));
  assert.equal(rows['Inference time'], '40.0 ms median on this device (the last 200 of 5000 runs after the first; '
    + 'the model alone, not decoding and resizing the image)');
  assert.equal(rows.Backend, 'cpu, on the main thread');
});

test('the quantization section reads as a phrase', () => {
  assert.equal(quantizationText({ mode: 'none', map: 'none' }), 'none');
  assert.equal(quantizationText({ mode: 'auto', map: 'auto: 105 uint16, 1 float32', auto: { agreement: 0.99 } }),
    'auto: 105 uint16, 1 float32 (99.0% top-1 agreement with float32)');
  assert.equal(quantizationText('float16'), 'float16');  // reports written before the section existed
});

test('a trained model shows its test accuracy and per-class precision and recall', () => {
  const training = { test_accuracy: 5 / 7, test_images: 7, train_images: 26, validation_accuracy: 0.75,
    per_class: { birds: { precision: 0.5, recall: 1, support: 1 }, primates: { precision: null, recall: null, support: 0 } } };
  const report = { family: 'mobilenet_v2', alpha: 1, input_size: [160, 160], parameters: 1, multiply_adds: 1,
    model_bytes: 1, total_bytes: 1, quantization: 'none', training };
  const rows = Object.fromEntries(modelCardRows(report, { backend: 'wasm' }));
  assert.equal(rows['Test accuracy'], '71.4% on 7 photos held out from training (26 photos trained on)');
  assert.equal(rows['Class “birds”'], 'precision 50%, recall 100% (1 photo in the test split)');
  assert.equal(rows['Class “primates”'], 'precision not measured, recall not measured (0 photos in the test split)');
  assert.deepEqual(trainingRows(undefined), []);  // any other model: no rows
  // Test photos with a near-copy in training make the figure optimistic: the card says so beside it.
  const [[, tainted]] = trainingRows({ ...training, test_near_copies: 2 });
  assert.equal(tainted, '71.4% on 7 photos held out from training (26 photos trained on); optimistic: 2 of them '
    + 'were seen in training (a near-copy in training or validation, or a photo that trained the base)');
  // 7 test photos measure little: the card gives the accuracy's 95% confidence interval beside it.
  const [[, ranged]] = trainingRows({ ...training, test_accuracy_95ci: [0.3589, 0.9178] });
  assert.equal(ranged, '71.4% (95% confidence interval 36–92%) on 7 photos held out from training '
    + '(26 photos trained on)');
  // The weights as stored, on the test photos the search did not see.
  const test = { images: 7, accuracy: { float32: 0.714, uint8: 0.571, auto: 0.714 } };
  assert.equal(quantizationText({ map: 'auto: 74 uint16, 32 uint8', auto: { agreement: 1, test } }),
    'auto: 74 uint16, 32 uint8 (100.0% top-1 agreement with float32, 71.4% test accuracy as stored, on 7 photos)');
});
