// Unit tests for fitting an image to the model's input (templates/js/resize.js), run by `node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { cropBox, resizeToInput } from '../../templates/js/resize.js';

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
