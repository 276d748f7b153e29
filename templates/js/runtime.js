// Finding the TF.js runtime and starting a backend.

import { fileLabel } from './format.js';
import { AUTO_ORDER, BACKENDS } from './url-options.js';

// A backend whose init never settles (e.g. a stalled .wasm download) must not
// leave the page on "loading" forever.
const BACKEND_INIT_TIMEOUT_MS = 60_000;
// navigator.gpu.requestAdapter() can stall on a broken driver.
const ADAPTER_TIMEOUT_MS = 10_000;

/**
 * The `tf` namespace defined by the vendored runtime script (`runtime`: its URL, to
 * name it), or a clear error. A script whose integrity hash does not match is
 * not run at all, so that ends here too.
 */
export function getTf(runtime = []) {
  const tf = globalThis.tf;
  if (!tf || typeof tf.loadLayersModel !== 'function') {
    if (runtime.length === 0) throw new Error('index.html lists no TF.js runtime script (<script id="runtime">)');
    throw runtimeMissing(runtime[0].src);
  }
  return tf;
}

function runtimeMissing(src, detail = '') {
  return new Error(`The TF.js runtime (${fileLabel(src)}) is missing or does not match its integrity hash${detail}; ` +
    'redeploy the vendor/ folder with the site.');
}

/**
 * The runtime scripts, in load order, from the page's <script type="application/json"
 * id="runtime"> block: `[{src (absolute), integrity, backend?}]`. The page does not run them
 * itself: the inference worker does, and the page only when it has to (main-thread
 * fallback, ?worker=0), so TF.js is parsed once per visit. An entry with `backend`
 * (the WebGPU script: `backend: 'webgpu'`) runs only when that backend is started.
 */
export function runtimeScripts(doc = document) {
  const block = doc.getElementById('runtime');
  return parseRuntimeList(block ? block.textContent : '', doc.baseURI);
}

/** runtimeScripts() from the block's text and the page's URL (`base`), where there is no DOM (a worker). */
export function parseRuntimeList(text, base) {
  let list;
  try {
    list = JSON.parse(text);
  } catch (err) {
    throw new Error(`index.html has no valid runtime list (<script id="runtime">): ${err.message}`);
  }
  return list.map(({ src, integrity, backend }) => ({
    src: new URL(src, base).href, integrity, ...(backend ? { backend } : {}),
  }));
}

// The scripts every visit runs (not those of one backend).
function everyVisit(runtime) {
  return runtime.filter((script) => !script.backend);
}

/**
 * Runs the runtime scripts on the page (main-thread inference), in order, each as a
 * <script> with its integrity hash: a file that does not match is never run.
 */
export async function loadRuntimeHere(runtime, doc = document) {
  for (const { src, integrity } of everyVisit(runtime)) {
    await new Promise((resolve, reject) => {
      const script = doc.createElement('script');
      script.src = src;
      script.integrity = integrity;
      script.addEventListener('load', resolve, { once: true });
      script.addEventListener('error', () => reject(runtimeMissing(src)), { once: true });
      doc.head.append(script);
    });
  }
}

/**
 * Loads the runtime scripts into a module worker: each is fetched with its SRI
 * hash first (so a file that does not match the build is refused, unrun),
 * then imported; the runtime bundle defines globalThis.tf even as a module.
 */
export async function importRuntime(runtime) {
  for (const script of everyVisit(runtime)) await importChecked(script);
}

