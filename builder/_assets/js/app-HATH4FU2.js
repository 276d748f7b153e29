import {
  AUTO_ORDER,
  BACKENDS,
  requestedBackend,
  requestedThreads,
  requestedWorker,
  takeEarly,
  wasmThreadCount
} from "./chunk-SZPZD4SK.js";

// templates/js/latency.js
var WINDOW = 200;
function median(values) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return middle(sorted);
}
function middle(sorted) {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
function bisect(sorted, x) {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = lo + hi >> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
function createInferenceLog(size = WINDOW) {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`window must be a positive integer, got ${size}`);
  const kept = [];
  const sorted = [];
  let runs = 0;
  return {
    record({ start: start2, end, ms, first = false }) {
      if (!Number.isFinite(ms)) throw new TypeError(`an inference's ms must be a number, got ${ms}`);
      kept.push({ start: start2, end, ms, first: Boolean(first) });
      if (!first) {
        runs += 1;
        sorted.splice(bisect(sorted, ms), 0, ms);
      }
      if (kept.length > size) {
        const oldest = kept.shift();
        if (!oldest.first) sorted.splice(bisect(sorted, oldest.ms), 1);
      }
    },
    get medianMs() {
      return sorted.length === 0 ? null : middle(sorted);
    },
    get samples() {
      return sorted.length;
    },
    get runs() {
      return runs;
    },
    inferences() {
      return kept.map((t) => ({ ...t }));
    }
  };
}

// templates/js/format.js
function fileLabel(url) {
  return new URL(url).pathname.split("/").slice(-2).join("/");
}
function formatBytes(n) {
  if (!Number.isFinite(n)) return "unknown";
  if (n < 1e3) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(0)} KB`;
  return `${(n / 1e6).toFixed(1)} MB`;
}
function downloadText(loaded, total) {
  return `${formatBytes(Math.min(loaded, total))} of ${formatBytes(total)}`;
}
function formatMs(ms) {
  if (ms === null || ms === void 0 || !Number.isFinite(ms)) return "not measured yet";
  return ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`;
}
function formatPercent(p) {
  const pct = p * 100;
  if (pct > 0 && pct < 0.1) return "<0.1%";
  if (pct < 100 && pct >= 99.95) return ">99.9%";
  return `${pct.toFixed(1)}%`;
}

// templates/js/backend-probe.js
var CANDIDATES = Object.freeze(["webgpu", "webgl", "wasm"]);
var PROBE_RUNS = 5;
var TOLERANCE = 1e-4;
var PROBE_TIMEOUT_MS = 6e4;
var STORAGE_PREFIX = "browsernet.backend:";
function storageKey(base) {
  return STORAGE_PREFIX + new URL(".", base).pathname;
}
function fingerprint(runtime2, config) {
  return {
    runtime: runtime2.map((script) => script.integrity).join(" "),
    model: Object.keys(config.shardSha256).sort().map((path) => config.shardSha256[path]).join(" ")
  };
}
function readChoice(text, print) {
  let record;
  try {
    record = JSON.parse(text);
  } catch {
    return null;
  }
  if (record === null || typeof record !== "object" || record.runtime !== print.runtime || record.model !== print.model) {
    return null;
  }
  if (!BACKENDS.includes(record.chosen) || !Array.isArray(record.measured)) return null;
  return record;
}
function maxAbsDifference(a, b) {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= worst)) worst = d;
  }
  return worst;
}
function probeImage(h, w, seed = 2654435769) {
  let state2 = seed >>> 0;
  const next = () => {
    state2 = state2 + 1831565813 >>> 0;
    let t = state2;
    t = Math.imul(t ^ t >>> 15, t | 1);
    t ^= t + Math.imul(t ^ t >>> 7, t | 61);
    return ((t ^ t >>> 14) >>> 0) / 4294967296;
  };
  const pixels = new Float32Array(h * w * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.floor(next() * 256);
  return pixels;
}
function choose(results, reference, tolerance = TOLERANCE) {
  const ref = results.find((r) => r.backend === reference && !r.error);
  const measured = results.map((r) => {
    if (r.error) return { backend: r.backend, medianMs: null, maxDiff: null, error: r.error };
    const maxDiff = ref ? maxAbsDifference(r.output, ref.output) : null;
    const error = maxDiff !== null && !(maxDiff <= tolerance) ? `its output differs from ${reference}'s by ${Number.isFinite(maxDiff) ? maxDiff.toExponential(1) : maxDiff}` : null;
    return { backend: r.backend, medianMs: median(r.times), maxDiff, error };
  });
  if (!ref) return { chosen: null, measured };
  const usable = measured.filter((m) => m.error === null).sort((a, b) => a.medianMs - b.medianMs);
  return { chosen: usable[0].backend, measured };
}
function probeOrder(current, candidates = CANDIDATES) {
  return [current, ...candidates.filter((name) => name !== current)];
}
function loadChoice(storage2, key, print) {
  try {
    return readChoice(storage2.getItem(key), print);
  } catch {
    return null;
  }
}
function saveChoice(storage2, key, record) {
  try {
    storage2.setItem(key, JSON.stringify(record));
    return true;
  } catch {
    return false;
  }
}
function choiceText(choice) {
  if (!choice) return "not measured yet";
  switch (choice.state) {
    case "forced":
      return `set by ?backend=${choice.backend}, not measured`;
    case "off":
      return `not measured (${choice.reason})`;
    case "waiting":
      return "to be measured once the page is idle";
    case "measuring":
      return `measuring ${choice.candidates.join(", ")} on this device…`;
    case "failed":
      return `measurement failed (${choice.reason})`;
    default: {
      const { chosen, measured } = choice.record;
      const each = measured.map((m) => m.error ? `${m.backend} dropped (${m.error})` : `${m.backend} ${formatMs(m.medianMs)}`);
      const when = choice.state === "remembered" ? "measured on an earlier visit" : "measured on this visit";
      return `${chosen}, the fastest here (${when}, median of ${PROBE_RUNS} runs: ${each.join("; ")})`;
    }
  }
}
function probeOne({ backend, runtime: runtime2, config, base, threads: threads2, pixels, runs, timeoutMs }) {
  return new Promise((resolve, reject) => {
    let worker = null;
    let timer = null;
    const finish = (settle, value) => {
      clearTimeout(timer);
      if (worker) worker.terminate();
      settle(value);
    };
    timer = setTimeout(() => finish(reject, new Error(`timed out after ${timeoutMs / 1e3} s`)), timeoutMs);
    try {
      worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: `browsernet probe ${backend}` });
    } catch (err) {
      finish(reject, err);
      return;
    }
    worker.addEventListener("message", (event) => {
      const msg = event.data || {};
      if (msg.type === "ready") {
        if (msg.backend !== backend) finish(reject, new Error(`started ${msg.backend} instead`));
        else worker.postMessage({ type: "probe", id: 1, pixels, runs });
      } else if (msg.type === "probe") {
        finish(resolve, { times: msg.times, output: msg.output });
      } else if (msg.type === "error") {
        finish(reject, new Error(msg.message));
      }
    });
    worker.addEventListener("error", (event) => {
      event.preventDefault();
      finish(reject, new Error(event.message || "its worker failed"));
    });
    worker.postMessage({ type: "init", runtime: runtime2, backend, preferred: null, probe: true, threads: threads2, config, base });
  });
}
async function webgpuUnavailable(gpu = globalThis.navigator && navigator.gpu) {
  if (!gpu) return "this browser has no WebGPU (navigator.gpu)";
  try {
    return await gpu.requestAdapter() ? null : "no WebGPU adapter on this device";
  } catch (err) {
    return `no WebGPU adapter (${err && err.message ? err.message : err})`;
  }
}
async function measureBackends({
  order,
  runtime: runtime2,
  config,
  base,
  threads: threads2,
  runs = PROBE_RUNS,
  timeoutMs = PROBE_TIMEOUT_MS,
  onStep = () => {
  }
}) {
  const [h, w] = config.inputSize;
  const pixels = probeImage(h, w);
  const results = [];
  for (const backend of order) {
    const unavailable = backend === "webgpu" ? await webgpuUnavailable() : null;
    if (unavailable !== null) {
      results.push({ backend, error: unavailable });
      continue;
    }
    onStep(backend);
    try {
      results.push({ backend, ...await probeOne({ backend, runtime: runtime2, config, base, threads: threads2, pixels, runs, timeoutMs }) });
    } catch (err) {
      results.push({ backend, error: err && err.message ? err.message : String(err) });
      if (backend === order[0]) break;
    }
  }
  return results;
}

// templates/js/fetch-file.js
function isHtml(response) {
  const type = (response.headers.get("Content-Type") || "").split(";")[0].trim().toLowerCase();
  return type === "text/html" || type === "application/xhtml+xml";
}
function checkNotHtml(response, url, what, label = fileLabel(url)) {
  if (isHtml(response)) {
    throw new Error(`${label}: the server sent an HTML page instead of ${what} (HTTP ${response.status}, ${response.headers.get("Content-Type")}); the file is probably missing from the deploy and the host answered with its fallback page: redeploy the whole site folder`);
  }
  return response;
}
async function fetchFile(url, what, { init, label = fileLabel(url) } = {}) {
  let response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    throw new Error(`${label}: could not be fetched (${err.message})`, { cause: err });
  }
  if (!response.ok) {
    throw new Error(`${label}: HTTP ${response.status} ${response.statusText}`.trim());
  }
  return checkNotHtml(response, url, what, label);
}

// templates/js/preprocessing.js
var PREPROCESS = Object.freeze({
  mobilenet: Object.freeze({ divisor: 127.5, offset: -1 }),
  unit: Object.freeze({ divisor: 255, offset: 0 }),
  raw: Object.freeze({ divisor: 1, offset: 0 })
});
function preprocessSpec(mode) {
  if (!Object.hasOwn(PREPROCESS, mode)) {
    throw new Error(
      `unknown preprocess mode ${JSON.stringify(mode)}; expected one of ${Object.keys(PREPROCESS).join(", ")}`
    );
  }
  return PREPROCESS[mode];
}

