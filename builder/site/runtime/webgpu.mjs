// The WebGPU backend, as a second script that only devices with a WebGPU adapter load
// (runtime.js loads it after navigator.gpu.requestAdapter() gives one). It registers
// the 'webgpu' backend and its kernels with the TF.js engine that the main runtime
// bundle (global.mjs) made: TF.js keeps its engine, flags and kernel registry on
// globalThis, so the copy of tfjs-core this script carries for the backend's own use
// registers into the same engine. Run it after the main bundle.
import '@tensorflow/tfjs-backend-webgpu';
