// Loading config + model and running inference. No DOM: this runs in the worker
// (or, as a fallback, on the main thread).

import { fileLabel, preprocessSpec, resizeToInput, topK, validateConfig } from './pure.js';
import { sharedNow } from './protocol.js';
import { pixelsOf } from './image-source.js';
import { useFastKernels } from './tfjs-fixes.js';

/** Fetches and validates config.json (relative to the page). */
export async function loadConfig(url = 'config.json') {
  let response;
  try {
    response = await fetch(url, { cache: 'no-cache' });
  } catch (err) {
    throw new Error(`${url}: could not be fetched (${err.message})`, { cause: err });
  }
  if (!response.ok) {
    throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`.trim());
  }
  let raw;
  try {
    raw = await response.json();
  } catch (err) {
    throw new Error(`${url}: not valid JSON (${err.message})`, { cause: err });
  }
  return validateConfig(raw);
}

function describeShape(shape) {
  return `[${shape.map((d) => (d === null ? 'null' : d)).join(', ')}]`;
}

// The config and the model come from one build, but a hand-edited config or a
// swapped model would otherwise give silently wrong labels.
function checkModelMatchesConfig(model, config) {
  const where = config.modelUrl;
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error(`${where}: expected one input and one output, got ${model.inputs.length} and ${model.outputs.length}`);
  }
  const inShape = model.inputs[0].shape;
  const [h, w] = config.inputSize;
  if (
    inShape.length !== 4 ||
    (inShape[1] !== null && inShape[1] !== h) ||
    (inShape[2] !== null && inShape[2] !== w) ||
    (inShape[3] !== null && inShape[3] !== 3)
  ) {
    throw new Error(`${where}: input shape ${describeShape(inShape)} does not fit config inputSize [${h}, ${w}] with 3 channels`);
  }
  const outShape = model.outputs[0].shape;
  const classes = outShape[outShape.length - 1];
  if (classes !== config.labels.length) {
    throw new Error(`${where}: model outputs ${classes} classes but config.json lists ${config.labels.length} labels`);
  }
}

// A response, or an error naming the file: a failed request's body (an HTML 404
// page) must never be read as weights.
async function fetchOrFail(url, init) {
  const where = new URL(url).pathname;
  let response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    throw new Error(`${where}: could not be fetched (${err.message})`, { cause: err });
  }
  if (!response.ok) {
    throw new Error(`${where}: HTTP ${response.status} ${response.statusText}`.trim());
  }
  return response;
}

function shardPaths(modelJson) {
  return modelJson.weightsManifest.flatMap((group) => group.paths);
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}

// Each shard's sha256, as the build recorded it from the written model.json, keyed
// by the absolute URL the shard is fetched from.
function expectedDigests(config, modelUrl) {
  const expected = new Map();
  for (const [path, digest] of Object.entries(config.shardSha256)) {
    expected.set(new URL(path, modelUrl).href, digest);
  }
  return expected;
}

async function verifyShard(url, bytes, expected) {
  const where = fileLabel(url);
  const want = expected.get(new URL(url).href);
  if (want === undefined) {
    throw new Error(`${where}: this weight shard is not listed in config.json's shardSha256, so it cannot be verified`);
  }
  if (!globalThis.crypto || !crypto.subtle) {
    throw new Error(`${where}: cannot verify the weights: crypto.subtle needs a secure (https or localhost) connection`);
  }
  const got = hex(await crypto.subtle.digest('SHA-256', bytes));
  if (got !== want) {
    throw new Error(`${where}: corrupt or truncated weight shard (${bytes.byteLength} bytes, sha256 ${got.slice(0, 12)}…, expected ${want.slice(0, 12)}…); redeploy the model/ folder`);
  }
}

