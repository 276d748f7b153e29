// Runs a TF.js layers model, exactly as written to disk, on raw float32 inputs.
// Used by the build's self-check, so the numbers come from the same runtime the
// site vendors rather than from a Python re-implementation of it.
//
// usage: node tfjs_runner.cjs <model.json> <input.f32> <b,h,w,c> <output.f32> [wasm|cpu]
// stdout: one JSON line {"backend", "outputShape", "ms"}; errors: one line on stderr, exit 1.
'use strict';
const fs = require('fs');
const path = require('path');

// The page's own fixes to TF.js, so the self-check runs the model as the page does.
// The page's own fixes (templates/js/tfjs-fixes.js), located by the Python side.
const FIXES = process.env.BROWSERNET_TFJS_FIXES;

async function main() {
  const [modelJson, inputPath, shapeArg, outputPath, wanted = 'wasm'] = process.argv.slice(2);
  const tf = require('@tensorflow/tfjs');
  if (wanted === 'wasm') require('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend(wanted)) || tf.getBackend() !== wanted) {
    throw new Error(`TF.js backend '${wanted}' is not available in Node`);
  }
  await tf.ready();
  // An ES module in a folder without "type": "module": import its source as such.
  const source = fs.readFileSync(FIXES, 'utf8');
  const { useFastKernels } = await import(`data:text/javascript,${encodeURIComponent(source)}`);
  useFastKernels(tf);

  const dir = path.dirname(modelJson);
  const artifacts = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
  const specs = [];
  const buffers = [];
  for (const group of artifacts.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) buffers.push(fs.readFileSync(path.join(dir, p)));
  }
  const joined = Buffer.concat(buffers);
  const handler = {
    load: async () => ({
      modelTopology: artifacts.modelTopology,
      weightSpecs: specs,
      weightData: joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength),
      format: artifacts.format,
    }),
  };
  const model = await tf.loadLayersModel(handler);
  const shape = shapeArg.split(',').map(Number);
  const raw = fs.readFileSync(inputPath);
  const data = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const x = tf.tensor(data, shape, 'float32');
  const t0 = process.hrtime.bigint();
  const y = model.predict(x);
  const out = await y.data();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  fs.writeFileSync(outputPath, Buffer.from(out.buffer, out.byteOffset, out.byteLength));
  process.stdout.write(JSON.stringify({ backend: tf.getBackend(), outputShape: y.shape, ms }) + '\n');
}

main().catch((err) => {
  process.stderr.write(String(err && err.message ? err.message : err).split('\n')[0] + '\n');
  process.exit(1);
});
