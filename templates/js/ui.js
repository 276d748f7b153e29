// The page's DOM. References are taken once; every piece of text goes in via textContent.

import { downloadText, formatPercent } from './format.js';

const THUMB_WIDTH = 360;

function required(doc, id) {
  const el = doc.getElementById(id);
  if (!el) throw new Error(`index.html is missing #${id}`);
  return el;
}

function el(doc, tag, className, text) {
  const node = doc.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Binds to the elements of index.html and returns the operations app.js needs. */
export function createView(doc = document) {
  const refs = {
    body: doc.body,
    status: required(doc, 'status'),
    progress: required(doc, 'progress'),
    backend: required(doc, 'backend'),
    thread: required(doc, 'thread'),
    queue: required(doc, 'queue'),
    modelCard: required(doc, 'model-card'),
    cameraStart: required(doc, 'camera-start'),
    cameraStop: required(doc, 'camera-stop'),
    cameraFps: required(doc, 'camera-fps'),
    cameraFpsValue: required(doc, 'camera-fps-value'),
    cameraStatus: required(doc, 'camera-status'),
    cameraView: required(doc, 'camera-view'),
    cameraVideo: required(doc, 'camera-video'),
    cameraMeasured: required(doc, 'camera-fps-measured'),
    cameraLatency: required(doc, 'camera-latency'),
    cameraResults: required(doc, 'camera-results'),
    error: required(doc, 'error'),
    dropzone: required(doc, 'dropzone'),
    input: required(doc, 'file-input'),
    results: required(doc, 'results'),
  };

  function predictionList(results, list = el(doc, 'ol', 'predictions')) {
    const rows = results.map(({ label, probability }) => {
      const row = el(doc, 'li', 'prediction');
      const text = el(doc, 'span', 'prediction-label', label);
      const pct = el(doc, 'span', 'prediction-pct', formatPercent(probability));
      const bar = el(doc, 'span', 'bar');
      bar.setAttribute('aria-hidden', 'true');
      const fill = el(doc, 'span', 'bar-fill');
      // CSSOM, not a style attribute: allowed by the page's style-src 'self'.
      fill.style.width = `${Math.max(0, Math.min(1, probability)) * 100}%`;
      bar.append(fill);
      row.append(text, pct, bar);
      return row;
    });
    list.replaceChildren(...rows);
    return list;
  }

  // Screen readers announce every change of a live region; only speak in 10% steps.
  let lastSpokenPct = -1;

  function addCard(file) {
    const card = el(doc, 'li', 'card');
    card.dataset.state = 'pending';
    const thumbBox = el(doc, 'div', 'card-thumb');
    const body = el(doc, 'div', 'card-body');
    const name = el(doc, 'h2', 'card-name', file.name || 'unnamed file');
    const status = el(doc, 'p', 'card-status', 'Classifying…');
    body.append(name, status);
    card.append(thumbBox, body);
    refs.results.append(card);

    return {
      /**
       * A small thumbnail, decoded at reduced size (EXIF-upright): a batch of large
       * photos must not keep full-size decoded images alive. Not an image: none.
       */
      async showThumbnail() {
        if (file.type && !file.type.startsWith('image/')) return;
        let bitmap;
        try {
          bitmap = await createImageBitmap(file, { resizeWidth: THUMB_WIDTH, resizeQuality: 'medium' });
        } catch {
          return; // the classifier reports the decoding error on the card
        }
        const canvas = el(doc, 'canvas', 'thumb');
        canvas.width = bitmap.width;
        canvas.height = bitmap.height;
        canvas.setAttribute('role', 'img');
        canvas.setAttribute('aria-label', `Thumbnail of ${file.name || 'the image'}`);
        canvas.getContext('2d').drawImage(bitmap, 0, 0);
        bitmap.close();
        thumbBox.append(canvas);
      },
      showResults(results) {
        card.dataset.state = 'done';
        const list = predictionList(results);
        list.setAttribute('aria-label', `Top ${results.length} for ${file.name || 'this file'}`);
        status.replaceWith(list);
      },
      showError(message) {
        card.dataset.state = 'error';
        status.className = 'card-status card-error';
        // The card already shows the file name; don't repeat it in the message.
        const prefix = `${file.name}: `;
        const text = file.name && message.startsWith(prefix) ? message.slice(prefix.length) : message;
        status.textContent = text.charAt(0).toUpperCase() + text.slice(1);
      },
    };
  }

  return {
    refs,
    setState(state) {
      refs.body.dataset.state = state;
    },
    setStatus(text) {
      refs.status.textContent = text;
    },
    setProgress(fraction, loaded, total) {
      refs.progress.value = fraction;
      if (Number.isFinite(loaded) && total > 0) refs.progress.title = downloadText(loaded, total);
      // Announced in steps of 10%, so a screen reader is not flooded.
      const pct = Math.floor(fraction * 10) * 10;
      if (pct > lastSpokenPct) {
        lastSpokenPct = pct;
        refs.status.textContent = Number.isFinite(loaded) && total > 0
          ? `Downloading model… ${downloadText(loaded, total)}` : `Downloading model… ${pct}%`;
      }
    },
    setBackend(name, thread, fallback) {
      refs.backend.textContent = name;
      refs.thread.textContent = thread === 'worker'
        ? '(in a Web Worker)'
        : `(on the main thread${fallback ? `: ${fallback}` : ''})`;
    },
    setQueue(text) {
      refs.queue.textContent = text;
    },
    setModelCard(rows) {
      const items = rows.flatMap(([term, value]) => {
        const wrap = el(doc, 'div', 'model-card-row');
        wrap.append(el(doc, 'dt', '', term), el(doc, 'dd', '', value));
        return [wrap];
      });
      refs.modelCard.replaceChildren(...items);
    },
    setCameraResults(results) {
      predictionList(results, refs.cameraResults);
    },
    showFatal(message, status = 'The classifier could not start.') {
      refs.error.textContent = message;
      refs.status.textContent = status;
      refs.input.disabled = true;
      refs.cameraStart.disabled = true;
      refs.cameraFps.disabled = true;
    },
    enableInput() {
      refs.input.disabled = false;
      refs.cameraStart.disabled = false;
      refs.cameraFps.disabled = false;
    },
    addCard,
  };
}
