// Pure helpers: no DOM, no TF.js. Everything here can be unit-tested in Node.

/**
 * How each `preprocess` mode maps a float32 pixel value x in 0..255.
 * The model applies `x / divisor + offset`, in that order, because that is
 * exactly what Keras does (mobilenet: `x /= 127.5; x -= 1.`); multiplying by a
 * reciprocal instead would differ in the last float32 bit.
 */
export const PREPROCESS = Object.freeze({
  mobilenet: Object.freeze({ divisor: 127.5, offset: -1 }),
  unit: Object.freeze({ divisor: 255, offset: 0 }),
  raw: Object.freeze({ divisor: 1, offset: 0 }),
});

/** Returns `{divisor, offset}` for a preprocess mode, or throws naming the valid ones. */
export function preprocessSpec(mode) {
  if (!Object.hasOwn(PREPROCESS, mode)) {
    throw new Error(
      `unknown preprocess mode ${JSON.stringify(mode)}; expected one of ${Object.keys(PREPROCESS).join(', ')}`,
    );
  }
  return PREPROCESS[mode];
}

/** Applies a preprocess mode to one value (reference for tests; the model does this on tensors). */
export function preprocessValue(x, mode) {
  const { divisor, offset } = preprocessSpec(mode);
  return Math.fround(Math.fround(x / divisor) + offset);
}

/**
 * Resolves the requested top-K against the config default and the label count.
 * Returns an integer in 1..numLabels; throws RangeError for anything that is not
 * a positive integer.
 */
export function resolveTopK(requested, fallback, numLabels) {
  const k = requested === undefined || requested === null ? fallback : requested;
  if (!Number.isInteger(k) || k < 1) {
    throw new RangeError(`topK must be a positive integer, got ${String(k)}`);
  }
  return Math.min(k, numLabels);
}

/**
 * The k most probable classes as `[{label, index, probability}]`, highest first.
 * Ties keep the lower class index first so results are deterministic.
 */
export function topK(probabilities, labels, k) {
  const count = Math.min(k, probabilities.length, labels.length);
  const order = Array.from({ length: probabilities.length }, (_, i) => i);
  order.sort((a, b) => probabilities[b] - probabilities[a] || a - b);
  return order.slice(0, count).map((index) => ({
    label: labels[index],
    index,
    probability: probabilities[index],
  }));
}

export const BACKENDS = Object.freeze(['webgl', 'wasm', 'cpu']);

/**
 * Reads `?backend=` from a query string. Returns null when absent (meaning:
 * try BACKENDS in order) and throws for a value we do not know.
 */
export function requestedBackend(search) {
  const value = new URLSearchParams(search).get('backend');
  if (value === null || value === '') return null;
  if (!BACKENDS.includes(value)) {
    throw new Error(`?backend=${value} is not a known backend; use one of ${BACKENDS.join(', ')}`);
  }
  return value;
}

/** `?worker=0` runs inference on the main thread (for comparison and for hosts that cannot run workers). */
export function requestedWorker(search) {
  const value = new URLSearchParams(search).get('worker');
  return !(value === '0' || value === 'off' || value === 'false');
}

/**
 * WASM threads wanted: `?threads=N` (1-64) overrides the build's `wasmThreads`
 * ("auto": every CPU the browser reports, or a count).
 */
export function wasmThreadCount(search, configured, cpus) {
  const asked = Number.parseInt(new URLSearchParams(search).get('threads') ?? '', 10);
  if (Number.isInteger(asked) && asked >= 1 && asked <= 64) return asked;
  if (Number.isInteger(configured) && configured >= 1) return configured;
  return Math.max(1, cpus || 1);
}

export const RESIZE_RULES = Object.freeze(['squash', 'crop']);

/**
 * The region of a width×height image that is resized to [targetH, targetW]:
 * everything for "squash"; for "crop", the largest centred box with the target's
 * aspect ratio, computed exactly as Keras's `crop_to_aspect_ratio=True`
 * (float32 division, truncation to int, at least 1 pixel).
 */