// templates/js/resize.js
var RESIZE_RULES = Object.freeze(["squash", "crop"]);
function cropBox(width, height, [targetH, targetW], rule = "crop") {
  if (rule === "squash") return { x: 0, y: 0, width, height };
  if (rule !== "crop") throw new Error(`unknown resize rule ${JSON.stringify(rule)}; expected ${RESIZE_RULES.join(" or ")}`);
  const f = Math.fround;
  const cropH = Math.max(Math.min(height, Math.trunc(f(f(width * targetH) / targetW))), 1);
  const cropW = Math.max(Math.min(width, Math.trunc(f(f(height * targetW) / targetH))), 1);
  return {
    x: Math.trunc(f(width - cropW) / 2),
    y: Math.trunc(f(height - cropH) / 2),
    width: cropW,
    height: cropH
  };
}
function bilinearTaps(outSize, inSize, offset) {
  const scale = Math.fround(inSize / outSize);
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const lerp = new Float32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const x = Math.fround(Math.fround((i + 0.5) * scale) - 0.5);
    const floor = Math.floor(x);
    lo[i] = offset + Math.max(floor, 0);
    hi[i] = offset + Math.min(Math.ceil(x), inSize - 1);
    lerp[i] = x - floor;
  }
  return { lo, hi, lerp };
}
function resizeToInput(rgba, width, height, [targetH, targetW], rule = "squash") {
  if (!(width > 0 && height > 0) || rgba.length < width * height * 4) {
    throw new Error(`image data does not hold ${width}×${height} RGBA pixels`);
  }
  const box = cropBox(width, height, [targetH, targetW], rule);
  const ys = bilinearTaps(targetH, box.height, box.y);
  const xs = bilinearTaps(targetW, box.width, box.x);
  const out = new Float32Array(targetH * targetW * 3);
  const px = (y, x, c) => {
    const i = (y * width + x) * 4;
    const a = rgba[i + 3];
    if (a === 255) return rgba[i + c];
    const alpha = a / 255;
    return rgba[i + c] * alpha + 255 * (1 - alpha);
  };
  let o = 0;
  for (let y = 0; y < targetH; y++) {
    const y0 = ys.lo[y], y1 = ys.hi[y], dy = ys.lerp[y];
    for (let x = 0; x < targetW; x++) {
      const x0 = xs.lo[x], x1 = xs.hi[x], dx = xs.lerp[x];
      for (let c = 0; c < 3; c++) {
        const tl = px(y0, x0, c), tr = px(y0, x1, c), bl = px(y1, x0, c), br = px(y1, x1, c);
        const top = tl + (tr - tl) * dx;
        const bottom = bl + (br - bl) * dx;
        out[o++] = top + (bottom - top) * dy;
      }
    }
  }
  return out;
}

// templates/js/config.js
var CONFIG_FILE = "config.json";
async function loadConfig(base = document.baseURI) {
  const url = new URL(CONFIG_FILE, base).href;
  const response = await fetchFile(url, "the site's configuration", { init: { cache: "no-cache" }, label: CONFIG_FILE });
  let raw;
  try {
    raw = await response.json();
  } catch (err) {
    throw new Error(`${CONFIG_FILE}: not valid JSON (${err.message})`, { cause: err });
  }
  return validateConfig(raw);
}
function isPositiveInt(n) {
  return Number.isInteger(n) && n > 0;
}
function isRelativeUrl(url) {
  return typeof url === "string" && url !== "" && !/^([a-z][a-z0-9+.-]*:|\/)/i.test(url);
}
function isPattern(source) {
  if (typeof source !== "string" || source === "") return false;
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}
function isPlainObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
function validateConfig(raw) {
  if (!isPlainObject(raw)) {
    throw new Error(`${CONFIG_FILE}: expected a JSON object`);
  }
  const problems = [];
  const { labels, inputSize, preprocess, topK: k, modelUrl, resize = "squash", shardSha256, hashedName, wasmFiles } = raw;
  if (!Array.isArray(labels) || labels.length === 0 || !labels.every((l) => typeof l === "string")) {
    problems.push('"labels" must be a non-empty list of strings');
  }
  if (!Array.isArray(inputSize) || inputSize.length !== 2 || !inputSize.every(isPositiveInt)) {
    problems.push('"inputSize" must be [height, width] in whole pixels');
  }
  if (!Object.hasOwn(PREPROCESS, preprocess)) {
    problems.push(`"preprocess" must be one of ${Object.keys(PREPROCESS).join(", ")}`);
  }
  if (!isPositiveInt(k)) {
    problems.push('"topK" must be a positive integer');
  }
  if (!RESIZE_RULES.includes(resize)) {
    problems.push(`"resize" must be one of ${RESIZE_RULES.join(", ")}`);
  }
  if (!isPlainObject(shardSha256) || !Object.values(shardSha256).every((d) => typeof d === "string" && /^[0-9a-f]{64}$/.test(d))) {
    problems.push('"shardSha256" must map each weight shard to its sha256 (64 hex digits)');
  }
  if (!isRelativeUrl(modelUrl)) {
    problems.push('"modelUrl" must be a relative URL such as "model/model.json"');
  }
  if (!isPattern(hashedName)) {
    problems.push('"hashedName" must be the regular expression that content-hashed file names match');
  }
  if (!isPlainObject(wasmFiles) || Object.keys(wasmFiles).length === 0 || !Object.values(wasmFiles).every(isRelativeUrl)) {
    problems.push(`"wasmFiles" must map each WASM binary's name to its relative URL`);
  }
  if (problems.length > 0) {
    throw new Error(`${CONFIG_FILE}: ${problems.join("; ")}`);
  }
  return Object.freeze({
    title: typeof raw.title === "string" ? raw.title : "",
    version: typeof raw.version === "string" ? raw.version : "",
    labels: Object.freeze([...labels]),
    inputSize: Object.freeze([inputSize[0], inputSize[1]]),
    preprocess,
    topK: k,
    resize,
    modelUrl,
    shardSha256: Object.freeze({ ...shardSha256 }),
    // A RegExp source (a string, so that the config can be posted to the worker).
    hashedName,
    wasmFiles: Object.freeze({ ...wasmFiles }),
    // Bytes of all weight shards (for "3.2 MB of 9.1 MB"); absent in older builds.
    modelBytes: Number.isSafeInteger(raw.modelBytes) && raw.modelBytes >= 0 ? raw.modelBytes : null,
    wasmThreads: raw.wasmThreads === "auto" || Number.isInteger(raw.wasmThreads) && raw.wasmThreads >= 1 ? raw.wasmThreads : 1
  });
}

// templates/js/protocol.js
var STAGES = Object.freeze(["runtime", "backend", "model", "classify", "worker"]);
var FALLBACK_STAGES = /* @__PURE__ */ new Set(["runtime", "backend", "worker"]);
function shouldFallBack(stage) {
  return FALLBACK_STAGES.has(stage);
}
function checkWorkerMessage(data) {
  const known = ["progress", "building", "ready", "result", "warmup", "memory", "probe", "error"];
  if (data === null || typeof data !== "object" || !known.includes(data.type)) {
    throw new Error(`unexpected message from the inference worker: ${JSON.stringify(data)?.slice(0, 80)}`);
  }
  if (["result", "warmup", "memory", "probe"].includes(data.type) && !Number.isInteger(data.id)) {
    throw new Error(`inference worker sent a ${data.type} without a request id`);
  }
  return data;
}
function sharedNow(perf = globalThis.performance) {
  return perf.timeOrigin + perf.now();
}
function startupTimeline(first) {
  const marks = [[first, sharedNow()]];
  return { marks, mark: (stage) => marks.push([stage, sharedNow()]) };
}

