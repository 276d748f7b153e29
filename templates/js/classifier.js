// Loading config + model and running inference. No DOM work here beyond decoding.

import { preprocessSpec, resolveTopK, topK, validateConfig } from './pure.js';
import { toPixels } from './image-source.js';

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
  let response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    throw new Error(`${new URL(url, document.baseURI).pathname}: could not be fetched (${err.message})`, { cause: err });
  }
  if (!response.ok) {
    throw new Error(`${new URL(url, document.baseURI).pathname}: HTTP ${response.status} ${response.statusText}`.trim());
  }
  return response;
}

function countShards(modelJson) {
  const manifest = Array.isArray(modelJson?.weightsManifest) ? modelJson.weightsManifest : [];
  return manifest.reduce((n, group) => n + (Array.isArray(group.paths) ? group.paths.length : 0), 0);
}

/**
 * A fetchFunc for tf.loadLayersModel that reports byte-level download progress.
 * We do not use TF.js's own onProgress: it only moves when a whole shard is done,
 * and when a shard request fails it leaves an unhandled promise rejection behind.
 */
function progressFetch(onProgress) {
  const shards = new Map();
  let expected = 0;
  const report = () => {
    let done = 0;
    for (const { loaded, total, finished } of shards.values()) {
      done += finished ? 1 : total > 0 ? Math.min(loaded / total, 1) : 0;
    }
    onProgress(done / Math.max(expected, shards.size, 1));
  };
  return async (url, init, options) => {
    const response = await fetchOrFail(url, init);
    if (!options?.isBinary) {
      // model.json: learn how many shards follow. A parse failure is TF.js's to report.
      expected = countShards(await response.clone().json().catch(() => null));
      return response;
    }
    // Content-Length is the compressed size under Content-Encoding; the clamp in
    // report() and `finished` keep that from overshooting.
    const shard = { loaded: 0, total: Number(response.headers.get('Content-Length')) || 0, finished: false };
    shards.set(url, shard);
    if (!response.body) {
      shard.finished = true;
      report();
      return response;
    }
    const counted = response.body.pipeThrough(
      new TransformStream({
        transform(chunk, controller) {
          shard.loaded += chunk.byteLength;
          report();
          controller.enqueue(chunk);
        },
        flush() {
          shard.finished = true;
          report();
        },
      }),
    );
    return new Response(counted, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

/**
 * Loads the layers model, checks it against the config and warms it up.
 * Resolves to `{classify(source, k), ...}`. `onProgress(fraction)` follows the
 * weight download.
 */
export async function loadClassifier(tf, config, { onProgress = () => {}, onWarmup = () => {} } = {}) {
  let model;
  try {
    model = await tf.loadLayersModel(config.modelUrl, { fetchFunc: progressFetch(onProgress) });
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

  // Runs the model on a [h, w, 3] float32 tensor in 0..255; call inside tf.tidy.
  const predictPixels = (image) => {
    let x = image;
    if (x.shape[0] !== h || x.shape[1] !== w) {
      // Squash to the model size. halfPixelCenters matches Keras/TF2
      // tf.image.resize (and the Resizing layer), which is what models are trained with.
      x = tf.image.resizeBilinear(x, [h, w], false, true);
    }
    if (divisor !== 1) x = tf.div(x, divisor);
    if (offset !== 0) x = tf.add(x, offset);
    return model.predict(tf.expandDims(x, 0));
  };

  onWarmup();
  try {
    // The first predict compiles shaders / allocates buffers; pay that now.
    const warm = tf.tidy(() => predictPixels(tf.zeros([h, w, 3], 'float32')));
    try {
      await warm.data();
    } finally {
      warm.dispose();
    }
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

  const classifyNow = async (source, k) => {
    const { pixels, release } = await toPixels(source);
    let output;
    try {
      output = tf.tidy(() => predictPixels(tf.cast(tf.browser.fromPixels(pixels, 3), 'float32')));
    } finally {
      release();
    }
    try {
      return topK(await output.data(), config.labels, k);
    } finally {
      output.dispose();
    }
  };

  return Object.freeze({
    /** Resolves to the top-k classes of `source`, highest probability first. */
    classify(source, requestedK) {
      let k;
      try {
        k = resolveTopK(requestedK, config.topK, config.labels.length);
      } catch (err) {
        return Promise.reject(err);
      }
      return serialize(() => classifyNow(source, k));
    },
  });
}
