// The TF.js 4.22 that a browsernet site runs: a layers model on the webgl, wasm or
// cpu backend, and nothing else. @tensorflow/tfjs's own bundle also carries the
// converter (graph models), tfjs-data and every op's gradient; the site uses none
// of them. `make setup` bundles this file (through global.mjs) into the one runtime
// script that builder/vendor.py copies into each site.
//
// Only the names the site's scripts call are exported, so the bundler can leave out
// the ops nothing reaches. tests/test_vendor.py checks this list against every `tf.`
// in templates/js/.

// Side effects: each backend registers itself and its kernels. The chained ops
// (x.add(y) and the like) are Tensor methods that tfjs-layers itself calls.
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';

export {
  add, backend, clipByValue, div, engine, env, fused, getBackend, getKernel, memory, mul, ready, registerKernel, relu,
  relu6, removeBackend, reshape, serialization, setBackend, tensor, tensor4d, tidy,
} from '@tensorflow/tfjs-core';
// io.decodeWeights: quantized weights, dequantized as TF.js does.
export { io } from '@tensorflow/tfjs-core';
export { loadLayersModel } from '@tensorflow/tfjs-layers';
// tf.layers.Layer, as @tensorflow/tfjs has it: the base class whose addWeight() layers-model.js
// hooks to build a model with its weights in place (the layer factories are not needed by name).
import { Layer } from '@tensorflow/tfjs-layers/dist/exports_layers';
export const layers = Object.freeze({ Layer });
// tf.wasm.setWasmPaths() and friends, where TF.js's own wasm script puts them.
export * as wasm from '@tensorflow/tfjs-backend-wasm';
