// Unit tests for what the queue's live region says (templates/js/file-input.js), run by `node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { doneMessage, dropWithoutFiles } from '../../templates/js/file-input.js';

test('a screen reader hears the answer, not only that there is one', () => {
  const last = { name: 'rex.jpg', label: 'German shepherd', probability: 0.9987 };
  assert.equal(doneMessage(1, 0, last), 'Done. rex.jpg: German shepherd, 99.9%.');
  assert.equal(doneMessage(3, 0, last), 'Done: 3 images classified. Last: rex.jpg: German shepherd, 99.9%.');
  assert.equal(doneMessage(1, 3, last), 'Done: 1 image classified, 3 could not be. Last: rex.jpg: German shepherd, '
    + '99.9%.');
  assert.equal(doneMessage(0, 2, null), 'Done: 0 images classified, 2 could not be.');
});

test('a drop without files says why nothing happened', () => {
  // A picture dragged from another page comes as its address (and its HTML), which the page never fetches.
  assert.match(dropWithoutFiles(['text/uri-list', 'text/plain']), /that was a link, not a file/);
  assert.match(dropWithoutFiles(['text/html', 'text/plain']), /drop image files/); // a selection of text
  assert.match(dropWithoutFiles(['text/plain']), /drop image files/);
  assert.equal(dropWithoutFiles([]), '');
});
