// Unit tests for the camera's timing and messages (templates/js/webcam.js), run by `node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { cameraErrorMessage, frameDelay, measuredFps } from '../../templates/js/webcam.js';

test('fps and the frame-rate cap', () => {
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
