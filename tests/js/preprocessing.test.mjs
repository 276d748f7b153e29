// Unit tests for the page's input scaling (templates/js/preprocessing.js), run by `node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { preprocessSpec, preprocessValue } from '../../templates/js/preprocessing.js';

test('preprocessing is Keras arithmetic in float32', () => {
  assert.equal(preprocessValue(0, 'mobilenet'), -1);
  assert.equal(preprocessValue(255, 'mobilenet'), 1);
  assert.equal(preprocessValue(127.5, 'mobilenet'), 0);
  assert.equal(preprocessValue(51, 'unit'), Math.fround(0.2));
  assert.equal(preprocessValue(200, 'raw'), 200);
  assert.throws(() => preprocessSpec('caffe'), /expected one of mobilenet, unit, raw/);
});
