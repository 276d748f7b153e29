// Picking, dropping and pasting image files: each gets a card, and a queue classifies them
// one at a time, in the order given, so a drop of many large photos never holds more than
// one decoded image (plus small thumbnails). Files given while the model loads wait for it.

import { formatPercent } from './format.js';

/**
 * What the queue's live region says when a batch is done: a screen reader hears the answer,
 * not only that there is one. `last` is the last classified file's `{name, label, probability}`.
 */
export function doneMessage(classified, failed, last) {
  const plural = (n) => `${n} image${n === 1 ? '' : 's'}`;
  const answer = last ? `${last.name}: ${last.label}, ${formatPercent(last.probability)}.` : '';
  if (classified === 1 && !failed && last) return `Done. ${answer}`;
  return `Done: ${plural(classified)} classified${failed ? `, ${failed} could not be` : ''}.`
    + (last ? ` Last: ${answer}` : '');
}

/**
 * What the queue says of a drop that brought no file (`types`: the drop's DataTransfer types): a link or a
 * picture dragged from another page comes as its address, which the page does not fetch (it sends and loads
 * nothing from other sites). Empty when there is nothing to say.
 */
export function dropWithoutFiles(types) {
  const list = [...(types || [])];
  if (list.includes('text/uri-list')) {
    return 'Nothing to classify: that was a link, not a file. Save the image on your device, then drop or '
      + 'choose the file.';
  }
  return list.length > 0 ? 'Nothing to classify: drop image files (JPEG, PNG, WebP, GIF).' : '';
}

/**
 * Wires the file input, the page's drop target (the whole page: a drop anywhere would
 * otherwise navigate away) and paste, for ui.js's `view`. `classify(file)` resolves to
 * `{results}` or rejects with a readable message.
 */
export function createFileInput(view, classify) {
  const { input, dropzone } = view.refs;
  const waiting = []; // {file, card}, oldest first
  let draining = false;
  let batch = { total: 0, done: 0, failed: 0 };
  let last = null; // the last classified file's top answer, for the live region

  async function drain() {
    if (draining) return;
    draining = true;
    while (waiting.length > 0) {
      const { file, card } = waiting.shift();
      await card.showThumbnail();
      try {
        const { results } = await classify(file);
        card.showResults(results);
        if (results.length > 0) last = { name: file.name || 'the image', ...results[0] };
      } catch (err) {
        batch.failed += 1;
        card.showError(err && err.message ? err.message : String(err));
      }
      batch.done += 1;
    }
    draining = false;
    const { total, failed } = batch;
    view.setQueue(doneMessage(total - failed, failed, last));
    batch = { total: 0, done: 0, failed: 0 };
    last = null;
  }

  function add(files) {
    if (files.length === 0) return;
    const state = document.body.dataset.state;
    if (state === 'error') { // the page says why, above
      view.setQueue('Nothing was classified: the classifier is not working (see the message above).');
      return;
    }
    for (const file of files) waiting.push({ file, card: view.addCard(file) });
    batch.total += files.length;
    const loading = state !== 'ready' ? ' (once the model has loaded)' : '';
    view.setQueue(`Classifying ${batch.total} image${batch.total === 1 ? '' : 's'}${loading}…`);
    drain();
  }

  input.addEventListener('change', () => {
    add([...input.files]);
    input.value = ''; // so picking the same file again fires change
  });

  // A file dropped anywhere on the page is classified: left to the browser, it would navigate away to it.
  document.addEventListener('dragover', (event) => event.preventDefault());
  document.addEventListener('drop', (event) => {
    event.preventDefault();
    dropzone.classList.remove('is-dragging');
    if (!event.dataTransfer) return;
    const files = [...event.dataTransfer.files];
    if (files.length === 0) {
      const said = dropWithoutFiles(event.dataTransfer.types);
      if (said) view.setQueue(said);
      return;
    }
    add(files);
  });
  dropzone.addEventListener('dragover', (event) => {
    const broken = document.body.dataset.state === 'error';
    if (event.dataTransfer) event.dataTransfer.dropEffect = broken ? 'none' : 'copy';
    if (!broken) dropzone.classList.add('is-dragging');
  });
  dropzone.addEventListener('dragleave', (event) => {
    if (!dropzone.contains(event.relatedTarget)) dropzone.classList.remove('is-dragging');
  });
  // An image pasted (Ctrl-V after copying a file or a picture) is classified like a dropped one, also with the
  // file picker or the fps slider focused; a paste into a field that takes text stays the field's.
  document.addEventListener('paste', (event) => {
    const files = [...(event.clipboardData ? event.clipboardData.files : [])];
    if (files.length === 0 || takesText(event.target)) return;
    event.preventDefault();
    add(files);
  });
}

/** Whether a paste on `target` belongs to it: a text field or an editable element, not the file picker or a slider. */
function takesText(target) {
  if (!target || typeof target.closest !== 'function') return false;
  if (target.isContentEditable || target.closest('textarea')) return true;
  const input = target.closest('input');
  return input !== null && !['file', 'range', 'button', 'checkbox', 'radio', 'submit', 'reset'].includes(input.type);
}
