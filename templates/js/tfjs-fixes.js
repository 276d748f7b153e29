// Corrections to how TF.js 4.22 runs a layers model, applied before a model loads.
// Pure: they take `tf` and touch nothing else, so the build's self-check (Node)
// applies exactly the same ones and checks the numbers the page will produce.

/**
 * TF.js-layers computes the `relu6` activation as minimum(6, relu(x)): two kernels,
 * and the WASM backend's Minimum against a scalar is slow (measured in Chromium on
 * MobileNetV2 1.0 at 224: 35 of them took 27 ms of a 64 ms inference). TF.js has a
 * one-kernel relu6 op, which computes the same values (min(max(x, 0), 6)); this
 * registers it under the same name, through TF.js's public serialization registry.
 */
export function useFastRelu6(tf) {
  class Relu6 extends tf.serialization.Serializable {
    static className = 'relu6';

    apply(x) {
      return tf.relu6(x);
    }

    getConfig() {
      return {};
    }
  }
  tf.serialization.registerClass(Relu6);
}
