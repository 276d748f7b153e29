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
  useOneKernelMerges(tf);
  usePooledGlobalAverage(tf);
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
      if (x.dtype === 'float32' && hardSwishRole(tf, this) === 'gate') return tf.reshape(x, x.shape);
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
      if (x.dtype === 'float32' && hardSwishRole(tf, this) === 'gate') return tf.reshape(x, x.shape);
      if (this.maxValue == null) return tf.relu(x);
      return this.maxValue === 6 ? tf.relu6(x) : tf.clipByValue(x, 0, this.maxValue);
    }
  }

  tf.serialization.registerClass(Rescaling);
  tf.serialization.registerClass(ReLU);
}

// The CPU backend's one-pass hard-swish kernel (see useOneKernelMerges).
export const HARD_SWISH = 'BrowsernetHardSwish';

/**
 * TF.js-layers' Add and Multiply first copy their first input (an Identity kernel: a full
 * copy of the tensor on WASM) and then add or multiply into the copy: two kernels for every
 * residual connection, hard-swish and squeeze-and-excite product. These run one.
 *
 * Hard-swish reaches model.json as Rescaling(1/6, 0.5) → ReLU(max_value=1) → Multiply with
 * the Rescaling's own input: x · clip(x/6 + 0.5, 0, 1), stock layers that any TF.js reads.
 * On WASM that is four SIMD kernels after the convolution (Mul, Add, clip, Mul), the fewest
 * TF.js 4.22's WASM binary offers: its fused convolutions only clamp, and a one-pass
 * JavaScript loop over the WASM heap measured 7x slower than the four kernels together.
 * TF.js's CPU backend runs every kernel as a JavaScript loop, so there a Multiply that is
 * exactly that pattern runs one kernel that computes x · relu6(x + 3) / 6 in a single pass
 * (8x faster than the four), and its two gate layers pass their input on as a view (a
 * Reshape, which copies nothing).
 */
function useOneKernelMerges(tf) {
  const builtIn = (name) => tf.serialization.SerializationMap.getMap().classNameMap[name][0];
  if (!tf.getKernel(HARD_SWISH, 'cpu')) {
    tf.registerKernel({
      kernelName: HARD_SWISH,
      backendName: 'cpu',
      kernelFunc: ({ inputs: { x }, backend }) => {
        const xs = backend.data.get(x.dataId).values;
        const ys = new Float32Array(xs.length);
        for (let i = 0; i < xs.length; i++) {
          const v = xs[i]; // x · relu6(x + 3) / 6 in float64, rounded to float32 once
          ys[i] = v >= 3 ? v : v > -3 ? (v * (v + 3)) / 6 : v * 0;
        }
        return backend.makeTensorInfo(x.shape, 'float32', ys);
      },
    });
  }

  class Multiply extends builtIn('Multiply') {
    static className = 'Multiply';

    mergeFunction(inputs) {
      if (inputs[0].dtype === 'float32' && hardSwishRole(tf, this) === 'product') return tf.engine().runKernel(HARD_SWISH, { x: inputs[0] }, {});
      return tf.tidy(() => inputs.slice(1).reduce((product, x) => tf.mul(product, x), inputs[0]));
    }
  }

  class Add extends builtIn('Add') {
    static className = 'Add';

    mergeFunction(inputs) {
      return tf.tidy(() => inputs.slice(1).reduce((sum, x) => tf.add(sum, x), inputs[0]));
    }
  }

  tf.serialization.registerClass(Multiply);
  tf.serialization.registerClass(Add);
}

// Layer -> 'gate' (the Rescaling or ReLU of a hard-swish), 'product' (its Multiply) or null.
const hardSwishRoles = new WeakMap();

/** A layer's part in a hard-swish as browsernet writes it, where it runs as one kernel (useOneKernelMerges); else null. */
function hardSwishRole(tf, layer) {
  if (!tf.getKernel(HARD_SWISH, tf.getBackend())) return null;
  if (!hardSwishRoles.has(layer)) {
    let product = layer;
    for (let hop = 0; hop < 2 && product && product.getClassName() !== 'Multiply'; hop++) {
      product = soleConsumer(product);
    }
    const gate = product && product.getClassName() === 'Multiply' ? hardSwishGate(product) : null;
    hardSwishRoles.set(layer, gate === null ? null : layer === product ? 'product' : gate.includes(layer) ? 'gate' : null);
  }
  return hardSwishRoles.get(layer);
}

// The one layer that takes `layer`'s output, if it is called once and its output goes nowhere else.
function soleConsumer(layer) {
  return layer.inboundNodes.length === 1 && layer.outboundNodes.length === 1 ? layer.outboundNodes[0].outboundLayer : null;
}

// [Rescaling, ReLU] if `multiply` is x · ReLU(max_value=1)(Rescaling(1/6, 0.5)(x)), else null.
function hardSwishGate(multiply) {
  const node = multiply.inboundNodes.length === 1 ? multiply.inboundNodes[0] : null;
  if (!node || node.inboundLayers.length !== 2) return null;
  const relu = node.inboundLayers[1];
  if (relu.getClassName() !== 'ReLU' || relu.maxValue !== 1 || soleConsumer(relu) !== multiply) return null;
  const reluInput = relu.inboundNodes[0];
  const scale = reluInput.inboundLayers[0];
  if (scale.getClassName() !== 'Rescaling' || scale.scale !== 1 / 6 || scale.offset !== 0.5
      || soleConsumer(scale) !== relu) return null;
  const scaleInput = scale.inboundNodes[0];
  const sameX = scaleInput.inboundLayers[0] === node.inboundLayers[0]
    && scaleInput.nodeIndices[0] === node.nodeIndices[0] && scaleInput.tensorIndices[0] === node.tensorIndices[0];
  return sameX ? [scale, relu] : null;
}

/**
 * TF.js-layers averages a channels-last GlobalAveragePooling2D with Mean over the height and
 * width axes, which the WASM backend runs as a transpose of the whole tensor and then a
 * reduction, and the CPU backend as JavaScript loops over that transpose. An average pool
 * whose window is the whole image computes the same average (summed in another order: a
 * float32 rounding apart) as one XNNPACK operator on WASM: measured on one thread in Node,
 * 14×14×240 in under 0.01 ms instead of 0.08 ms, and on the CPU backend 0.2 ms instead of
 * 3.4 ms. MobileNetV3 has one in every squeeze-and-excite block.
 */
function usePooledGlobalAverage(tf) {
  const builtIn = tf.serialization.SerializationMap.getMap().classNameMap.GlobalAveragePooling2D[0];

  class GlobalAveragePooling2D extends builtIn {
    static className = 'GlobalAveragePooling2D';

    call(inputs, kwargs) {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      if (this.dataFormat !== 'channelsLast' || x.rank !== 4 || x.dtype !== 'float32') return super.call(inputs, kwargs);
      const [batch, height, width, channels] = x.shape;
      // The kernel itself: tf.avgPool would add a Cast of float32 to float32.
      const pooled = tf.engine().runKernel('AvgPool', { x }, { filterSize: [height, width], strides: 1, pad: 'valid' });
      return tf.tidy(() => tf.reshape(pooled, [batch, channels]));
    }
  }

  tf.serialization.registerClass(GlobalAveragePooling2D);
}
