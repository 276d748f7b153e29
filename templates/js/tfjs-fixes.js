// Corrections to how TF.js 4.22 runs a layers model, applied before a model loads.
// Pure: they take `tf` and touch nothing else, so the build's self-check (Node)
// applies exactly the same ones and checks the numbers the page will produce.
// All go through TF.js's public serialization registry: a class registered under a
// built-in name is the one a model.json of that name gets.

/** Every fix, in one call. */
export function useFastKernels(tf) {
  useFastRelu6(tf);
  useFusedConvolutions(tf);
  useLeanElementwise(tf);
}

/**
 * TF.js-layers computes the `relu6` activation as minimum(6, relu(x)): two kernels,
 * and the WASM backend's Minimum against a scalar is slow (measured in Chromium on
 * MobileNetV2 1.0 at 224: 35 of them took 27 ms of a 64 ms inference). TF.js has a
 * one-kernel relu6 op, which computes the same values (min(max(x, 0), 6)); this
 * registers it under the same name.
 */
function useFastRelu6(tf) {
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

// Activations TF.js's fused convolutions compute inside the convolution.
const FUSABLE = new Set(['linear', 'relu', 'relu6', 'elu']);

/**
 * TF.js-layers runs a Conv2D whose activation is relu6 as two kernels (it fuses only
 * linear, relu and elu), and every DepthwiseConv2D as three: the convolution, a
 * BiasAdd and the activation. After browsernet's build-time rewrites that is every
 * convolution of a MobileNet. TF.js's fused ops add the bias and apply the activation
 * inside the convolution (one XNNPACK operator on WASM), as the graph model's
 * FusedConv2D and FusedDepthwiseConv2dNative do: on MobileNetV2 1.0 at 224 in
 * Chromium, 60 → 53 ms per image on one WASM thread. These subclasses run them for
 * channels-last layers whose activation is one of FUSABLE, and leave any other layer
 * to TF.js-layers.
 */
function useFusedConvolutions(tf) {
  const fusedActivation = (layer) => {
    const name = layer.activation ? layer.activation.getClassName() : 'linear';
    return layer.dataFormat === 'channelsLast' && layer.padding !== 'causal' && FUSABLE.has(name) ? name : null;
  };
  // TF.js-layers' own class `name` (from its registry), made to run `op` on its `kernel` weight.
  const fusing = (name, op, kernel) => class extends tf.serialization.SerializationMap.getMap().classNameMap[name][0] {
    static className = name;

    call(inputs, kwargs) {
      const activation = fusedActivation(this);
      if (activation === null) return super.call(inputs, kwargs);
      return tf.tidy(() => op({
        x: Array.isArray(inputs) ? inputs[0] : inputs,
        filter: this[kernel].read(),
        strides: this.strides,
        pad: this.padding,
        dilations: this.dilationRate,
        dataFormat: 'NHWC',
        bias: this.bias ? this.bias.read() : undefined,
        activation,
      }));
    }
  };
  tf.serialization.registerClass(fusing('Conv2D', tf.fused.conv2d, 'kernel'));
  tf.serialization.registerClass(fusing('DepthwiseConv2D', tf.fused.depthwiseConv2d, 'depthwiseKernel'));
}

/**
 * MobileNetV3's hard-sigmoid and hard-swish reach model.json as stock layers (TF.js has
 * neither): Rescaling(1/6, 0.5) → ReLU(max_value=1), and Keras 3's squeeze-and-excite as
 * Rescaling(+3) → ReLU(6) → Rescaling(×1/6). TF.js-layers runs every Rescaling as a Mul
 * and an Add, even by 1 or 0, and a ReLU with a max value as Relu then ClipByValue. These
 * run the same numbers (x·1 = x, x + 0 = x, clip(relu(x), 0, m) = clip(x, 0, m)) with only
 * the kernels that change a value: one fewer per hard-sigmoid, two fewer per
 * squeeze-and-excite gate.
 */
function useLeanElementwise(tf) {
  const builtIn = (name) => tf.serialization.SerializationMap.getMap().classNameMap[name][0];
  const one = (inputs) => (Array.isArray(inputs) ? inputs[0] : inputs);

  class Rescaling extends builtIn('Rescaling') {
    static className = 'Rescaling';

    call(inputs, kwargs) {
      const x = one(inputs);
      if (x.dtype !== 'float32' || (this.scale === 1 && this.offset === 0)) return super.call(inputs, kwargs);
      return tf.tidy(() => {
        const scaled = this.scale === 1 ? x : tf.mul(x, this.scale);
        return this.offset === 0 ? scaled : tf.add(scaled, this.offset);
      });
    }
  }

  class ReLU extends builtIn('ReLU') {
    static className = 'ReLU';

    call(inputs, kwargs) {
      const x = one(inputs);
      if (this.maxValue == null) return tf.relu(x);
      return this.maxValue === 6 ? tf.relu6(x) : tf.clipByValue(x, 0, this.maxValue);
    }
  }

  tf.serialization.registerClass(Rescaling);
  tf.serialization.registerClass(ReLU);
}