// templates/js/runtime.js
var BACKEND_INIT_TIMEOUT_MS = 6e4;
var ADAPTER_TIMEOUT_MS = 1e4;
function getTf(runtime2 = []) {
  const tf = globalThis.tf;
  if (!tf || typeof tf.loadLayersModel !== "function") {
    if (runtime2.length === 0) throw new Error('index.html lists no TF.js runtime script (<script id="runtime">)');
    throw runtimeMissing(runtime2[0].src);
  }
  return tf;
}
function runtimeMissing(src, detail = "") {
  return new Error(`The TF.js runtime (${fileLabel(src)}) is missing or does not match its integrity hash${detail}; redeploy the vendor/ folder with the site.`);
}
function runtimeScripts(doc = document) {
  const block = doc.getElementById("runtime");
  return parseRuntimeList(block ? block.textContent : "", doc.baseURI);
}
function parseRuntimeList(text, base) {
  let list;
  try {
    list = JSON.parse(text);
  } catch (err) {
    throw new Error(`index.html has no valid runtime list (<script id="runtime">): ${err.message}`);
  }
  return list.map(({ src, integrity, backend }) => ({
    src: new URL(src, base).href,
    integrity,
    ...backend ? { backend } : {}
  }));
}
function everyVisit(runtime2) {
  return runtime2.filter((script) => !script.backend);
}
async function loadRuntimeHere(runtime2, doc = document) {
  for (const { src, integrity } of everyVisit(runtime2)) {
    await new Promise((resolve, reject) => {
      const script = doc.createElement("script");
      script.src = src;
      script.integrity = integrity;
      script.addEventListener("load", resolve, { once: true });
      script.addEventListener("error", () => reject(runtimeMissing(src)), { once: true });
      doc.head.append(script);
    });
  }
}
async function importChecked({ src, integrity }) {
  try {
    const response = await fetch(src, { integrity, cache: "force-cache" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    await response.arrayBuffer();
  } catch (err) {
    throw runtimeMissing(src, ` (${err.message})`);
  }
  await import(src);
}
var webgpuScript = null;
async function prepareWebgpu(runtime2) {
  if (!globalThis.navigator || !navigator.gpu) return "this browser has no WebGPU (navigator.gpu)";
  let adapter;
  try {
    adapter = await withTimeout(navigator.gpu.requestAdapter(), ADAPTER_TIMEOUT_MS, "asking for a WebGPU adapter");
  } catch (err) {
    return err && err.message ? err.message : String(err);
  }
  if (!adapter) return "no WebGPU adapter on this device";
  const script = runtime2.find((entry) => entry.backend === "webgpu");
  if (!script) return "index.html lists no WebGPU script";
  if (webgpuScript === null) {
    webgpuScript = typeof document === "undefined" ? importChecked(script) : loadRuntimeHere([{ ...script, backend: void 0 }]);
    webgpuScript.catch(() => {
      webgpuScript = null;
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
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms / 1e3} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
function useThreads(tf, count) {
  const real = navigator.hardwareConcurrency || 1;
  const threads2 = Math.min(count, real);
  const proto = Object.getPrototypeOf(navigator);
  Object.defineProperty(proto, "hardwareConcurrency", { configurable: true, get: () => real * 2 });
  tf.wasm.setThreadsCount(threads2);
  globalThis.BROWSERNET_WASM_POOL = threads2 - 1;
}
function wasmThreads(tf) {
  try {
    return tf.getBackend() === "wasm" && tf.wasm ? tf.wasm.getThreadsCount() : null;
  } catch {
    return null;
  }
}
function wasmUrls(wasmFiles, base) {
  return Object.fromEntries(Object.entries(wasmFiles).map(([name, path]) => [name, new URL(path, base).href]));
}
async function missingWasmBinaries(urls) {
  const checks = Object.values(urls).map(async (url) => {
    try {
      const response = await fetch(url, { method: "HEAD", cache: "no-cache" });
      return response.ok ? null : `${fileLabel(url)} (HTTP ${response.status})`;
    } catch {
      const cached = typeof caches !== "undefined" && await caches.match(url).catch(() => void 0);
      if (cached) return null;
      return `${fileLabel(url)} (unreachable${navigator.onLine === false ? ", and not cached for offline use" : ""})`;
    }
  });
  return (await Promise.all(checks)).filter(Boolean);
}
async function tryBackend(tf, name, { base, wasmFiles, threads: threads2, threadCount, runtime: runtime2 }) {
  const urls = wasmUrls(wasmFiles, base);
  try {
    if (name === "webgpu") {
      const reason = await prepareWebgpu(runtime2);
      if (reason !== null) return reason;
    }
    if (name === "wasm") {
      if (!tf.wasm || typeof tf.wasm.setWasmPaths !== "function") {
        return "the runtime script has no WASM backend (tf.wasm)";
      }
      tf.wasm.setWasmPaths(urls);
      if (!threads2 || threadCount <= 1) tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
      else if (globalThis.crossOriginIsolated) useThreads(tf, threadCount);
    }
    if (name === "webgl" && typeof document === "undefined" && typeof OffscreenCanvas === "undefined") {
      return "this browser cannot run WebGL in a worker (no OffscreenCanvas)";
    }
    const ok = await withTimeout(tf.setBackend(name), BACKEND_INIT_TIMEOUT_MS, `starting ${name}`);
    if (!ok) {
      const missing = name === "wasm" ? await missingWasmBinaries(urls) : [];
      return missing.length > 0 ? `missing ${missing.join(", ")}` : "initialisation failed (see the browser console)";
    }
    await tf.ready();
    const active = tf.getBackend();
    return active === name ? null : `TF.js reports "${active}" as active instead`;
  } catch (err) {
    return err && err.message ? err.message : String(err);
  }
}
function webglIsExact(tf) {
  try {
    return tf.env().getBool("WEBGL_RENDER_FLOAT32_CAPABLE");
  } catch {
    return false;
  }
}
var SOFTWARE_GL = /swiftshader|llvmpipe|softpipe|software/i;
function webglRenderer(tf) {
  try {
    const gl = tf.backend().gpgpu.gl;
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    return String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  } catch {
    return "";
  }
}
async function startBackend(tf, forced2, {
  base,
  wasmFiles,
  threads: threads2 = false,
  threadCount = 1,
  runtime: runtime2 = [],
  preferred = null,
  forcedBy = `?backend=${forced2}`,
  skipped = []
}) {
  const options = { base, wasmFiles, threads: threads2, threadCount, runtime: runtime2 };
  if (forced2) {
    const reason = await tryBackend(tf, forced2, options);
    if (reason !== null) {
      throw new Error(`The "${forced2}" backend requested by ${forcedBy} could not be started: ${reason}.`);
    }
    if (forced2 === "webgl" && !webglIsExact(tf)) {
      console.warn("browsernet: this WebGL cannot render float32; results will differ from Keras");
    }
    return tf.getBackend();
  }
  const failures = [];
  if (preferred !== null && BACKENDS.includes(preferred)) {
    let reason = await tryBackend(tf, preferred, options);
    if (reason === null && preferred === "webgl" && !webglIsExact(tf)) {
      reason = "no float32 rendering (float16 would be inexact)";
      tf.removeBackend("webgl");
    }
    if (reason === null) return tf.getBackend();
    failures.push(`${preferred}: ${reason}`);
    console.warn(`browsernet: ${preferred}, measured fastest here earlier, did not start: ${reason}`);
  }
  for (const name of AUTO_ORDER) {
    if (name === preferred) continue;
    let reason = await tryBackend(tf, name, options);
    if (reason === null && name === "webgl") {
      if (!webglIsExact(tf)) {
        reason = "no float32 rendering (float16 would be inexact)";
      } else if (SOFTWARE_GL.test(webglRenderer(tf))) {
        reason = `software-rendered (${webglRenderer(tf)}), slower than WASM`;
      }
      if (reason !== null) tf.removeBackend("webgl");
    }
    if (reason === null) {
      skipped.push(...failures.filter((line) => !line.includes("software-rendered")));
      return tf.getBackend();
    }
    failures.push(`${name}: ${reason}`);
    console.warn(`browsernet: backend ${name} unavailable: ${reason}`);
  }
  throw new Error(`No TF.js backend could be started (${failures.join("; ")}).`);
}

// templates/js/topk.js
function resolveTopK(requested, fallback, numLabels) {
  const k = requested === void 0 || requested === null ? fallback : requested;
  if (!Number.isInteger(k) || k < 1) {
    throw new RangeError(`topK must be a positive integer, got ${String(k)}`);
  }
  return Math.min(k, numLabels);
}
function topK(probabilities, labels, k) {
  const count = Math.min(k, probabilities.length, labels.length);
  const order = Array.from({ length: probabilities.length }, (_, i) => i);
  order.sort((a, b) => probabilities[b] - probabilities[a] || a - b);
  return order.slice(0, count).map((index) => ({
    label: labels[index],
    index,
    probability: probabilities[index]
  }));
}

// templates/js/image-source.js
var DECODE_OPTIONS = Object.freeze({
  imageOrientation: "from-image",
  colorSpaceConversion: "none",
  premultiplyAlpha: "none"
});
function blobName(blob) {
  return typeof blob.name === "string" && blob.name !== "" ? blob.name : "blob";
}
async function decodeBlob(blob, name = blobName(blob)) {
  if (blob.type && !blob.type.startsWith("image/")) {
    throw new Error(`${name}: not an image (${blob.type})`);
  }
  if (blob.size === 0) throw new Error(`${name}: the file is empty`);
  if (blob.type === "image/svg+xml" || /\.svgz?$/i.test(name)) {
    throw new Error(`${name}: an SVG drawing, not a pixel image; save it as PNG or JPEG to classify it`);
  }
  try {
    return await createImageBitmap(blob, DECODE_OPTIONS);
  } catch (err) {
    throw new Error(`${name}: ${undecodable(blob, name)}`, { cause: err });
  }
}
function undecodable(blob, name) {
  const is = (types, suffixes) => types.includes(blob.type) || suffixes.test(name);
  if (is(["image/tiff"], /\.tiff?$/i)) {
    return "could not decode image: a TIFF file, which browsers do not show; save it as PNG or JPEG";
  }
  if (is(["image/heic", "image/heif"], /\.hei[cf]$/i)) {
    return "could not decode image: a HEIC photo, which this browser does not decode; save it as JPEG";
  }
  return "could not decode image (damaged, cut short, or in a format this browser does not show)";
}
function canvas2d(width, height, name) {
  const canvas = typeof OffscreenCanvas !== "undefined" ? new OffscreenCanvas(width, height) : Object.assign(document.createElement("canvas"), { width, height });
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  if (!ctx) throw new Error(`${name}: the image (${width}×${height}) is too large for this browser to read`);
  return ctx;
}
function bitmapPixels(bitmap, name) {
  const { width, height } = bitmap;
  if (width === 0 || height === 0) throw new Error(`${name}: the image is empty (0×0)`);
  const ctx = canvas2d(width, height, name);
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, width, height);
  ctx.drawImage(bitmap, 0, 0);
  let pixels;
  try {
    pixels = ctx.getImageData(0, 0, width, height);
  } catch (err) {
    throw new Error(`${name}: the image (${width}×${height}) could not be read (${err.message})`, { cause: err });
  }
  const { data } = pixels;
  if (data[3] !== 255 || data[data.length - 1] !== 255) {
    throw new Error(`${name}: the image (${width}×${height}) is too large for this browser to read; scale it down`);
  }
  return pixels;
}
async function pixelsOf(source, name) {
  if (typeof ImageData !== "undefined" && source instanceof ImageData) {
    if (source.width === 0 || source.height === 0) throw new Error(`${name}: the ImageData is empty (0×0)`);
    return source;
  }
  if (typeof ImageBitmap !== "undefined" && source instanceof ImageBitmap) {
    try {
      return bitmapPixels(source, name);
    } finally {
      source.close();
    }
  }
  if (typeof Blob !== "undefined" && source instanceof Blob) {
    const bitmap = await decodeBlob(source, name);
    try {
      return bitmapPixels(bitmap, name);
    } finally {
      bitmap.close();
    }
  }
  throw new TypeError(`${name}: cannot read pixels from ${source?.constructor?.name || typeof source}`);
}
async function toMessage(source) {
  if (typeof Blob !== "undefined" && source instanceof Blob) {
    return { source, name: blobName(source), transfer: [] };
  }
  if (typeof ImageData !== "undefined" && source instanceof ImageData) {
    if (source.width === 0 || source.height === 0) throw new Error("classify: the ImageData is empty (0×0)");
    return { source, name: "ImageData", transfer: [] };
  }
  let name = "image";
  try {
    if (typeof HTMLImageElement !== "undefined" && source instanceof HTMLImageElement) {
      name = source.currentSrc || source.src || "image element";
      if (!source.complete || source.naturalWidth === 0) await source.decode();
      const bitmap = await createImageBitmap(source, DECODE_OPTIONS);
      return { source: bitmap, name, transfer: [bitmap] };
    }
    const isCanvas = typeof HTMLCanvasElement !== "undefined" && source instanceof HTMLCanvasElement || typeof OffscreenCanvas !== "undefined" && source instanceof OffscreenCanvas;
    const isVideo = typeof HTMLVideoElement !== "undefined" && source instanceof HTMLVideoElement;
    if (isCanvas || isVideo || typeof ImageBitmap !== "undefined" && source instanceof ImageBitmap) {
      name = source.constructor.name;
      const w = isVideo ? source.videoWidth : source.width;
      const h = isVideo ? source.videoHeight : source.height;
      if (!w || !h) throw new Error(`classify: the ${name} is empty (0×0)`);
      const bitmap = await createImageBitmap(source, { premultiplyAlpha: "none", colorSpaceConversion: "none" });
      return { source: bitmap, name, transfer: [bitmap] };
    }
  } catch (err) {
    if (err.message.startsWith("classify:")) throw err;
    throw new Error(`${name}: could not decode image`, { cause: err });
  }
  const kind = source === null || source === void 0 ? String(source) : source.constructor?.name || typeof source;
  throw new TypeError(
    `classify: unsupported source (${kind}); pass an HTMLImageElement, HTMLCanvasElement, HTMLVideoElement, ImageBitmap, ImageData, Blob or File`
  );
}

// templates/js/tfjs-fixes.js
function useFastKernels(tf) {
  useFastRelu6(tf);
  useFusedConvolutions(tf);
  useLeanElementwise(tf);
  useOneKernelMerges(tf);
  usePooledGlobalAverage(tf);
}
function useFastRelu6(tf) {
  class Relu6 extends tf.serialization.Serializable {
    static className = "relu6";
    apply(x) {
      return tf.relu6(x);
    }
    getConfig() {
      return {};
    }
  }
  tf.serialization.registerClass(Relu6);
}
var FUSABLE = /* @__PURE__ */ new Set(["linear", "relu", "relu6", "elu"]);
function useFusedConvolutions(tf) {
  const fusedActivation = (layer) => {
    const name = layer.activation ? layer.activation.getClassName() : "linear";
    return layer.dataFormat === "channelsLast" && layer.padding !== "causal" && FUSABLE.has(name) ? name : null;
  };
  const fusing = (name, op, kernel) => class extends tf.serialization.SerializationMap.getMap().classNameMap[name][0] {
    static className = name;
    call(inputs, kwargs) {
      const activation = fusedActivation(this);
      if (activation === null) return super.call(inputs, kwargs);
      return tf.tidy(() => op({
        x: Array.isArray(inputs) ? inputs[0] : inputs,
        filter: this[kernel].read(),
        strides: this.strides,
        pad: this.padding,
        dilations: this.dilationRate,
        dataFormat: "NHWC",
        bias: this.bias ? this.bias.read() : void 0,
        activation
      }));
    }
  };
  tf.serialization.registerClass(fusing("Conv2D", tf.fused.conv2d, "kernel"));
  tf.serialization.registerClass(fusing("DepthwiseConv2D", tf.fused.depthwiseConv2d, "depthwiseKernel"));
}
function useLeanElementwise(tf) {
  const builtIn = (name) => tf.serialization.SerializationMap.getMap().classNameMap[name][0];
  const one = (inputs) => Array.isArray(inputs) ? inputs[0] : inputs;
  class Rescaling extends builtIn("Rescaling") {
    static className = "Rescaling";
    call(inputs, kwargs) {
      const x = one(inputs);
      if (x.dtype === "float32" && hardSwishRole(tf, this) === "gate") return tf.reshape(x, x.shape);
      if (x.dtype !== "float32" || this.scale === 1 && this.offset === 0) return super.call(inputs, kwargs);
      return tf.tidy(() => {
        const scaled = this.scale === 1 ? x : tf.mul(x, this.scale);
        return this.offset === 0 ? scaled : tf.add(scaled, this.offset);
      });
    }
  }
  class ReLU extends builtIn("ReLU") {
    static className = "ReLU";
    call(inputs, kwargs) {
      const x = one(inputs);
      if (x.dtype === "float32" && hardSwishRole(tf, this) === "gate") return tf.reshape(x, x.shape);
      if (this.maxValue == null) return tf.relu(x);
      return this.maxValue === 6 ? tf.relu6(x) : tf.clipByValue(x, 0, this.maxValue);
    }
  }
  tf.serialization.registerClass(Rescaling);
  tf.serialization.registerClass(ReLU);
}
var HARD_SWISH = "BrowsernetHardSwish";
function useOneKernelMerges(tf) {
  const builtIn = (name) => tf.serialization.SerializationMap.getMap().classNameMap[name][0];
  if (!tf.getKernel(HARD_SWISH, "cpu")) {
    tf.registerKernel({
      kernelName: HARD_SWISH,
      backendName: "cpu",
      kernelFunc: ({ inputs: { x }, backend }) => {
        const xs = backend.data.get(x.dataId).values;
        const ys = new Float32Array(xs.length);
        for (let i = 0; i < xs.length; i++) {
          const v = xs[i];
          ys[i] = v >= 3 ? v : v > -3 ? v * (v + 3) / 6 : v * 0;
        }
        return backend.makeTensorInfo(x.shape, "float32", ys);
      }
    });
  }
  class Multiply extends builtIn("Multiply") {
    static className = "Multiply";
    mergeFunction(inputs) {
      if (inputs[0].dtype === "float32" && hardSwishRole(tf, this) === "product") return tf.engine().runKernel(HARD_SWISH, { x: inputs[0] }, {});
      return tf.tidy(() => inputs.slice(1).reduce((product, x) => tf.mul(product, x), inputs[0]));
    }
  }
  class Add extends builtIn("Add") {
    static className = "Add";
    mergeFunction(inputs) {
      return tf.tidy(() => inputs.slice(1).reduce((sum, x) => tf.add(sum, x), inputs[0]));
    }
  }
  tf.serialization.registerClass(Multiply);
  tf.serialization.registerClass(Add);
}
var hardSwishRoles = /* @__PURE__ */ new WeakMap();
function hardSwishRole(tf, layer) {
  if (!tf.getKernel(HARD_SWISH, tf.getBackend())) return null;
  if (!hardSwishRoles.has(layer)) {
    let product = layer;
    for (let hop = 0; hop < 2 && product && product.getClassName() !== "Multiply"; hop++) {
      product = soleConsumer(product);
    }
    const gate = product && product.getClassName() === "Multiply" ? hardSwishGate(product) : null;
    hardSwishRoles.set(layer, gate === null ? null : layer === product ? "product" : gate.includes(layer) ? "gate" : null);
  }
  return hardSwishRoles.get(layer);
}
function soleConsumer(layer) {
  return layer.inboundNodes.length === 1 && layer.outboundNodes.length === 1 ? layer.outboundNodes[0].outboundLayer : null;
}
function hardSwishGate(multiply) {
  const node = multiply.inboundNodes.length === 1 ? multiply.inboundNodes[0] : null;
  if (!node || node.inboundLayers.length !== 2) return null;
  const relu = node.inboundLayers[1];
  if (relu.getClassName() !== "ReLU" || relu.maxValue !== 1 || soleConsumer(relu) !== multiply) return null;
  const reluInput = relu.inboundNodes[0];
  const scale = reluInput.inboundLayers[0];
  if (scale.getClassName() !== "Rescaling" || scale.scale !== 1 / 6 || scale.offset !== 0.5 || soleConsumer(scale) !== relu) return null;
  const scaleInput = scale.inboundNodes[0];
  const sameX = scaleInput.inboundLayers[0] === node.inboundLayers[0] && scaleInput.nodeIndices[0] === node.nodeIndices[0] && scaleInput.tensorIndices[0] === node.tensorIndices[0];
  return sameX ? [scale, relu] : null;
}
function usePooledGlobalAverage(tf) {
  const builtIn = tf.serialization.SerializationMap.getMap().classNameMap.GlobalAveragePooling2D[0];
  class GlobalAveragePooling2D extends builtIn {
    static className = "GlobalAveragePooling2D";
    call(inputs, kwargs) {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      if (this.dataFormat !== "channelsLast" || x.rank !== 4 || x.dtype !== "float32") return super.call(inputs, kwargs);
      const [batch, height, width, channels] = x.shape;
      const pooled = tf.engine().runKernel("AvgPool", { x }, { filterSize: [height, width], strides: 1, pad: "valid" });
      return tf.tidy(() => tf.reshape(pooled, [batch, channels]));
    }
  }
  tf.serialization.registerClass(GlobalAveragePooling2D);
}

// templates/js/layers-model.js
var BYTES = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };
function storedBytes(spec) {
  const dtype = spec.quantization ? spec.quantization.dtype : spec.dtype;
  const per = BYTES[dtype];
  if (per === void 0) throw new Error(`weight ${spec.name}: unsupported dtype ${dtype}`);
  return per * spec.shape.reduce((n, d) => n * d, 1);
}
function weightTensors(tf, weightSpecs, shards) {
  const total = shards.reduce((n, shard2) => n + shard2.byteLength, 0);
  const tensors = /* @__PURE__ */ new Map();
  let shard = 0;
  let shardStart = 0;
  let offset = 0;
  try {
    for (const spec of weightSpecs) {
      const size = storedBytes(spec);
      if (offset + size > total) {
        throw new Error(`the weight files end before weight ${spec.name} (${total} bytes; the manifest needs more)`);
      }
      if (tensors.has(spec.name)) throw new Error(`weight ${spec.name} is listed twice in model.json`);
      while (size > 0 && offset >= shardStart + shards[shard].byteLength) {
        shardStart += shards[shard].byteLength;
        shard += 1;
      }
      let buffer = shards[shard];
      let at = offset - shardStart;
      if (size > 0 && at + size > buffer.byteLength) {
        const joined = new Uint8Array(size);
        for (let i = shard, done = 0, from = at; done < size; i += 1, from = 0) {
          const part = new Uint8Array(shards[i], from, Math.min(shards[i].byteLength - from, size - done));
          joined.set(part, done);
          done += part.byteLength;
        }
        buffer = joined.buffer;
        at = 0;
      }
      const plain = !spec.quantization && spec.dtype === "float32" && at % 4 === 0;
      const tensor = plain ? tf.tensor(new Float32Array(buffer, at, size / 4), spec.shape, "float32") : tf.io.decodeWeights(buffer.slice(at, at + size), [spec])[spec.name];
      tensors.set(spec.name, tensor);
      offset += size;
    }
    if (offset !== total) {
      throw new Error(`the weight files hold ${total} bytes, but model.json's manifest describes ${offset}`);
    }
  } catch (err) {
    for (const tensor of tensors.values()) tensor.dispose();
    throw err;
  }
  return tensors;
}
var building = Promise.resolve();
function buildLayersModel(tf, { modelTopology, weightSpecs }, shards) {
  const run = building.then(() => build(tf, modelTopology, weightSpecs, shards));
  building = run.catch(() => {
  });
  return run;
}
async function build(tf, modelTopology, weightSpecs, shards) {
  const tensors = weightTensors(tf, weightSpecs, shards);
  const used = /* @__PURE__ */ new Set();
  const noted = /* @__PURE__ */ new Set();
  const problems = [];
  const created = [];
  const { prototype } = tf.layers.Layer;
  const addWeight = prototype.addWeight;
  prototype.addWeight = function addLoadedWeight(name, shape, dtype, initializer, ...rest) {
    const key = `${this.name}/${name}`;
    const value = used.has(key) ? void 0 : tensors.get(key);
    if (value === void 0) {
      problems.push(`the topology's weight ${key} is not in the manifest`);
    } else if (value.shape.length !== shape.length || value.shape.some((d, i) => d !== shape[i])) {
      problems.push(`weight ${key} has shape [${value.shape}] in the manifest, but its layer needs [${shape}]`);
      noted.add(key);
    } else {
      used.add(key);
      initializer = { apply: () => value };
    }
    const weight = addWeight.call(this, name, shape, dtype, initializer, ...rest);
    created.push(weight);
    return weight;
  };
  let model = null;
  try {
    model = await tf.loadLayersModel({ load: async () => ({ modelTopology }) });
  } finally {
    prototype.addWeight = addWeight;
    for (const [name, tensor] of tensors) if (!used.has(name)) tensor.dispose();
    if (model === null) for (const weight of created) weight.dispose();
  }
  for (const spec of weightSpecs) {
    if (!used.has(spec.name) && !noted.has(spec.name)) {
      problems.push(`the manifest's weight ${spec.name} belongs to no layer`);
    }
  }
  if (problems.length > 0) {
    model.dispose();
    const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : "";
    throw new Error(`model.json does not fit its topology: ${problems.slice(0, 3).join("; ")}${more}`);
  }
  return model;
}

// templates/js/classifier.js
function describeShape(shape) {
  return `[${shape.map((d) => d === null ? "null" : d).join(", ")}]`;
}
function checkModelMatchesConfig(model, config) {
  const where = config.modelUrl;
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error(`${where}: expected one input and one output, got ${model.inputs.length} and ${model.outputs.length}`);
  }
  const inShape = model.inputs[0].shape;
  const [h, w] = config.inputSize;
  if (inShape.length !== 4 || inShape[1] !== null && inShape[1] !== h || inShape[2] !== null && inShape[2] !== w || inShape[3] !== null && inShape[3] !== 3) {
    throw new Error(`${where}: input shape ${describeShape(inShape)} does not fit config inputSize [${h}, ${w}] with 3 channels`);
  }
  const outShape = model.outputs[0].shape;
  const classes = outShape[outShape.length - 1];
  if (classes !== config.labels.length) {
    throw new Error(`${where}: model outputs ${classes} classes but config.json lists ${config.labels.length} labels`);
  }
}
async function loadClassifier(tf, config, download, { onBuild = () => {
}, mark = () => {
} } = {}) {
  let model;
  try {
    useFastKernels(tf);
    const { json, shards } = await download.files;
    onBuild();
    model = await buildLayersModel(tf, {
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((group) => group.weights)
    }, shards);
  } catch (err) {
    throw new Error(`Could not load the model (${config.modelUrl}): ${err.message}`, { cause: err });
  }
  try {
    checkModelMatchesConfig(model, config);
  } catch (err) {
    model.dispose();
    throw err;
  }
  mark("model");
  const [h, w] = config.inputSize;
  const { divisor, offset } = preprocessSpec(config.preprocess);
  const outputName = model.outputs[0].name;
  const predict = (pixels) => tf.tidy(() => {
    let x = tf.tensor4d(pixels, [1, h, w, 3], "float32");
    if (divisor !== 1) x = tf.div(x, divisor);
    if (offset !== 0) x = tf.add(x, offset);
    return model.execute(x, outputName);
  });
  let queue = Promise.resolve();
  const serialize = (task) => {
    const run2 = queue.then(task);
    queue = run2.catch(() => {
    });
    return run2;
  };
  let firstMs = null;
  const run = async (pixels) => {
    const t0 = performance.now();
    const output = predict(pixels);
    let probabilities;
    try {
      probabilities = await output.data();
    } finally {
      output.dispose();
    }
    const ms = performance.now() - t0;
    const first = firstMs === null;
    if (first) firstMs = ms;
    return { probabilities, ms, first };
  };
  const classifyNow = async (source, name, k) => {
    const { data, width, height } = await pixelsOf(source, name);
    const start2 = sharedNow();
    const { probabilities, ms, first } = await run(resizeToInput(data, width, height, [h, w], config.resize));
    return { results: topK(probabilities, config.labels, k), ms, first, start: start2, end: sharedNow() };
  };
  return Object.freeze({
    /** The first inference's milliseconds, or null before it. */
    get firstMs() {
      return firstMs;
    },
    /**
     * `source`: Blob, ImageBitmap (closed here) or ImageData. Resolves to `{results, ms, first, start, end}`:
     * `ms` times the model (the image already decoded and resized), `first` says it was the model's first
     * inference (the slow one).
     */
    classify(source, name, k) {
      return serialize(() => classifyNow(source, name, k));
    },
    /**
     * Runs one inference on a blank image unless one has run already, so that the
     * visitor's first image does not pay the first-inference cost. The page calls it
     * once it is ready and nothing is waiting: code that classifies the moment the
     * model is ready should not wait for a warm-up first.
     */
    warmUp() {
      return serialize(async () => {
        if (firstMs !== null) return;
        try {
          await run(new Float32Array(h * w * 3));
        } catch (err) {
          throw new Error(`The first inference failed on the ${tf.getBackend()} backend: ${err.message}`, { cause: err });
        }
      });
    },
    /**
     * Times the model on `pixels` (Float32Array [h, w, 3] in 0..255, already resized):
     * one untimed first inference unless one has run, then `runs` timed ones.
     * Resolves to `{firstMs, times: [ms], output: Float32Array}` (the last run's output).
     */
    probe(pixels, runs) {
      return serialize(async () => {
        if (firstMs === null) await run(pixels);
        const times = [];
        let output = null;
        for (let i = 0; i < runs; i++) {
          const { probabilities, ms } = await run(pixels);
          times.push(ms);
          output = probabilities;
        }
        return { firstMs, times, output };
      });
    },
    /** TF.js's tensor bookkeeping, after the queue drains. */
    memory() {
      return serialize(() => {
        const { numTensors, numBytes } = tf.memory();
        return { numTensors, numBytes };
      });
    }
  });
}

// templates/js/model-files.js
var WEIGHT_FILE = "the weight file";
var PROGRESS_INTERVAL_MS = 100;
function shardPaths(modelJson) {
  return modelJson.weightsManifest.flatMap((group) => group.paths);
}
function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}
function expectedDigests(config, modelUrl) {
  const expected = /* @__PURE__ */ new Map();
  for (const [path, digest] of Object.entries(config.shardSha256)) {
    expected.set(new URL(path, modelUrl).href, digest);
  }
  return expected;
}
async function verifyShard(url, bytes, want) {
  const where = fileLabel(url);
  if (!globalThis.crypto || !crypto.subtle) {
    throw new Error(`${where}: cannot verify the weights: crypto.subtle needs a secure (https or localhost) connection`);
  }
  const got = hex(await crypto.subtle.digest("SHA-256", bytes));
  if (got !== want) {
    throw new Error(`${where}: corrupt or truncated weight shard (${bytes.byteLength} bytes, sha256 ${got.slice(0, 12)}…, expected ${want.slice(0, 12)}…); redeploy the model/ folder`);
  }
}
async function fetchModelJson(url) {
  const where = fileLabel(url);
  const response = await fetchFile(url, "the model file");
  let json;
  try {
    json = await response.json();
  } catch (err) {
    throw new Error(`${where}: not valid JSON (${err.message})`, { cause: err });
  }
  const groups = json?.weightsManifest;
  if (json?.modelTopology === null || typeof json?.modelTopology !== "object") {
    throw new Error(`${where}: not a TF.js layers model (no modelTopology)`);
  }
  if (!Array.isArray(groups) || !groups.every((g) => Array.isArray(g?.paths) && Array.isArray(g?.weights))) {
    throw new Error(`${where}: no valid weightsManifest`);
  }
  return json;
}
async function readShard(response, onBytes) {
  const encoded = (response.headers.get("Content-Encoding") || "identity") !== "identity";
  const declared = encoded ? 0 : Number(response.headers.get("Content-Length")) || 0;
  if (!response.body) {
    const bytes2 = new Uint8Array(await response.arrayBuffer());
    onBytes(bytes2.byteLength);
    return bytes2;
  }
  let bytes = new Uint8Array(declared);
  let at = 0;
  const reader = response.body.getReader();
  for (; ; ) {
    const { done, value } = await reader.read();
    if (done) break;
    if (at + value.byteLength > bytes.byteLength) {
      const grown = new Uint8Array(Math.max(at + value.byteLength, bytes.byteLength * 2));
      grown.set(bytes.subarray(0, at));
      bytes = grown;
    }
    bytes.set(value, at);
    at += value.byteLength;
    onBytes(value.byteLength);
  }
  return at === bytes.byteLength ? bytes : bytes.slice(0, at);
}
async function cachedShard(url, hashed) {
  if (!hashed.test(new URL(url).pathname)) return null;
  try {
    const hit = globalThis.caches ? await caches.match(url) : void 0;
    return hit && hit.ok ? hit : null;
  } catch {
    return null;
  }
}
async function dropCached(url) {
  try {
    await Promise.all((await caches.keys()).map(async (name) => (await caches.open(name)).delete(url)));
  } catch {
  }
}
function prefetchModel(config, { base, onProgress = () => {
}, mark = () => {
} }) {
  const modelUrl = new URL(config.modelUrl, base).href;
  const digests = expectedDigests(config, modelUrl);
  const hashed = new RegExp(config.hashedName);
  const urls = [...digests.keys()];
  const progress = urls.map(() => ({ loaded: 0, total: 0, finished: false }));
  let bytes = 0;
  let reportedAt = -Infinity;
  const report = () => {
    const now = performance.now();
    const all = progress.every(({ finished }) => finished);
    if (!all && now - reportedAt < PROGRESS_INTERVAL_MS) return;
    reportedAt = now;
    const done = progress.reduce((n, { loaded, total, finished }) => n + (finished ? 1 : total > 0 ? Math.min(loaded / total, 1) : 0), 0);
    onProgress(done / Math.max(urls.length, 1), bytes);
  };
  const download = async (url, state2) => {
    const read = async (response) => {
      checkNotHtml(response, url, WEIGHT_FILE);
      state2.total = Number(response.headers.get("Content-Length")) || 0;
      const shard2 = await readShard(response, (n) => {
        state2.loaded += n;
        bytes += n;
        report();
      });
      await verifyShard(url, shard2, digests.get(url));
      return shard2;
    };
    let shard = null;
    const cached = await cachedShard(url, hashed);
    if (cached) {
      shard = await read(cached).catch(async (err) => {
        console.warn(`browsernet: ${err.message}; fetching it again`);
        bytes -= state2.loaded;
        state2.loaded = 0;
        await dropCached(url);
        return null;
      });
    }
    shard ??= await read(await fetchFile(url, WEIGHT_FILE));
    state2.finished = true;
    report();
    return shard.buffer;
  };
  const reads = new Map(urls.map((url, i) => [url, download(url, progress[i])]));
  for (const read of reads.values()) read.catch(() => {
  });
  const files = fetchModelJson(modelUrl).then(async (json) => {
    const shards = await Promise.all(shardPaths(json).map((path) => {
      const url = new URL(path, modelUrl).href;
      return reads.get(url) ?? Promise.reject(new Error(
        `${fileLabel(url)}: this weight shard is not listed in config.json's shardSha256, so it cannot be verified`
      ));
    }));
    mark("download");
    return { json, shards };
  });
  files.catch(() => {
  });
  return { url: modelUrl, files };
}

// templates/js/engine.js
function sinceNavigation(marks = []) {
  return Object.fromEntries(marks.map(([stage, at]) => [stage, at - performance.timeOrigin]));
}
var EngineError = class extends Error {
  constructor(stage, message) {
    super(message);
    this.stage = stage;
  }
};
function startWorker({ config: configReady, forced: forced2, preferred = () => null, threads: threads2, base, runtime: runtime2, onProgress, onBuild, onFatal }) {
  return new Promise((resolve, reject) => {
    const early = takeEarly();
    let worker;
    try {
      worker = early ? early.worker : new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "browsernet inference" });
    } catch (err) {
      reject(new EngineError("worker", `module workers are not available (${err.message})`));
      return;
    }
    const pending = /* @__PURE__ */ new Map();
    let nextId = 1;
    let engine = null;
    let dead = null;
    let firstMs = null;
    const die = (message) => {
      if (dead !== null) return;
      dead = message;
      worker.terminate();
      for (const { reject: fail2 } of pending.values()) fail2(new Error(message));
      pending.clear();
      if (engine === null) reject(new EngineError("worker", message));
      else onFatal(new Error(message));
    };
    const request = (message, transfer = []) => {
      if (dead !== null) return Promise.reject(new Error(dead));
      const id = nextId++;
      return new Promise((res, rej) => {
        pending.set(id, { resolve: res, reject: rej });
        try {
          worker.postMessage({ ...message, id }, transfer);
        } catch (err) {
          pending.delete(id);
          rej(new Error(`could not send the image to the inference worker (${err.message})`));
        }
      });
    };
    worker.addEventListener("message", (event) => {
      let msg;
      try {
        msg = checkWorkerMessage(event.data);
      } catch (err) {
        die(err.message);
        return;
      }
      switch (msg.type) {
        case "progress":
          onProgress(msg.fraction, msg.loaded);
          break;
        case "building":
          onBuild();
          break;
        case "ready":
          engine = Object.freeze({
            backend: msg.backend,
            skipped: msg.skipped ?? [],
            thread: "worker",
            threads: msg.threads ?? null,
            fallback: null,
            startup: sinceNavigation(msg.startup),
            get firstMs() {
              return firstMs;
            },
            async warmUp() {
              await request({ type: "warmup" });
            },
            async classify(source, k) {
              const { source: payload, name, transfer } = await toMessage(source);
              const reply = await request({ type: "classify", source: payload, name, k }, transfer);
              return { results: reply.results, ms: reply.ms, first: reply.first, start: reply.start, end: reply.end };
            },
            async memory() {
              const { numTensors, numBytes } = await request({ type: "memory" });
              return { numTensors, numBytes };
            }
          });
          resolve(engine);
          break;
        case "result":
        case "warmup":
        case "memory": {
          if (msg.firstMs !== void 0) firstMs = msg.firstMs;
          const entry = pending.get(msg.id);
          pending.delete(msg.id);
          if (entry) entry.resolve(msg);
          break;
        }
        case "error": {
          const entry = msg.id === null ? void 0 : pending.get(msg.id);
          if (entry) {
            pending.delete(msg.id);
            entry.reject(new Error(msg.message));
          } else if (engine === null) {
            worker.terminate();
            reject(new EngineError(msg.stage, msg.message));
          } else {
            die(`The inference worker failed: ${msg.message}`);
          }
          break;
        }
        default:
          break;
      }
    });
    const onError = (event) => {
      event.preventDefault();
      die(event.message ? `The inference worker failed: ${event.message}` : "The inference worker (js/worker.js) could not start");
    };
    worker.addEventListener("error", onError);
    early?.adopt(onError);
    worker.addEventListener("messageerror", () => die("The inference worker sent a message that could not be read"));
    configReady.then(
      (config) => worker.postMessage({
        type: "init",
        runtime: runtime2,
        backend: forced2,
        preferred: preferred(config),
        threads: threads2(config),
        config,
        base
      }),
      (err) => {
        worker.terminate();
        reject(err);
      }
    );
  });
}
async function startMainThread({ config: configReady, forced: forced2, preferred = () => null, base, runtime: runtime2, onProgress, onBuild }, fallback) {
  const { marks: startup, mark } = startupTimeline("main");
  const config = await configReady;
  const model = prefetchModel(config, { base, onProgress, mark });
  await loadRuntimeHere(runtime2);
  mark("runtime");
  const tf = getTf(runtime2);
  const skipped = [];
  const backend = await startBackend(tf, forced2, {
    base,
    wasmFiles: config.wasmFiles,
    threads: false,
    runtime: runtime2,
    preferred: preferred(config),
    skipped
  });
  mark("backend");
  const classifier = await loadClassifier(tf, config, model, { onBuild, mark });
  return Object.freeze({
    backend,
    skipped,
    thread: "main",
    threads: wasmThreads(tf),
    fallback,
    startup: sinceNavigation(startup),
    get firstMs() {
      return classifier.firstMs;
    },
    warmUp: () => classifier.warmUp(),
    async classify(source, k) {
      const { source: payload, name } = await toMessage(source);
      return classifier.classify(payload, name, k);
    },
    memory: () => classifier.memory()
  });
}
async function startEngine(options) {
  if (!options.useWorker) return startMainThread(options, "turned off by ?worker=0");
  try {
    return await startWorker(options);
  } catch (err) {
    if (!(err instanceof EngineError) || !shouldFallBack(err.stage)) throw err;
    console.warn(`browsernet: inference falls back to the main thread: ${err.message}`);
    options.onFallback?.(err.message);
    try {
      return await startMainThread(options, err.message);
    } catch (mainErr) {
      const worker = err.message.includes(mainErr.message) || mainErr.message.includes(err.message) ? "" : ` (in a worker: ${err.message})`;
      throw new Error(`${mainErr.message}${worker}`, { cause: mainErr });
    }
  }
}

