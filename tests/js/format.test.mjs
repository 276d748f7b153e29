// Unit tests for how the page writes numbers and names (templates/js/format.js), run by `node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { downloadText, fileLabel, formatBytes, formatMs, formatPercent } from '../../templates/js/format.js';

test('percentages never show a misleading 0.0% or 100.0%', () => {
  assert.equal(formatPercent(0.5), '50.0%');
  assert.equal(formatPercent(0.0004), '<0.1%');
  assert.equal(formatPercent(0), '0.0%');
  assert.equal(formatPercent(0.9996), '>99.9%');
  assert.equal(formatPercent(0.9994), '99.9%');
  assert.equal(formatPercent(1), '100.0%');
});

test('download progress reads as bytes of the total, and never overshoots', () => {
  assert.equal(downloadText(3_200_000, 9_100_000), '3.2 MB of 9.1 MB');
  assert.equal(downloadText(0, 9_100_000), '0 B of 9.1 MB');
  assert.equal(downloadText(9_500_000, 9_100_000), '9.1 MB of 9.1 MB');
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(undefined), 'unknown');
});

test('milliseconds: one decimal below 100, whole above, and a phrase for none', () => {
  assert.equal(formatMs(12.25), '12.3 ms');
  assert.equal(formatMs(120.4), '120 ms');
  assert.equal(formatMs(null), 'not measured yet');
});

test('fileLabel names a file by its folder and name', () => {
  assert.equal(fileLabel('https://example.org/site/model/group1-shard1of2.0123456789ab.bin'), 'model/group1-shard1of2.0123456789ab.bin');
  assert.equal(fileLabel('http://127.0.0.1:8000/vendor/tf-layers.es2017.min.js?x=1'), 'vendor/tf-layers.es2017.min.js');
});
