// Picking and dropping image files: each gets a card, and a queue classifies them one
// at a time, in the order given, so a drop of many large photos never holds more than
// one decoded image (plus small thumbnails).

/**
 * Wires the file input and the drop zone of ui.js's `view`. `classify(file)`
 * resolves to `{results}` or rejects with a readable message.
 */
export function createFileInput(view, classify) {
  const { input, dropzone } = view.refs;
  const waiting = []; // {file, card}, oldest first
  let draining = false;
  let batch = { total: 0, done: 0, failed: 0 };

  async function drain() {
    if (draining) return;
    draining = true;
    while (waiting.length > 0) {
      const { file, card } = waiting.shift();
      await card.showThumbnail();
      try {
        card.showResults((await classify(file)).results);
      } catch (err) {
        batch.failed += 1;
        card.showError(err && err.message ? err.message : String(err));
      }
      batch.done += 1;
    }
    draining = false;
    const { total, failed } = batch;
    const classified = total - failed;
    const plural = (n) => `${n} image${n === 1 ? '' : 's'}`;
    view.setQueue(`Done: ${plural(classified)} classified${failed ? `, ${failed} could not be` : ''}.`);
    batch = { total: 0, done: 0, failed: 0 };
  }

  function add(files) {
    if (input.disabled || files.length === 0) return; // not ready, or failed to start
    for (const file of files) waiting.push({ file, card: view.addCard(file) });
    batch.total += files.length;
    view.setQueue(`Classifying ${batch.total} image${batch.total === 1 ? '' : 's'}…`);
    drain();
  }

  input.addEventListener('change', () => {
    add([...input.files]);
    input.value = ''; // so picking the same file again fires change
  });

  // A file dropped anywhere else would make the browser navigate away to it.
  for (const type of ['dragover', 'drop']) {
    document.addEventListener(type, (event) => event.preventDefault());
  }
  dropzone.addEventListener('dragover', (event) => {
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = input.disabled ? 'none' : 'copy';
    if (!input.disabled) dropzone.classList.add('is-dragging');
  });
  dropzone.addEventListener('dragleave', (event) => {
    if (!dropzone.contains(event.relatedTarget)) dropzone.classList.remove('is-dragging');
  });
  dropzone.addEventListener('drop', (event) => {
    event.preventDefault();
    dropzone.classList.remove('is-dragging');
    if (event.dataTransfer) add([...event.dataTransfer.files]);
  });
}
