// The page's DOM. References are taken once; every piece of text goes in via textContent.

import { formatPercent } from './pure.js';

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
    error: required(doc, 'error'),
    dropzone: required(doc, 'dropzone'),
    input: required(doc, 'file-input'),
    results: required(doc, 'results'),
  };

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

    if (!file.type || file.type.startsWith('image/')) {
      const img = el(doc, 'img', 'thumb');
      img.alt = '';
      img.decoding = 'async';
      const url = URL.createObjectURL(file);
      // The decoded image stays on screen after its URL is revoked.
      const revoke = () => URL.revokeObjectURL(url);
      img.addEventListener('load', revoke, { once: true });
      img.addEventListener('error', () => {
        revoke();
        img.remove();
      }, { once: true });
      img.src = url;
      thumbBox.append(img);
    }

    return {
      showResults(results) {
        card.dataset.state = 'done';
        const list = el(doc, 'ol', 'predictions');
        list.setAttribute('aria-label', `Top ${results.length} for ${file.name || 'this file'}`);
        for (const { label, probability } of results) {
          const row = el(doc, 'li', 'prediction');
          const text = el(doc, 'span', 'prediction-label', label);
          const pct = el(doc, 'span', 'prediction-pct', formatPercent(probability));
          const bar = el(doc, 'span', 'bar');
          bar.setAttribute('aria-hidden', 'true');
          const fill = el(doc, 'span', 'bar-fill');
          fill.style.width = `${Math.max(0, Math.min(1, probability)) * 100}%`;
          bar.append(fill);
          row.append(text, pct, bar);
          list.append(row);
        }
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
    setProgress(fraction) {
      refs.progress.value = fraction;
      const pct = Math.floor(fraction * 10) * 10;
      if (pct > lastSpokenPct) {
        lastSpokenPct = pct;
        refs.status.textContent = `Downloading model… ${pct}%`;
      }
    },
    setBackend(name) {
      refs.backend.textContent = name;
    },
    showFatal(message) {
      refs.error.textContent = message;
      refs.status.textContent = 'The classifier could not start.';
      refs.input.disabled = true;
    },
    enableInput() {
      refs.input.disabled = false;
    },
    addCard,
  };
}
