// Finding the TF.js runtime and starting a backend.

import { BACKENDS } from './pure.js';

// A backend whose init never settles (e.g. a stalled .wasm download) must not
// leave the page on "loading" forever.
const BACKEND_INIT_TIMEOUT_MS = 60_000;

/** The `tf` namespace defined by the vendored UMD script, or a clear error. */
export function getTf() {
  const tf = globalThis.tf;
  if (!tf || typeof tf.loadLayersModel !== 'function') {
    throw new Error(
      'The TF.js runtime (vendor/tf.min.js) did not load; check that the vendor/ folder was deployed with the site.',
    );
  }
  return tf;
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Tries to make `name` the active backend. Resolves to null on success, or to a
 * short reason on failure. tf.setBackend() reports most failures by resolving
 * false rather than throwing, so the active backend is checked afterwards.
 */
async function tryBackend(tf, name) {
  try {
    if (name === 'wasm') {
      if (!tf.wasm || typeof tf.wasm.setWasmPaths !== 'function') {
        return 'the WASM backend script (vendor/tf-backend-wasm.min.js) did not load';
      }
      // The .wasm binaries sit next to the scripts; resolve against the page so
      // the site works at a domain root and under a sub-path alike.
      tf.wasm.setWasmPaths(new URL('vendor/', document.baseURI).href);
    }
    const ok = await withTimeout(tf.setBackend(name), BACKEND_INIT_TIMEOUT_MS, `starting ${name}`);
    if (!ok) return 'initialisation failed (see the browser console)';
    await tf.ready();
    const active = tf.getBackend();
    return active === name ? null : `TF.js reports "${active}" as active instead`;
  } catch (err) {
    return err && err.message ? err.message : String(err);
  }
}

/**
 * Starts the forced backend, or the first of webgl → wasm → cpu that works.
 * Resolves to the active backend name; rejects with a message naming what failed.
 */
export async function startBackend(tf, forced) {
  if (forced) {
    const reason = await tryBackend(tf, forced);
    if (reason !== null) {
      throw new Error(`The "${forced}" backend requested by ?backend=${forced} could not be started: ${reason}.`);
    }
    return tf.getBackend();
  }
  const failures = [];
  for (const name of BACKENDS) {
    const reason = await tryBackend(tf, name);
    if (reason === null) return tf.getBackend();
    failures.push(`${name}: ${reason}`);
    console.warn(`browsernet: backend ${name} unavailable: ${reason}`);
  }
  throw new Error(`No TF.js backend could be started (${failures.join('; ')}).`);
}
