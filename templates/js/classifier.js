// Loading config + model and running inference. No DOM: this runs in the worker
// (or, as a fallback, on the main thread).

import { preprocessSpec, resizeToInput, topK, validateConfig } from './pure.js';
import { sharedNow } from './protocol.js';
import { pixelsOf } from './image-source.js';
import { useFastRelu6 } from './tfjs-fixes.js';

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

// TF.js reads whatever body a failed shard request returns (an HTML 404 page) as
// weights; fail on the HTTP status instead, naming the file.
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

function countShards(modelJson) {
  const manifest = Array.isArray(modelJson?.weightsManifest) ? modelJson.weightsManifest : [];
  return manifest.reduce((n, group) => n + (Array.isArray(group.paths) ? group.paths.length : 0), 0);
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}

// Each shard's sha256, as the build recorded it from the written model.json, keyed
// by the absolute URL TF.js will fetch.
function expectedDigests(config, modelUrl) {
  const expected = new Map();
  for (const [path, digest] of Object.entries(config.shardSha256)) {
    expected.set(new URL(path, modelUrl).href, digest);
  }
  return expected;
}

async function verifyShard(url, bytes, expected) {
  const where = new URL(url).pathname.split('/').slice(-2).join('/');
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

/**
 * A fetchFunc for tf.loadLayersModel that reports byte-level download progress and
 * verifies each shard's sha256 before TF.js sees it. We do not use TF.js's own
 * onProgress: it only moves when a whole shard is done, and when a shard request
 * fails it leaves an unhandled promise rejection behind.
 */
function verifyingFetch(onProgress, expected) {
  const shards = new Map();
  let expectedCount = 0;
  const report = () => {
    let done = 0;
    let bytes = 0;
    for (const { loaded, total, finished } of shards.values()) {
      done += finished ? 1 : total > 0 ? Math.min(loaded / total, 1) : 0;
      bytes += loaded;
    }
    onProgress(done / Math.max(expectedCount, shards.size, 1), bytes);
  };
  return async (url, init, options) => {
    const absolute = new URL(url, expected.base).href;
    const response = await fetchOrFail(absolute, init);
    if (!options?.isBinary) {
      // model.json: learn how many shards follow. A parse failure is TF.js's to report.
      expectedCount = countShards(await response.clone().json().catch(() => null));
      return response;
    }
    // Content-Length is the compressed size under Content-Encoding; the clamp in
    // report() and `finished` keep that from overshooting.
    const shard = { loaded: 0, total: Number(response.headers.get('Content-Length')) || 0, finished: false };
    shards.set(absolute, shard);
    const chunks = [];
    if (response.body) {
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        shard.loaded += value.byteLength;
        report();
      }
    } else {
      chunks.push(new Uint8Array(await response.arrayBuffer()));
    }
    const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
    let at = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, at);
      at += chunk.byteLength;
    }
    await verifyShard(absolute, bytes, expected.digests);
    shard.finished = true;
    report();
    return new Response(bytes, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

/**
 * Starts downloading the model (model.json and every shard, each shard verified
 * against its sha256) at once, before TF.js is even loaded, so the download and
 * the runtime's start-up overlap. Returns `{url, fetchFunc}`: a fetchFunc for
 * tf.loadLayersModel that hands TF.js these responses. `base` is the page's URL
 * (config URLs are relative to it); `onProgress(fraction, bytes)` follows the download.
 */
export function prefetchModel(config, { base, onProgress = () => {} }) {
  const modelUrl = new URL(config.modelUrl, base).href;
  const fetchVerified = verifyingFetch(onProgress, { base: modelUrl, digests: expectedDigests(config, modelUrl) });
  const responses = new Map();
  const start = (url, isBinary) => {
    const response = fetchVerified(url, undefined, { isBinary });
    response.catch(() => {}); // reported when TF.js asks for it, not as an unhandled rejection
    responses.set(url, response);
    return response;
  };
  start(modelUrl, false)
    .then((response) => response.clone().json())
    .then((json) => {
      for (const group of json.weightsManifest ?? []) {
        for (const path of group.paths ?? []) start(new URL(path, modelUrl).href, true);
      }
    })
    .catch(() => {}); // an unreadable model.json is TF.js's to report, naming the file
  const fetchFunc = async (url, init, options) => {
    const absolute = new URL(url, modelUrl).href;
    const response = responses.get(absolute) ?? start(absolute, Boolean(options?.isBinary));
    return (await response).clone();
  };
  return { url: modelUrl, fetchFunc };
}

/**
 * Loads the layers model from `download` (what prefetchModel() returned), checks it
 * against the config and warms it up.
 * Resolves to `{warmupMs, classify(source, name, k), memory()}`.
 */
export async function loadClassifier(tf, config, download, { onWarmup = () => {} } = {}) {
  const { url: modelUrl, fetchFunc } = download;
  let model;
  try {
    useFastRelu6(tf);
    model = await tf.loadLayersModel(modelUrl, { fetchFunc });
  } catch (err) {
    throw new Error(`Could not load the model (${config.modelUrl}): ${err.message}`, { cause: err });
  }
  try {
    checkModelMatchesConfig(model, config);
  } catch (err) {
    model.dispose();
    throw err;
  }

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

  onWarmup();
  let warmupMs;
  try {
    // The first predict compiles shaders / allocates buffers; pay that now.
    const started = performance.now();
    const warm = predict(new Float32Array(h * w * 3));
    try {
      await warm.data();
    } finally {
      warm.dispose();
    }
    warmupMs = performance.now() - started;
  } catch (err) {
    model.dispose();
    throw new Error(`Warm-up inference failed on the ${tf.getBackend()} backend: ${err.message}`, { cause: err });
  }

  // One inference at a time: interleaved calls would fight over the backend and
  // make numTensors bookkeeping meaningless.
  let queue = Promise.resolve();
  const serialize = (task) => {
    const run = queue.then(task);
    queue = run.catch(() => {});
    return run;
  };

  const classifyNow = async (source, name, k) => {
    const { data, width, height } = await pixelsOf(source, name);
    const start = sharedNow();
    const pixels = resizeToInput(data, width, height, [h, w], config.resize);
    const t0 = performance.now();
    const output = predict(pixels);
    let probabilities;
    try {
      probabilities = await output.data();
    } finally {
      output.dispose();
    }
    const ms = performance.now() - t0;
    return { results: topK(probabilities, config.labels, k), ms, start, end: sharedNow() };
  };

  return Object.freeze({
    warmupMs,
    /** `source`: Blob, ImageBitmap (closed here) or ImageData. Resolves to `{results, ms, start, end}`. */
    classify(source, name, k) {
      return serialize(() => classifyNow(source, name, k));
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
