// templates/js/protocol.js
var STAGES = Object.freeze(["runtime", "backend", "model", "classify", "worker"]);
function errorMessage(id, stage, err) {
  const message = err && err.message ? err.message : String(err);
  return { type: "error", id: id ?? null, stage: STAGES.includes(stage) ? stage : "worker", message };
}
function sharedNow(perf = globalThis.performance) {
  return perf.timeOrigin + perf.now();
}
function startupTimeline(first) {
  const marks = [[first, sharedNow()]];
  return { marks, mark: (stage) => marks.push([stage, sharedNow()]) };
}

// templates/js/format.js
function fileLabel(url) {
  return new URL(url).pathname.split("/").slice(-2).join("/");
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
async function fetchFile(url, what, { init: init2, label = fileLabel(url) } = {}) {
  let response;
  try {
    response = await fetch(url, init2);
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

// templates/js/url-options.js
var BACKENDS = Object.freeze(["webgpu", "webgl", "wasm", "cpu"]);
var AUTO_ORDER = Object.freeze(["webgl", "wasm", "cpu"]);

// templates/js/runtime.js
var BACKEND_INIT_TIMEOUT_MS = 6e4;
var ADAPTER_TIMEOUT_MS = 1e4;
function getTf(runtime = []) {
  const tf = globalThis.tf;
  if (!tf || typeof tf.loadLayersModel !== "function") {
    if (runtime.length === 0) throw new Error('index.html lists no TF.js runtime script (<script id="runtime">)');
    throw runtimeMissing(runtime[0].src);
  }
  return tf;
}
function runtimeMissing(src, detail = "") {
  return new Error(`The TF.js runtime (${fileLabel(src)}) is missing or does not match its integrity hash${detail}; redeploy the vendor/ folder with the site.`);
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
function everyVisit(runtime) {
  return runtime.filter((script) => !script.backend);
}
async function loadRuntimeHere(runtime, doc = document) {
  for (const { src, integrity } of everyVisit(runtime)) {
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
async function importRuntime(runtime) {
  for (const script of everyVisit(runtime)) await importChecked(script);
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
async function prepareWebgpu(runtime) {
  if (!globalThis.navigator || !navigator.gpu) return "this browser has no WebGPU (navigator.gpu)";
  let adapter;
  try {
    adapter = await withTimeout(navigator.gpu.requestAdapter(), ADAPTER_TIMEOUT_MS, "asking for a WebGPU adapter");
  } catch (err) {
    return err && err.message ? err.message : String(err);
  }
  if (!adapter) return "no WebGPU adapter on this device";
  const script = runtime.find((entry) => entry.backend === "webgpu");
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
  const threads = Math.min(count, real);
  const proto = Object.getPrototypeOf(navigator);
  Object.defineProperty(proto, "hardwareConcurrency", { configurable: true, get: () => real * 2 });
  tf.wasm.setThreadsCount(threads);
  globalThis.BROWSERNET_WASM_POOL = threads - 1;
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
async function tryBackend(tf, name, { base, wasmFiles, threads, threadCount, runtime }) {
  const urls = wasmUrls(wasmFiles, base);
  try {
    if (name === "webgpu") {
      const reason = await prepareWebgpu(runtime);
      if (reason !== null) return reason;
    }
    if (name === "wasm") {
      if (!tf.wasm || typeof tf.wasm.setWasmPaths !== "function") {
        return "the runtime script has no WASM backend (tf.wasm)";
      }
      tf.wasm.setWasmPaths(urls);
      if (!threads || threadCount <= 1) tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
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
async function startBackend(tf, forced, {
  base,
  wasmFiles,
  threads = false,
  threadCount = 1,
  runtime = [],
  preferred = null,
  forcedBy = `?backend=${forced}`,
  skipped = []
}) {
  const options = { base, wasmFiles, threads, threadCount, runtime };
  if (forced) {
    const reason = await tryBackend(tf, forced, options);
    if (reason !== null) {
      throw new Error(`The "${forced}" backend requested by ${forcedBy} could not be started: ${reason}.`);
    }
    if (forced === "webgl" && !webglIsExact(tf)) {
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
    const start = sharedNow();
    const { probabilities, ms, first } = await run(resizeToInput(data, width, height, [h, w], config.resize));
    return { results: topK(probabilities, config.labels, k), ms, first, start, end: sharedNow() };
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
  const progress2 = urls.map(() => ({ loaded: 0, total: 0, finished: false }));
  let bytes = 0;
  let reportedAt = -Infinity;
  const report = () => {
    const now = performance.now();
    const all = progress2.every(({ finished }) => finished);
    if (!all && now - reportedAt < PROGRESS_INTERVAL_MS) return;
    reportedAt = now;
    const done = progress2.reduce((n, { loaded, total, finished }) => n + (finished ? 1 : total > 0 ? Math.min(loaded / total, 1) : 0), 0);
    onProgress(done / Math.max(urls.length, 1), bytes);
  };
  const download = async (url, state) => {
    const read = async (response) => {
      checkNotHtml(response, url, WEIGHT_FILE);
      state.total = Number(response.headers.get("Content-Length")) || 0;
      const shard2 = await readShard(response, (n) => {
        state.loaded += n;
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
        bytes -= state.loaded;
        state.loaded = 0;
        await dropCached(url);
        return null;
      });
    }
    shard ??= await read(await fetchFile(url, WEIGHT_FILE));
    state.finished = true;
    report();
    return shard.buffer;
  };
  const reads = new Map(urls.map((url, i) => [url, download(url, progress2[i])]));
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

// templates/js/worker.js
var classifier = null;
var starting = null;
var preloaded = null;
var initialized = false;
var heldProgress = null;
function post(message, transfer = []) {
  self.postMessage(message, transfer);
}
function progress(fraction, loaded) {
  if (initialized) post({ type: "progress", fraction, loaded });
  else heldProgress = { type: "progress", fraction, loaded };
}
function importMarked(runtime, mark) {
  const imported = importRuntime(runtime).then(() => mark("runtime"));
  imported.catch(() => {
  });
  return imported;
}
function preload({ runtime: text, base }) {
  let runtime;
  try {
    runtime = parseRuntimeList(text, base);
  } catch {
    return;
  }
  const timeline = startupTimeline("worker");
  const model = loadConfig(base).then(
    (config) => {
      const download = prefetchModel(config, { base, onProgress: progress, mark: timeline.mark });
      download.files.catch(() => {
      });
      return { config, download };
    },
    () => null
    // 'init' brings the page's config.json and downloads with it
  );
  preloaded = { runtime, base, timeline, imported: importMarked(runtime, timeline.mark), model };
}
var sameJson = (a, b) => JSON.stringify(a) === JSON.stringify(b);
async function init({ runtime, backend: forced, preferred = null, probe = false, threads: threadCount, config: rawConfig, base }) {
  let stage = "model";
  const early = preloaded !== null && sameJson(preloaded.runtime, runtime) && preloaded.base === base ? preloaded : null;
  preloaded = null;
  const { marks: startup, mark } = early ? early.timeline : startupTimeline("worker");
  initialized = true;
  if (heldProgress !== null) post(heldProgress);
  try {
    const config = validateConfig(rawConfig);
    const preloadedModel = early ? await early.model : null;
    const model = preloadedModel !== null && sameJson(preloadedModel.config, config) ? preloadedModel.download : prefetchModel(config, { base, onProgress: progress, mark });
    stage = "runtime";
    await (early ? early.imported : importMarked(runtime, mark));
    const tf = getTf(runtime);
    stage = "backend";
    const skipped = [];
    const backend = await startBackend(tf, forced, {
      base,
      wasmFiles: config.wasmFiles,
      threads: true,
      threadCount,
      runtime,
      preferred,
      skipped,
      ...probe ? { forcedBy: "the backend measurement" } : {}
    });
    mark("backend");
    stage = "model";
    classifier = await loadClassifier(tf, config, model, { onBuild: () => post({ type: "building" }), mark });
    post({ type: "ready", backend, skipped, threads: wasmThreads(tf), startup });
  } catch (err) {
    post(errorMessage(null, stage, err));
  }
}
async function handle(message) {
  const { type, id } = message;
  if (type === "preload") {
    if (starting === null && preloaded === null) preload(message);
    return;
  }
  if (type === "init") {
    if (starting === null) starting = init(message);
    return;
  }
  if (classifier === null) {
    post(errorMessage(id, "worker", new Error(`"${type}" before the model was ready`)));
    return;
  }
  try {
    if (type === "classify") {
      const result = await classifier.classify(message.source, message.name, message.k);
      post({ type: "result", id, ...result, firstMs: classifier.firstMs });
    } else if (type === "warmup") {
      await classifier.warmUp();
      post({ type: "warmup", id, firstMs: classifier.firstMs });
    } else if (type === "probe") {
      const { firstMs, times, output } = await classifier.probe(message.pixels, message.runs);
      post({ type: "probe", id, firstMs, times, output });
    } else if (type === "memory") {
      post({ type: "memory", id, ...await classifier.memory() });
    } else {
      throw new Error(`unknown request "${type}"`);
    }
  } catch (err) {
    post(errorMessage(id, type === "classify" ? "classify" : "worker", err));
  }
}
self.addEventListener("message", (event) => {
  handle(event.data);
});
self.addEventListener("unhandledrejection", (event) => {
  post(errorMessage(null, "worker", event.reason));
});
