// The inference worker, started by this module (an async module script in index.html's
// <head>, so it runs as soon as it arrives, before the page is parsed or its other modules
// have loaded) on a return visit that will not reload: the service worker controls the page
// and it is cross-origin isolated already (offline.js's startOffline() then resolves
// 'controlled'). The worker loads its modules, TF.js and the model files (each checked as
// usual: the runtime against its integrity hash, every shard against its sha256) while the
// page loads its own modules and config.json; engine.js then adopts it. Anything else (a first
// visit, ?worker=0, a page that will reload for isolation) starts the worker as before.

import { requestedWorker } from './url-options.js';

let early = null; // {worker, errors: [ErrorEvent], keep: listener}, until engine.js takes it
let taken = false; // engine.js asked already: too late to start one here

/** Whether this page load may start the worker early: it will not reload, and wants a worker. */
export function mayStartEarly(win = window) {
  const sw = win.navigator.serviceWorker;
  return Boolean(win.isSecureContext && win.crossOriginIsolated && sw && sw.controller !== null &&
    requestedWorker(win.location.search));
}

/**
 * Starts the inference worker and asks it to preload (protocol.js's 'preload') the runtime
 * listed in `doc` (its <script id="runtime"> block's text, parsed in the worker) and the model
 * of the site at `doc.baseURI`. Does nothing if engine.js has started its own already or the
 * worker cannot be constructed (engine.js then tries itself).
 */
export function startEarly(doc = document) {
  if (taken || early !== null) return;
  let worker;
  try {
    const block = doc.getElementById('runtime');
    worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'browsernet inference' });
    worker.postMessage({ type: 'preload', runtime: block ? block.textContent : '', base: doc.baseURI });
  } catch (err) {
    worker?.terminate();
    console.warn('browsernet: the inference worker did not start early:', err);
    return;
  }
  // A worker whose script fails to load fires 'error' before engine.js listens: kept for it.
  const errors = [];
  const keep = (event) => {
    event.preventDefault();
    errors.push(event);
  };
  worker.addEventListener('error', keep);
  early = { worker, errors, keep };
}

/**
 * For engine.js: the worker started early, or null (then it starts its own). `adopt(onError)`
 * hands over: `onError(event)` gets each 'error' the worker fired before, once the caller
 * listens itself.
 */
export function takeEarly() {
  taken = true;
  const claimed = early;
  early = null;
  if (claimed === null) return null;
  const { worker, errors, keep } = claimed;
  return {
    worker,
    adopt(onError) {
      worker.removeEventListener('error', keep);
      for (const event of errors) onError(event);
    },
  };
}

/** Stops a worker that nobody took (the page's script failed to load). */
export function dropEarly() {
  taken = true;
  early?.worker.terminate();
  early = null;
}

if (typeof window !== 'undefined' && mayStartEarly()) startEarly();