async function importChecked({ src, integrity }) {
  try {
    const response = await fetch(src, { integrity, cache: 'force-cache' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    await response.arrayBuffer();
  } catch (err) {
    throw runtimeMissing(src, ` (${err.message})`);
  }
  await import(src);
}

// The WebGPU backend's script runs once per realm, after the main runtime.
let webgpuScript = null;

/**
 * Makes the WebGPU backend available: only where navigator.gpu gives an adapter is
 * its script (the runtime list's `backend: 'webgpu'` entry) fetched, checked against
 * its integrity hash and run. Resolves to null, or to the reason WebGPU cannot run.
 */
async function prepareWebgpu(runtime) {
  if (!globalThis.navigator || !navigator.gpu) return 'this browser has no WebGPU (navigator.gpu)';
  let adapter;
  try {
    adapter = await withTimeout(navigator.gpu.requestAdapter(), ADAPTER_TIMEOUT_MS, 'asking for a WebGPU adapter');
  } catch (err) {
    return err && err.message ? err.message : String(err);
  }
  if (!adapter) return 'no WebGPU adapter on this device';
  const script = runtime.find((entry) => entry.backend === 'webgpu');
  if (!script) return 'index.html lists no WebGPU script';
  if (webgpuScript === null) {
    webgpuScript = typeof document === 'undefined' ? importChecked(script) : loadRuntimeHere([{ ...script, backend: undefined }]);
    webgpuScript.catch(() => {
      webgpuScript = null; // a later try fetches it again
    });
  }
  try {
    await webgpuScript;
  } catch (err) {
    return err.message;
  }
  return null;
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Asks TF.js's threaded WASM for `count` threads. Its binary caps the thread pool at
 * half of navigator.hardwareConcurrency (it assumes two hyperthreads per core), so
 * on a 2-CPU machine it would run 1 thread whatever it is asked. Inside our worker
 * (never on the page) the backend is shown twice the real count, so the cap becomes
 * the number of CPUs this browser reports. The glue's helper-worker pool, which the
 * backend waits for before it is ready, is sized to the threads - 1 helpers XNNPACK
 * uses rather than TF.js's fixed 8 (the runtime bundle reads BROWSERNET_WASM_POOL;
 * see builder/site/runtime/build.mjs). Only called in a worker.
 */
function useThreads(tf, count) {
  const real = navigator.hardwareConcurrency || 1;
  const threads = Math.min(count, real);
  const proto = Object.getPrototypeOf(navigator);
  Object.defineProperty(proto, 'hardwareConcurrency', { configurable: true, get: () => real * 2 });
  tf.wasm.setThreadsCount(threads);
  globalThis.BROWSERNET_WASM_POOL = threads - 1;
}

/** The WASM backend's thread count once it runs, else null. */
export function wasmThreads(tf) {
  try {
    return tf.getBackend() === 'wasm' && tf.wasm ? tf.wasm.getThreadsCount() : null;
  } catch {
    return null;
  }
}

// The WASM binaries' absolute URLs, by file name, from config.json's `wasmFiles`
// (site-relative URLs, written by the build from what it copied into the site).
function wasmUrls(wasmFiles, base) {
  return Object.fromEntries(Object.entries(wasmFiles).map(([name, path]) => [name, new URL(path, base).href]));
}

// TF.js only logs why the WASM backend failed; the usual cause is a binary that
// was not deployed, so name it. Offline, the HEAD request fails for every binary (the
// service worker answers GETs only): one in its cache is there, and one that is not was
// never fetched on a visit with the network (each thread setting loads its own binary).
async function missingWasmBinaries(urls) {
  const checks = Object.values(urls).map(async (url) => {
    try {
      const response = await fetch(url, { method: 'HEAD', cache: 'no-cache' });
      return response.ok ? null : `${fileLabel(url)} (HTTP ${response.status})`;
    } catch {
      const cached = typeof caches !== 'undefined' && (await caches.match(url).catch(() => undefined));
      if (cached) return null;
      return `${fileLabel(url)} (unreachable${navigator.onLine === false ? ', and not cached for offline use' : ''})`;
    }
  });
  return (await Promise.all(checks)).filter(Boolean);
}

/**
 * Tries to make `name` the active backend. Resolves to null on success, or to a
 * short reason on failure. tf.setBackend() reports most failures by resolving
 * false rather than throwing, so the active backend is checked afterwards.
 */
async function tryBackend(tf, name, { base, wasmFiles, threads, threadCount, runtime }) {
  const urls = wasmUrls(wasmFiles, base);
  try {
    if (name === 'webgpu') {
      const reason = await prepareWebgpu(runtime);
      if (reason !== null) return reason;
    }
    if (name === 'wasm') {
      if (!tf.wasm || typeof tf.wasm.setWasmPaths !== 'function') {
        return 'the runtime script has no WASM backend (tf.wasm)';
      }
      // Resolved against the page, so the site works at a domain root and under a
      // sub-path alike.
      tf.wasm.setWasmPaths(urls);
      // Threaded WASM starts its helpers as blob: workers, which the page's
      // Content-Security-Policy does not allow on the main thread. For one thread
      // the plain binary starts faster and runs as fast.
      if (!threads || threadCount <= 1) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      else if (globalThis.crossOriginIsolated) useThreads(tf, threadCount);
    }
    if (name === 'webgl' && typeof document === 'undefined' && typeof OffscreenCanvas === 'undefined') {
      return 'this browser cannot run WebGL in a worker (no OffscreenCanvas)';
    }
    const ok = await withTimeout(tf.setBackend(name), BACKEND_INIT_TIMEOUT_MS, `starting ${name}`);
    if (!ok) {
      const missing = name === 'wasm' ? await missingWasmBinaries(urls) : [];
      return missing.length > 0 ? `missing ${missing.join(', ')}` : 'initialisation failed (see the browser console)';
    }
    await tf.ready();
    const active = tf.getBackend();
    return active === name ? null : `TF.js reports "${active}" as active instead`;
  } catch (err) {
    return err && err.message ? err.message : String(err);
  }
}

// Without float32 render targets TF.js's WebGL backend computes in float16, which
// is far from Keras's numbers; when choosing for the visitor, prefer WASM then.
function webglIsExact(tf) {
  try {
    return tf.env().getBool('WEBGL_RENDER_FLOAT32_CAPABLE');
  } catch {
    return false;
  }
}

// A software rasteriser (SwiftShader, llvmpipe: VMs, machines without a GPU) runs
// WebGL several times slower than WASM, so automatic choice skips it.
const SOFTWARE_GL = /swiftshader|llvmpipe|softpipe|software/i;

function webglRenderer(tf) {
  try {
    const gl = tf.backend().gpgpu.gl;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    return String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  } catch {
    return '';
  }
}

/**
 * Starts the forced backend; else `preferred` (the backend measured fastest on this
 * device, backend-probe.js), if it starts and (WebGL) computes in float32; else the
 * first of AUTO_ORDER (webgl → wasm → cpu) that works.
 * Resolves to the active backend name; rejects with a message naming what failed.
 * `base` is the page URL, `wasmFiles` config.json's map of WASM binary names to
 * URLs relative to it; `threads` allows multi-threaded WASM (only where blob:
 * workers are allowed: in our worker); `runtime` is runtimeScripts() (for the
 * WebGPU script); `forcedBy` names who forced it in errors (default: ?backend=); `skipped` gets
 * "backend: reason" for each backend tried before the one that started (not a software-rendered WebGL).
 */
export async function startBackend(tf, forced, {
  base, wasmFiles, threads = false, threadCount = 1, runtime = [], preferred = null, forcedBy = `?backend=${forced}`,
  skipped = [],
}) {
  const options = { base, wasmFiles, threads, threadCount, runtime };
  if (forced) {
    const reason = await tryBackend(tf, forced, options);
    if (reason !== null) {
      throw new Error(`The "${forced}" backend requested by ${forcedBy} could not be started: ${reason}.`);
    }
    if (forced === 'webgl' && !webglIsExact(tf)) {
      console.warn('browsernet: this WebGL cannot render float32; results will differ from Keras');
    }
    return tf.getBackend();
  }
  const failures = [];
  if (preferred !== null && BACKENDS.includes(preferred)) {
    let reason = await tryBackend(tf, preferred, options);
    if (reason === null && preferred === 'webgl' && !webglIsExact(tf)) {
      reason = 'no float32 rendering (float16 would be inexact)';
      tf.removeBackend('webgl');
    }
    if (reason === null) return tf.getBackend();
    failures.push(`${preferred}: ${reason}`);
    console.warn(`browsernet: ${preferred}, measured fastest here earlier, did not start: ${reason}`);
  }
  for (const name of AUTO_ORDER) {
    if (name === preferred) continue;
    let reason = await tryBackend(tf, name, options);
    if (reason === null && name === 'webgl') {
      if (!webglIsExact(tf)) {
        reason = 'no float32 rendering (float16 would be inexact)';
      } else if (SOFTWARE_GL.test(webglRenderer(tf))) {
        reason = `software-rendered (${webglRenderer(tf)}), slower than WASM`;
      }
      if (reason !== null) tf.removeBackend('webgl'); // frees its GL context
    }
    if (reason === null) {
      // What a backend earlier in the order could not do, for the status line: a page on the cpu backend (about
      // 30 times slower than WASM) says why. WebGL on a software renderer is an expected skip, not news.
      skipped.push(...failures.filter((line) => !line.includes('software-rendered')));
      return tf.getBackend();
    }
    failures.push(`${name}: ${reason}`);
    console.warn(`browsernet: backend ${name} unavailable: ${reason}`);
  }
  throw new Error(`No TF.js backend could be started (${failures.join('; ')}).`);
}