export function cropBox(width, height, [targetH, targetW], rule = 'crop') {
  if (rule === 'squash') return { x: 0, y: 0, width, height };
  if (rule !== 'crop') throw new Error(`unknown resize rule ${JSON.stringify(rule)}; expected ${RESIZE_RULES.join(' or ')}`);
  const f = Math.fround;
  const cropH = Math.max(Math.min(height, Math.trunc(f(f(width * targetH) / targetW))), 1);
  const cropW = Math.max(Math.min(width, Math.trunc(f(f(height * targetW) / targetH))), 1);
  return {
    x: Math.trunc(f(width - cropW) / 2),
    y: Math.trunc(f(height - cropH) / 2),
    width: cropW,
    height: cropH,
  };
}

// For one output coordinate: the two source indices and the weight of the second,
// as TF's resize_bilinear computes them with half_pixel_centers (Keras/TF2 default).
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

/**
 * RGBA bytes (straight alpha) of a width×height image → Float32Array of
 * [targetH, targetW, 3] RGB values in 0..255: bilinear with half-pixel centres
 * (tf.image.resize, what Keras trains with), after the `rule` crop. Transparent
 * pixels are composited on white first. Reads only the pixels it needs, so a
 * 24-megapixel photo costs no more than a thumbnail.
 */
export function resizeToInput(rgba, width, height, [targetH, targetW], rule = 'squash') {
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

/** The median of a list of numbers (null for an empty list). */
export function median(values) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Milliseconds to wait before grabbing the next camera frame under an fps cap. */
export function frameDelay(lastStart, now, fpsCap) {
  if (lastStart === null) return 0;
  return Math.max(0, lastStart + 1000 / fpsCap - now);
}

/** Frames per second over the completion times (ms) of the last frames; null until two exist. */
export function measuredFps(times) {
  if (times.length < 2) return null;
  return ((times.length - 1) * 1000) / (times[times.length - 1] - times[0]);
}

/** What to tell the visitor when getUserMedia fails, by the DOMException name. */
export function cameraErrorMessage(name, message = '') {
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Camera access was denied. Allow the camera for this site in your browser to classify live video.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera was found on this device.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The camera is in use by another application or could not be started.';
    case 'NoMediaDevices':
      return 'This browser offers no camera access here (it needs a secure, https or localhost, connection).';
    default:
      return `The camera could not be started (${name}${message ? `: ${message}` : ''}).`;
  }
}

/** A file as error messages name it: its folder and name ("model/model.json"), from an absolute URL. */
export function fileLabel(url) {
  return new URL(url).pathname.split('/').slice(-2).join('/');
}

/** "12.3 MB", "950 KB", "800 B" (powers of 1000, as the build's summary). */
export function formatBytes(n) {
  if (!Number.isFinite(n)) return 'unknown';
  if (n < 1000) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(0)} KB`;
  return `${(n / 1e6).toFixed(1)} MB`;
}

/** report.json's quantization section in a phrase: "none", "float16", "auto: 105 uint16, 1 float32 (99.0% top-1 agreement)". */
export function quantizationText(q) {
  if (q === null || typeof q !== 'object') return String(q);
  const measured = q.auto && Number.isFinite(q.auto.agreement)
    ? ` (${(q.auto.agreement * 100).toFixed(1)}% top-1 agreement with float32)` : '';
  return `${q.map}${measured}`;
}

/** Download progress as people read it: "3.2 MB of 9.1 MB" (never more than the total). */
export function downloadText(loaded, total) {
  return `${formatBytes(Math.min(loaded, total))} of ${formatBytes(total)}`;
}

function formatMs(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return 'not measured yet';
  return ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`;
}

/**
 * The model card as [term, description] pairs, from report.json (or null when it
 * could not be read, with `reportError` saying why) and what this page measured.
 */