// templates/js/file-input.js
function doneMessage(classified, failed, last) {
  const plural = (n) => `${n} image${n === 1 ? "" : "s"}`;
  const answer = last ? `${last.name}: ${last.label}, ${formatPercent(last.probability)}.` : "";
  if (classified === 1 && !failed && last) return `Done. ${answer}`;
  return `Done: ${plural(classified)} classified${failed ? `, ${failed} could not be` : ""}.` + (last ? ` Last: ${answer}` : "");
}
function dropWithoutFiles(types) {
  const list = [...types || []];
  if (list.includes("text/uri-list")) {
    return "Nothing to classify: that was a link, not a file. Save the image on your device, then drop or choose the file.";
  }
  return list.length > 0 ? "Nothing to classify: drop image files (JPEG, PNG, WebP, GIF)." : "";
}
function createFileInput(view2, classify2) {
  const { input, dropzone } = view2.refs;
  const waiting = [];
  let draining = false;
  let batch = { total: 0, done: 0, failed: 0 };
  let last = null;
  async function drain() {
    if (draining) return;
    draining = true;
    while (waiting.length > 0) {
      const { file, card } = waiting.shift();
      await card.showThumbnail();
      try {
        const { results } = await classify2(file);
        card.showResults(results);
        if (results.length > 0) last = { name: file.name || "the image", ...results[0] };
      } catch (err) {
        batch.failed += 1;
        card.showError(err && err.message ? err.message : String(err));
      }
      batch.done += 1;
    }
    draining = false;
    const { total, failed } = batch;
    view2.setQueue(doneMessage(total - failed, failed, last));
    batch = { total: 0, done: 0, failed: 0 };
    last = null;
  }
  function add(files) {
    if (files.length === 0) return;
    const state2 = document.body.dataset.state;
    if (state2 === "error") {
      view2.setQueue("Nothing was classified: the classifier is not working (see the message above).");
      return;
    }
    for (const file of files) waiting.push({ file, card: view2.addCard(file) });
    batch.total += files.length;
    const loading = state2 !== "ready" ? " (once the model has loaded)" : "";
    view2.setQueue(`Classifying ${batch.total} image${batch.total === 1 ? "" : "s"}${loading}…`);
    drain();
  }
  input.addEventListener("change", () => {
    add([...input.files]);
    input.value = "";
  });
  document.addEventListener("dragover", (event) => event.preventDefault());
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    dropzone.classList.remove("is-dragging");
    if (!event.dataTransfer) return;
    const files = [...event.dataTransfer.files];
    if (files.length === 0) {
      const said = dropWithoutFiles(event.dataTransfer.types);
      if (said) view2.setQueue(said);
      return;
    }
    add(files);
  });
  dropzone.addEventListener("dragover", (event) => {
    const broken = document.body.dataset.state === "error";
    if (event.dataTransfer) event.dataTransfer.dropEffect = broken ? "none" : "copy";
    if (!broken) dropzone.classList.add("is-dragging");
  });
  dropzone.addEventListener("dragleave", (event) => {
    if (!dropzone.contains(event.relatedTarget)) dropzone.classList.remove("is-dragging");
  });
  document.addEventListener("paste", (event) => {
    const files = [...event.clipboardData ? event.clipboardData.files : []];
    if (files.length === 0 || takesText(event.target)) return;
    event.preventDefault();
    add(files);
  });
}
function takesText(target) {
  if (!target || typeof target.closest !== "function") return false;
  if (target.isContentEditable || target.closest("textarea")) return true;
  const input = target.closest("input");
  return input !== null && !["file", "range", "button", "checkbox", "radio", "submit", "reset"].includes(input.type);
}

