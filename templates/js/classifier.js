// The classifier: builds the layers model from the downloaded files, checks it
// against the config, and classifies images with it. No DOM: this runs in the worker
// (or, as a fallback, on the main thread).

import { preprocessSpec } from './preprocessing.js';
import { resizeToInput } from './resize.js';
import { topK } from './topk.js';
import { sharedNow } from './protocol.js';
import { pixelsOf } from './image-source.js';
import { useFastKernels } from './tfjs-fixes.js';
import { buildLayersModel } from './layers-model.js';

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

/**
 * Builds the layers model from `download` (what model-files.js's prefetchModel() returned) and checks
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
    model = await buildLayersModel(tf, {
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((group) => group.weights),
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
    },
  });
}