export function modelCardRows(report, live, reportError = null) {
  const rows = [];
  if (report) {
    const family = { mobilenet_v1: 'MobileNet V1', mobilenet_v2: 'MobileNet V2', custom: 'custom Keras model' };
    const [h, w] = report.input_size || [];
    rows.push(['Family', family[report.family] || String(report.family)]);
    rows.push(['Alpha (width)', report.alpha === null || report.alpha === undefined ? 'not recorded (custom model)' : String(report.alpha)]);
    rows.push(['Input size', `${h}×${w} pixels, resized by ${report.resize === 'crop' ? 'centre crop' : 'squash'}`]);
    rows.push(['Parameters', Number(report.parameters).toLocaleString('en')]);
    rows.push(['Multiply-adds', `${(Number(report.multiply_adds) / 1e6).toLocaleString('en', { maximumFractionDigits: 1 })} M`]);
    rows.push(['Download size', `${formatBytes(report.model_bytes)} model, ${formatBytes(report.total_bytes)} site`]);
    rows.push(['Quantization', quantizationText(report.quantization)]);
  } else {
    rows.push(['Build report', `not available (${reportError || 'report.json could not be read'})`]);
  }
  rows.push(['Backend', live.backend ? `${live.backend}, ${live.thread === 'worker' ? 'in a Web Worker' : 'on the main thread'}` : 'not started']);
  rows.push(['First inference', formatMs(live.warmupMs)]);
  rows.push(['Median latency', live.medianMs === null || live.medianMs === undefined
    ? 'not measured yet'
    : `${formatMs(live.medianMs)} per image on this device (${live.samples} run${live.samples === 1 ? '' : 's'})`]);
  return rows;
}

function isPositiveInt(n) {
  return Number.isInteger(n) && n > 0;
}

/**
 * Checks config.json's shape and returns a normalised copy. Collects every
 * problem and reports them together, so one reload shows all of them.
 */
export function validateConfig(raw) {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new Error('config.json: expected a JSON object');
  }
  const problems = [];
  const { labels, inputSize, preprocess, topK: k, modelUrl = 'model/model.json', resize = 'squash', shardSha256 } = raw;
  if (!Array.isArray(labels) || labels.length === 0 || !labels.every((l) => typeof l === 'string')) {
    problems.push('"labels" must be a non-empty list of strings');
  }
  if (!Array.isArray(inputSize) || inputSize.length !== 2 || !inputSize.every(isPositiveInt)) {
    problems.push('"inputSize" must be [height, width] in whole pixels');
  }
  if (!Object.hasOwn(PREPROCESS, preprocess)) {
    problems.push(`"preprocess" must be one of ${Object.keys(PREPROCESS).join(', ')}`);
  }
  if (!isPositiveInt(k)) {
    problems.push('"topK" must be a positive integer');
  }
  if (!RESIZE_RULES.includes(resize)) {
    problems.push(`"resize" must be one of ${RESIZE_RULES.join(', ')}`);
  }
  // The page refuses weights it cannot verify: a site without digests is not one this build wrote.
  if (shardSha256 === null || typeof shardSha256 !== 'object' || Array.isArray(shardSha256) ||
      !Object.values(shardSha256).every((d) => typeof d === 'string' && /^[0-9a-f]{64}$/.test(d))) {
    problems.push('"shardSha256" must map each weight shard to its sha256 (64 hex digits)');
  }
  // Only same-site, relative model URLs: the site must make no third-party requests.
  if (typeof modelUrl !== 'string' || /^([a-z][a-z0-9+.-]*:|\/)/i.test(modelUrl)) {
    problems.push('"modelUrl" must be a relative URL such as "model/model.json"');
  }
  if (problems.length > 0) {
    throw new Error(`config.json: ${problems.join('; ')}`);
  }
  return Object.freeze({
    title: typeof raw.title === 'string' ? raw.title : '',
    version: typeof raw.version === 'string' ? raw.version : '',
    labels: Object.freeze([...labels]),
    inputSize: Object.freeze([inputSize[0], inputSize[1]]),
    preprocess,
    topK: k,
    resize,
    modelUrl,
    shardSha256: Object.freeze({ ...shardSha256 }),
    // Bytes of all weight shards (for "3.2 MB of 9.1 MB"); absent in older builds.
    modelBytes: Number.isSafeInteger(raw.modelBytes) && raw.modelBytes >= 0 ? raw.modelBytes : null,
    wasmThreads: raw.wasmThreads === 'auto' || (Number.isInteger(raw.wasmThreads) && raw.wasmThreads >= 1)
      ? raw.wasmThreads : 1,
  });
}

/** Formats a probability for display: one decimal, never a misleading "0.0%". */
export function formatPercent(p) {
  const pct = p * 100;
  if (pct > 0 && pct < 0.1) return '<0.1%';
  return `${pct.toFixed(1)}%`;
}