// templates/js/model-card.js
function quantizationText(q) {
  if (q === null || typeof q !== "object") return String(q);
  const test = q.auto?.test;
  const tested = test && Number.isFinite(test.accuracy?.auto) ? `, ${percent(test.accuracy.auto)} test accuracy as stored, on ${photos(test.images)}` : "";
  const measured = q.auto && Number.isFinite(q.auto.agreement) ? ` (${(q.auto.agreement * 100).toFixed(1)}% top-1 agreement with float32${tested})` : "";
  return `${q.map}${measured}`;
}
function percent(x) {
  return Number.isFinite(x) ? `${(x * 100).toFixed(1).replace(/\.0$/, "")}%` : "not measured";
}
function intervalText(interval) {
  if (!Array.isArray(interval) || !interval.every(Number.isFinite)) return "";
  const [low, high] = interval.map((x) => Math.round(x * 100));
  return ` (95% confidence interval ${low}–${high}%)`;
}
function photos(n) {
  return `${n} photo${n === 1 ? "" : "s"}`;
}
function trainingRows(training) {
  if (!training || typeof training !== "object" || !training.per_class) return [];
  const copies = training.test_near_copies > 0 ? `; optimistic: ${training.test_near_copies} of them were seen in training (a near-copy in training or validation, or a photo that trained the base)` : "";
  const rows = [["Test accuracy", `${percent(training.test_accuracy)}${intervalText(training.test_accuracy_95ci)} on ${photos(training.test_images)} held out from training (${photos(training.train_images)} trained on)${copies}`]];
  for (const [name, m] of Object.entries(training.per_class)) {
    rows.push([`Class “${name}”`, `precision ${percent(m.precision)}, recall ${percent(m.recall)} (${photos(m.support)} in the test split)`]);
  }
  return rows;
}
function latencyText({ medianMs, samples, runs = samples }) {
  if (medianMs === null || medianMs === void 0) return "not measured yet";
  const over = runs > samples ? `the last ${samples} of ${runs} runs` : `${samples} run${samples === 1 ? "" : "s"}`;
  return `${formatMs(medianMs)} median on this device (${over} after the first; the model alone, not decoding and resizing the image)`;
}
function modelCardRows(report, live, reportError = null) {
  const rows = [];
  if (report) {
    const family = { mobilenet_v1: "MobileNet V1", mobilenet_v2: "MobileNet V2", custom: "custom Keras model" };
    const [h, w] = report.input_size || [];
    rows.push(["Family", family[report.family] || String(report.family)]);
    rows.push(["Alpha (width)", report.alpha === null || report.alpha === void 0 ? "not recorded (custom model)" : String(report.alpha)]);
    rows.push(["Input size", `${h}×${w} pixels, resized by ${report.resize === "crop" ? "centre crop" : "squash"}`]);
    rows.push(["Parameters", Number(report.parameters).toLocaleString("en")]);
    rows.push(["Multiply-adds", `${(Number(report.multiply_adds) / 1e6).toLocaleString("en", { maximumFractionDigits: 1 })} M`]);
    rows.push(["Download size", `${formatBytes(report.model_bytes)} model, ${formatBytes(report.total_bytes)} site`]);
    rows.push(["Quantization", quantizationText(report.quantization)]);
    rows.push(...trainingRows(report.training));
  } else {
    rows.push(["Build report", `not available (${reportError || "report.json could not be read"})`]);
  }
  rows.push(["Backend", live.backend ? `${live.backend}, ${live.thread === "worker" ? "in a Web Worker" : "on the main thread"}` : "not started"]);
  rows.push(["First inference", formatMs(live.warmupMs)]);
  rows.push(["Inference time", latencyText(live)]);
  if (live.choice !== void 0) rows.push(["Backend choice", choiceText(live.choice)]);
  return rows;
}