// model.json, parsed, with the fields a layers model needs; else an error naming it.
async function fetchModelJson(url) {
  const where = fileLabel(url);
  const response = await fetchOrFail(url);
  let json;
  try {
    json = await response.json();
  } catch (err) {
    throw new Error(`${where}: not valid JSON (${err.message})`, { cause: err });
  }
  const groups = json?.weightsManifest;
  if (json?.modelTopology === null || typeof json?.modelTopology !== 'object') {
    throw new Error(`${where}: not a TF.js layers model (no modelTopology)`);
  }
  if (!Array.isArray(groups) || !groups.every((g) => Array.isArray(g?.paths) && Array.isArray(g?.weights))) {
    throw new Error(`${where}: no valid weightsManifest`);
  }
  return json;
}

// A shard's bytes, read as they arrive (`onBytes(n)` after each chunk) into one
// buffer; its size is known up front unless the host compressed it on the way.
async function readShard(response, onBytes) {
  const encoded = (response.headers.get('Content-Encoding') || 'identity') !== 'identity';
  const declared = encoded ? 0 : Number(response.headers.get('Content-Length')) || 0;
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onBytes(bytes.byteLength);
    return bytes;
  }
  let bytes = new Uint8Array(declared);
  let at = 0;
  const reader = response.body.getReader();
  for (;;) {
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

// A shard's name carries its content hash (group1-shard1of4.0123456789ab.bin), so a
// cached copy under that name is the right file whichever build cached it.
const CONTENT_HASHED = /\.[0-9a-f]{12}\.bin$/;

// A weight shard this site's service worker has cached, read from CacheStorage
// directly; else null. Through the service worker's fetch handler the same bytes
// arrive 3-4x slower (every chunk crosses its thread): on a return visit that was
// most of the time before the model could be built. The copy is verified like a
// download.
async function cachedShard(url) {
  if (!CONTENT_HASHED.test(new URL(url).pathname)) return null;
  try {
    const hit = globalThis.caches ? await caches.match(url) : undefined;
    return hit && hit.ok ? hit : null;
  } catch {
    return null; // no CacheStorage here (an opaque origin, storage turned off)
  }
}

// Removes a shard's copy from every cache of this origin that holds one.
async function dropCached(url) {
  try {
    await Promise.all((await caches.keys()).map(async (name) => (await caches.open(name)).delete(url)));
  } catch {
    // nothing to drop: the fetch that follows goes through either way
  }
}

/**
 * Starts downloading the model (model.json, then every shard at once, each shard
 * verified against its sha256; a return visit reads the shards from the service
 * worker's cache), before TF.js is even loaded, so the download and
 * the runtime's start-up overlap. Returns `{url, files}`: `files` resolves to
 * `{json, shards: [ArrayBuffer]}` (shards in manifest order) or rejects naming the
 * file at fault. `base` is the page's URL (config URLs are relative to it);
 * `onProgress(fraction, bytes)` follows the download byte by byte (TF.js's own
 * onProgress only moves when a whole shard is done); `mark('download')` is called
 * once every file is in and verified.
 */
export function prefetchModel(config, { base, onProgress = () => {}, mark = () => {} }) {
  const modelUrl = new URL(config.modelUrl, base).href;
  const digests = expectedDigests(config, modelUrl);
  const files = fetchModelJson(modelUrl).then(async (json) => {
    const urls = shardPaths(json).map((path) => new URL(path, modelUrl).href);
    const progress = urls.map(() => ({ loaded: 0, total: 0, finished: false }));
    let bytes = 0;
    // Content-Length is the compressed size under Content-Encoding: the clamp and
    // `finished` keep that from overshooting.
    const report = () => {
      const done = progress.reduce((n, { loaded, total, finished }) =>
        n + (finished ? 1 : total > 0 ? Math.min(loaded / total, 1) : 0), 0);
      onProgress(done / Math.max(urls.length, 1), bytes);
    };
    const shards = await Promise.all(urls.map(async (url, i) => {
      const state = progress[i];
      const read = async (response) => {
        state.total = Number(response.headers.get('Content-Length')) || 0;
        const shard = await readShard(response, (n) => {
          state.loaded += n;
          bytes += n;
          report();
        });
        await verifyShard(url, shard, digests);
        return shard;
      };
      let shard = null;
      const cached = await cachedShard(url);
      if (cached) {
        // A cached copy that fails (a damaged disk cache) is dropped and fetched
        // again, so that one bad write does not break every later visit.
        shard = await read(cached).catch(async (err) => {
          console.warn(`browsernet: ${err.message}; fetching it again`);
          bytes -= state.loaded;
          state.loaded = 0;
          await dropCached(url);
          return null;
        });
      }
      shard ??= await read(await fetchOrFail(url));
      state.finished = true;
      report();
      return shard.buffer;
    }));
    mark('download');
    return { json, shards };
  });
  files.catch(() => {}); // reported by loadClassifier(), not as an unhandled rejection
  return { url: modelUrl, files };
}

/**
 * Builds the layers model from `download` (what prefetchModel() returned) and checks
 * it against the config. `onBuild()` is called once the files are in, `mark(stage)`
 * at each start-up milestone. Resolves to `{firstMs, classify(source, name, k),
 * warmUp(), memory()}`.
 */
export async function loadClassifier(tf, config, download, { onBuild = () => {}, mark = () => {} } = {}) {
  let model;
  try {
    useFastKernels(tf);
    const { json, shards } = await download.files;
    onBuild();
    // The bytes are in memory already: hand them to TF.js as they are (no Response
    // wrapping, cloning or concatenation of the 14 MB).
    const artifacts = {
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((group) => group.weights),
      weightData: shards,
    };
    model = await tf.loadLayersModel({ load: async () => artifacts });
  } catch (err) {
    throw new Error(`Could not load the model (${config.modelUrl}): ${err.message}`, { cause: err });
  }
  try {
    checkModelMatchesConfig(model, config);
  } catch (err) {
    model.dispose();
    throw err;
  }
  mark('model');

  const [h, w] = config.inputSize;
  const { divisor, offset } = preprocessSpec(config.preprocess);

  const outputName = model.outputs[0].name;
  // pixels: Float32Array [h, w, 3] in 0..255, already resized. Returns a tensor.
  const predict = (pixels) => tf.tidy(() => {
    let x = tf.tensor4d(pixels, [1, h, w, 3], 'float32');
    if (divisor !== 1) x = tf.div(x, divisor);
    if (offset !== 0) x = tf.add(x, offset);
    // execute() runs the layers in inference mode like predict(), without predict()'s
    // batching (a Slice kernel and bookkeeping per call) that one image does not need.
    return model.execute(x, outputName);
  });

  // One inference at a time: interleaved calls would fight over the backend and
  // make numTensors bookkeeping meaningless.
  let queue = Promise.resolve();
  const serialize = (task) => {
    const run = queue.then(task);
    queue = run.catch(() => {});
    return run;
  };

  // The first inference on a backend is the slow one (XNNPACK packs the weights,
  // WebGL compiles its shaders). Whichever runs first, warm-up or a real image,
  // pays for it; its time is `firstMs`.
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
    if (firstMs === null) firstMs = ms;
    return { probabilities, ms };
  };

  const classifyNow = async (source, name, k) => {
    const { data, width, height } = await pixelsOf(source, name);
    const start = sharedNow();
    const { probabilities, ms } = await run(resizeToInput(data, width, height, [h, w], config.resize));
    return { results: topK(probabilities, config.labels, k), ms, start, end: sharedNow() };
  };

  return Object.freeze({
    /** The first inference's milliseconds, or null before it. */
    get firstMs() {
      return firstMs;
    },
    /** `source`: Blob, ImageBitmap (closed here) or ImageData. Resolves to `{results, ms, start, end}`. */
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
    /** TF.js's tensor bookkeeping, after the queue drains. */
    memory() {
      return serialize(() => {
        const { numTensors, numBytes } = tf.memory();
        return { numTensors, numBytes };
      });
    },
  });
}
