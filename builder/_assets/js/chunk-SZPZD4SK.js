// templates/js/url-options.js
var BACKENDS = Object.freeze(["webgpu", "webgl", "wasm", "cpu"]);
var AUTO_ORDER = Object.freeze(["webgl", "wasm", "cpu"]);
function requestedBackend(search) {
  const value = new URLSearchParams(search).get("backend");
  if (value === null || value === "") return null;
  if (!BACKENDS.includes(value.toLowerCase())) {
    throw new Error(`?backend=${value} is not a known backend; use one of ${BACKENDS.join(", ")}`);
  }
  return value.toLowerCase();
}
function requestedThreads(search) {
  const value = new URLSearchParams(search).get("threads");
  if (value === null || value === "") return null;
  const count = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(count) || count < 1 || count > 64) {
    throw new Error(`?threads=${value} is not a thread count; use a whole number from 1 to 64`);
  }
  return count;
}
function requestedWorker(search) {
  const value = new URLSearchParams(search).get("worker");
  return !(value === "0" || value === "off" || value === "false");
}
function wasmThreadCount(search, configured, cpus) {
  let asked = null;
  try {
    asked = requestedThreads(search);
  } catch {
  }
  if (asked !== null) return asked;
  if (Number.isInteger(configured) && configured >= 1) return configured;
  return Math.max(1, cpus || 1);
}

// templates/js/early-worker.js
var early = null;
var taken = false;
function mayStartEarly(win = window) {
  const sw = win.navigator.serviceWorker;
  return Boolean(win.isSecureContext && win.crossOriginIsolated && sw && sw.controller !== null && requestedWorker(win.location.search));
}
function startEarly(doc = document) {
  if (taken || early !== null) return;
  let worker;
  try {
    const block = doc.getElementById("runtime");
    worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "browsernet inference" });
    worker.postMessage({ type: "preload", runtime: block ? block.textContent : "", base: doc.baseURI });
  } catch (err) {
    worker?.terminate();
    console.warn("browsernet: the inference worker did not start early:", err);
    return;
  }
  const errors = [];
  const keep = (event) => {
    event.preventDefault();
    errors.push(event);
  };
  worker.addEventListener("error", keep);
  early = { worker, errors, keep };
}
function takeEarly() {
  taken = true;
  const claimed = early;
  early = null;
  if (claimed === null) return null;
  const { worker, errors, keep } = claimed;
  return {
    worker,
    adopt(onError) {
      worker.removeEventListener("error", keep);
      for (const event of errors) onError(event);
    }
  };
}
function dropEarly() {
  taken = true;
  early?.worker.terminate();
  early = null;
}
if (typeof window !== "undefined" && mayStartEarly()) startEarly();

export {
  BACKENDS,
  AUTO_ORDER,
  requestedBackend,
  requestedThreads,
  requestedWorker,
  wasmThreadCount,
  mayStartEarly,
  startEarly,
  takeEarly,
  dropEarly
};