// templates/js/ui.js
var THUMB_WIDTH = 360;
function required(doc, id) {
  const el2 = doc.getElementById(id);
  if (!el2) throw new Error(`index.html is missing #${id}`);
  return el2;
}
function el(doc, tag, className, text) {
  const node = doc.createElement(tag);
  if (className) node.className = className;
  if (text !== void 0) node.textContent = text;
  return node;
}
function createView(doc = document) {
  const refs = {
    body: doc.body,
    status: required(doc, "status"),
    progress: required(doc, "progress"),
    backend: required(doc, "backend"),
    thread: required(doc, "thread"),
    queue: required(doc, "queue"),
    modelCard: required(doc, "model-card"),
    cameraStart: required(doc, "camera-start"),
    cameraStop: required(doc, "camera-stop"),
    cameraFps: required(doc, "camera-fps"),
    cameraFpsValue: required(doc, "camera-fps-value"),
    cameraStatus: required(doc, "camera-status"),
    cameraView: required(doc, "camera-view"),
    cameraVideo: required(doc, "camera-video"),
    cameraMeasured: required(doc, "camera-fps-measured"),
    cameraLatency: required(doc, "camera-latency"),
    cameraResults: required(doc, "camera-results"),
    error: required(doc, "error"),
    dropzone: required(doc, "dropzone"),
    input: required(doc, "file-input"),
    results: required(doc, "results")
  };
  function predictionList(results, list = el(doc, "ol", "predictions")) {
    const rows = results.map(({ label, probability }) => {
      const row = el(doc, "li", "prediction");
      const text = el(doc, "span", "prediction-label", label);
      const pct = el(doc, "span", "prediction-pct", formatPercent(probability));
      const bar = el(doc, "span", "bar");
      bar.setAttribute("aria-hidden", "true");
      const fill = el(doc, "span", "bar-fill");
      fill.style.width = `${Math.max(0, Math.min(1, probability)) * 100}%`;
      bar.append(fill);
      row.append(text, pct, bar);
      return row;
    });
    list.replaceChildren(...rows);
    return list;
  }
  let lastSpokenPct = -1;
  function addCard(file) {
    const card = el(doc, "li", "card");
    card.dataset.state = "pending";
    const thumbBox = el(doc, "div", "card-thumb");
    const body = el(doc, "div", "card-body");
    const name = el(doc, "h2", "card-name", file.name || "unnamed file");
    const status = el(doc, "p", "card-status", "Classifying…");
    body.append(name, status);
    card.append(thumbBox, body);
    refs.results.append(card);
    return {
      /**
       * A small thumbnail, decoded at reduced size (EXIF-upright): a batch of large
       * photos must not keep full-size decoded images alive. Not an image: none.
       */
      async showThumbnail() {
        if (file.type && !file.type.startsWith("image/")) return;
        let bitmap;
        try {
          bitmap = await createImageBitmap(file, { resizeWidth: THUMB_WIDTH, resizeQuality: "medium" });
        } catch {
          return;
        }
        const canvas = el(doc, "canvas", "thumb");
        canvas.width = bitmap.width;
        canvas.height = bitmap.height;
        canvas.setAttribute("role", "img");
        canvas.setAttribute("aria-label", `Thumbnail of ${file.name || "the image"}`);
        canvas.getContext("2d").drawImage(bitmap, 0, 0);
        bitmap.close();
        thumbBox.append(canvas);
      },
      showResults(results) {
        card.dataset.state = "done";
        const list = predictionList(results);
        list.setAttribute("aria-label", `Top ${results.length} for ${file.name || "this file"}`);
        status.replaceWith(list);
      },
      showError(message) {
        card.dataset.state = "error";
        status.className = "card-status card-error";
        const prefix = `${file.name}: `;
        const text = file.name && message.startsWith(prefix) ? message.slice(prefix.length) : message;
        status.textContent = text.charAt(0).toUpperCase() + text.slice(1);
      }
    };
  }
  return {
    refs,
    setState(state2) {
      refs.body.dataset.state = state2;
    },
    setStatus(text) {
      refs.status.textContent = text;
    },
    setProgress(fraction, loaded, total) {
      refs.progress.value = fraction;
      if (Number.isFinite(loaded) && total > 0) refs.progress.title = downloadText(loaded, total);
      const pct = Math.floor(fraction * 10) * 10;
      if (pct > lastSpokenPct) {
        lastSpokenPct = pct;
        refs.status.textContent = Number.isFinite(loaded) && total > 0 ? `Downloading model… ${downloadText(loaded, total)}` : `Downloading model… ${pct}%`;
      }
    },
    setBackend(name, thread, fallback) {
      refs.backend.textContent = name;
      refs.thread.textContent = thread === "worker" ? "(in a Web Worker)" : `(on the main thread${fallback ? `: ${fallback}` : ""})`;
    },
    setQueue(text) {
      refs.queue.textContent = text;
    },
    setModelCard(rows) {
      const items = rows.flatMap(([term, value]) => {
        const wrap = el(doc, "div", "model-card-row");
        wrap.append(el(doc, "dt", "", term), el(doc, "dd", "", value));
        return [wrap];
      });
      refs.modelCard.replaceChildren(...items);
    },
    setCameraResults(results) {
      predictionList(results, refs.cameraResults);
    },
    showFatal(message, status = "The classifier could not start.") {
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
    addCard
  };
}

// templates/js/webcam.js
function frameDelay(lastStart, now, fpsCap) {
  if (lastStart === null) return 0;
  return Math.max(0, lastStart + 1e3 / fpsCap - now);
}
function measuredFps(times) {
  if (times.length < 2) return null;
  return (times.length - 1) * 1e3 / (times[times.length - 1] - times[0]);
}
function cameraErrorMessage(name, message = "") {
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return "Camera access was denied. Allow the camera for this site in your browser to classify live video.";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No camera was found on this device.";
    case "NotReadableError":
    case "AbortError":
      return "The camera is in use by another application or could not be started.";
    case "NoMediaDevices":
      return "This browser offers no camera access here (it needs a secure, https or localhost, connection).";
    default:
      return `The camera could not be started (${name}${message ? `: ${message}` : ""}).`;
  }
}
var FPS_WINDOW = 8;
function displayRate(frames = 20) {
  return new Promise((resolve) => {
    const stamps = [];
    const tick = (t) => {
      stamps.push(t);
      if (stamps.length <= frames) requestAnimationFrame(tick);
      else resolve(Math.max(1, Math.round(measuredFps(stamps))));
    };
    requestAnimationFrame(tick);
  });
}
function createWebcam(view2, classify2) {
  const { refs } = view2;
  let stream = null;
  let running = false;
  let session = 0;
  let wake = null;
  const showCap = () => {
    refs.cameraFpsValue.textContent = `${refs.cameraFps.value} fps`;
  };
  refs.cameraFps.addEventListener("input", showCap);
  displayRate().then((hz) => {
    refs.cameraFps.max = String(hz);
    if (Number(refs.cameraFps.value) > hz) refs.cameraFps.value = String(hz);
    showCap();
  });
  const setRunning = (on) => {
    running = on;
    refs.cameraStart.disabled = on;
    refs.cameraStop.disabled = !on;
    refs.cameraView.hidden = !on;
  };
  function stop(message = "Camera stopped.") {
    if (stream) for (const track of stream.getTracks()) track.stop();
    stream = null;
    refs.cameraVideo.srcObject = null;
    setRunning(false);
    if (wake) wake();
    refs.cameraStatus.textContent = message;
  }
  async function loop(mine) {
    const starts = [];
    let frames = 0;
    let lastStart = null;
    const current = () => running && session === mine;
    while (current()) {
      for (let delay; current() && (delay = frameDelay(lastStart, performance.now(), Number(refs.cameraFps.value))) > 0; ) {
        await new Promise((resolve) => {
          wake = resolve;
          setTimeout(resolve, delay);
        });
        wake = null;
      }
      if (!current()) break;
      lastStart = performance.now();
      let reply;
      try {
        reply = await classify2(refs.cameraVideo);
      } catch (err) {
        if (current()) stop(`Live classification stopped: ${err.message}`);
        break;
      }
      if (!current()) break;
      const done = performance.now();
      frames += 1;
      starts.push(lastStart);
      if (starts.length > FPS_WINDOW) starts.shift();
      const fps = measuredFps(starts);
      refs.cameraMeasured.textContent = fps === null ? "– fps" : `${fps.toFixed(1)} fps`;
      refs.cameraLatency.textContent = `${Math.round(done - lastStart)} ms`;
      refs.cameraLatency.dataset.ms = String(done - lastStart);
      refs.cameraMeasured.dataset.fps = fps === null ? "" : String(fps);
      refs.cameraMeasured.dataset.frames = String(frames);
      view2.setCameraResults(reply.results);
    }
  }
  async function start2() {
    refs.cameraStart.disabled = true;
    if (!navigator.mediaDevices || typeof navigator.mediaDevices.getUserMedia !== "function") {
      refs.cameraStart.disabled = false;
      refs.cameraStatus.textContent = cameraErrorMessage("NoMediaDevices");
      return;
    }
    refs.cameraStatus.textContent = "Starting the camera…";
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
      refs.cameraVideo.srcObject = stream;
      await refs.cameraVideo.play();
    } catch (err) {
      stop(cameraErrorMessage(err && err.name, err && err.message));
      return;
    }
    const started = stream;
    for (const track of started.getTracks()) {
      track.addEventListener("ended", () => {
        if (stream === started) stop("The camera was disconnected or taken by another application.");
      });
    }
    view2.setCameraResults([]);
    refs.cameraMeasured.textContent = "– fps";
    refs.cameraLatency.textContent = "– ms";
    delete refs.cameraMeasured.dataset.fps;
    delete refs.cameraMeasured.dataset.frames;
    delete refs.cameraLatency.dataset.ms;
    setRunning(true);
    refs.cameraStatus.textContent = "Camera on: classifying live.";
    session += 1;
    loop(session);
  }
  refs.cameraStart.addEventListener("click", start2);
  refs.cameraStop.addEventListener("click", () => stop());
  return { stop };
}

