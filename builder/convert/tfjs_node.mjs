// The self-check's TF.js for Node, in the wheel (`make dist`): what `require('@tensorflow/tfjs')`
// gives builder/convert/tfjs_runner.cjs once bundled, without the converter and tfjs-data that
// the runner never calls. Core, layers and the cpu backend; the runner adds the wasm backend.
export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
// Exported, not only imported: for Node the package's sideEffects list would drop a bare import.
export * from '@tensorflow/tfjs-backend-cpu';