// templates/js/app.js
var view = createView(document);
var state = Object.seal({
  config: null,
  // config.json, validated
  report: null,
  // report.json, for the model card (null: `reportError` says why)
  reportError: null,
  engine: null,
  // the running engine (engine.js), once `ready` resolves
  asked: false,
  // has anything asked for a classification? (then it pays the first inference, not a warm-up)
  inferences: createInferenceLog(),
  // what this page measured: the last inferences and their running median
  stored: null,
  // the backend choice remembered from an earlier visit (backend-probe.js), if still valid
  choice: null
  // the backend choice's state, for the model card and backendChoice
});
var forced = null;
var runtime = [];
var optionsError = null;
try {
  forced = requestedBackend(location.search);
  requestedThreads(location.search);
  runtime = runtimeScripts(document);
} catch (err) {
  optionsError = err;
}
var threads = (loaded) => wasmThreadCount(location.search, loaded.wasmThreads, navigator.hardwareConcurrency);
function storage() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}
function preferredBackend(config) {
  const store = storage();
  state.stored = store && !forced ? loadChoice(store, storageKey(document.baseURI), fingerprint(runtime, config)) : null;
  return state.stored ? state.stored.chosen : null;
}
var firstInferenceDone;
var firstInference = new Promise((resolve) => {
  firstInferenceDone = resolve;
});
function idle() {
  return new Promise((resolve) => {
    if (typeof requestIdleCallback === "function") requestIdleCallback(() => resolve(), { timeout: 2e3 });
    else setTimeout(resolve, 500);
  });
}
async function chooseBackend(engine) {
  const store = storage();
  if (forced) {
    state.choice = { state: "forced", backend: forced };
  } else if (engine.thread !== "worker") {
    state.choice = { state: "off", reason: "inference runs on the main thread" };
  } else if (store === null) {
    state.choice = { state: "off", reason: "this browser keeps no localStorage" };
  } else if (state.stored && state.stored.chosen === engine.backend) {
    state.choice = { state: "remembered", record: state.stored };
  }
  if (state.choice !== null) {
    refreshModelCard();
    return;
  }
  state.choice = { state: "waiting" };
  refreshModelCard();
  await firstInference;
  await idle();
  const { config } = state;
  const order = probeOrder(engine.backend);
  state.choice = { state: "measuring", candidates: order };
  refreshModelCard();
  const results = await measureBackends({ order, runtime, config, base: document.baseURI, threads: threads(config) });
  const { chosen, measured } = choose(results, engine.backend);
  if (chosen === null) {
    state.choice = { state: "failed", reason: `${engine.backend}: ${measured[0].error}` };
  } else {
    const record = { ...fingerprint(runtime, config), chosen, measured, measuredAt: (/* @__PURE__ */ new Date()).toISOString() };
    saveChoice(store, storageKey(document.baseURI), record);
    state.choice = { state: "measured", record };
  }
  refreshModelCard();
}
async function loadReport() {
  try {
    const response = await fetch("report.json", { cache: "no-cache" });
    if (!response.ok) throw new Error(`report.json: HTTP ${response.status}`);
    state.report = await response.json();
  } catch (err) {
    state.reportError = err.message;
    console.warn("browsernet: no model card data:", err.message);
  }
}
function refreshModelCard() {
  const { engine, inferences } = state;
  view.setModelCard(modelCardRows(state.report, {
    backend: engine ? engine.backend : null,
    thread: engine ? engine.thread : null,
    warmupMs: engine ? engine.firstMs : null,
    medianMs: inferences.medianMs,
    samples: inferences.samples,
    runs: inferences.runs,
    choice: state.choice
  }, state.reportError));
}
async function start() {
  if (optionsError !== null) throw optionsError;
  view.setStatus(forced ? `Starting the ${forced} backend…` : "Starting TF.js…");
  const configReady = loadConfig(document.baseURI).then((loaded) => {
    state.config = loaded;
    return loaded;
  });
  const engineReady = startEngine({
    config: configReady,
    forced,
    preferred: preferredBackend,
    useWorker: requestedWorker(location.search),
    threads,
    base: document.baseURI,
    runtime,
    onProgress: (fraction, loaded) => view.setProgress(fraction, loaded, state.config.modelBytes),
    onBuild: () => {
      view.setProgress(1);
      view.setStatus("Preparing the model…");
    },
    onFallback: (reason) => view.setStatus(`Starting on the main thread (${reason})…`),
    onFatal: (err) => fail(err, "The classifier stopped working.")
  });
  engineReady.catch(() => {
  });
  await Promise.all([configReady, loadReport()]);
  refreshModelCard();
  state.engine = await engineReady;
}
function fail(err, status) {
  console.error("browsernet:", err);
  view.setState("error");
  view.showFatal(err && err.message ? err.message : String(err), status);
}
var ready = start();
ready.catch(() => {
});
async function classify(source, topK2) {
  state.asked = true;
  await ready;
  const { config, engine } = state;
  const reply = await engine.classify(source, resolveTopK(topK2, config.topK, config.labels.length));
  state.inferences.record(reply);
  firstInferenceDone();
  refreshModelCard();
  return reply;
}
var api = {
  ready,
  get backend() {
    return state.engine ? state.engine.backend : null;
  },
  get labels() {
    return state.config ? state.config.labels : [];
  },
  get inputSize() {
    return state.config ? state.config.inputSize : null;
  },
  /** "worker" or "main": where inference runs. */
  get thread() {
    return state.engine ? state.engine.thread : null;
  },
  /** Resolves to `[{label, index, probability}]`, most probable first. */
  async classify(source, topK2) {
    return (await classify(source, topK2)).results;
  },
  /**
   * The measured backend choice: `{state, backend?, reason?, candidates?, record?}` (null
   * before the model is ready); `state` is 'forced', 'off', 'waiting', 'measuring',
   * 'measured', 'remembered' or 'failed', and `record` `{chosen, measured:
   * [{backend, medianMs, maxDiff, error}], measuredAt, runtime, model}`.
   */
  get backendChoice() {
    return state.choice === null ? null : JSON.parse(JSON.stringify(state.choice));
  },
  /** TF.js's live tensor count and bytes where inference runs (after queued work). */
  async memory() {
    await ready;
    return state.engine.memory();
  },
  /**
   * Measured on this device: the first inference (warm-up or a real image), the median
   * inference time of the last inferences after the first, the start-up milestones (ms since
   * navigation), the last inferences' windows on the shared clock (`first`: the model's first).
   */
  stats() {
    const { engine, inferences } = state;
    return {
      warmupMs: engine ? engine.firstMs : null,
      medianMs: inferences.medianMs,
      threads: engine ? engine.threads ?? null : null,
      startup: engine && engine.startup ? { ...engine.startup } : null,
      inferences: inferences.inferences()
    };
  }
};
window.browsernet = Object.freeze(api);
ready.then(
  () => {
    const { engine } = state;
    view.setState("ready");
    view.setBackend(engine.backend, engine.thread, engine.fallback);
    const skipped = engine.skipped?.length ? ` (${engine.skipped.join("; ")})` : "";
    view.setStatus(`Ready. Running on the ${engine.backend} backend ${engine.thread === "worker" ? "in a Web Worker" : "on the main thread"}${skipped}.`);
    view.enableInput();
    refreshModelCard();
    setTimeout(() => {
      if (state.asked) return;
      engine.warmUp().then(() => {
        firstInferenceDone();
        refreshModelCard();
      }, (err) => fail(err, "The classifier could not run the model."));
    }, 0);
    chooseBackend(engine).catch((err) => {
      console.warn("browsernet: the backend measurement failed:", err);
      state.choice = { state: "failed", reason: err && err.message ? err.message : String(err) };
      refreshModelCard();
    });
  },
  (err) => fail(err, "The classifier could not start.")
);
createWebcam(view, (video) => classify(video));
createFileInput(view, (file) => classify(file));
