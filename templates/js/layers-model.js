// Building the TF.js layers model from model.json and the downloaded weight shards,
// with every weight's tensor made once, straight from the shard bytes. No DOM.
//
// tf.loadLayersModel() builds each layer with zero-filled weights (a zero array per
// weight, copied into the backend), slices every weight out of the shards (another
// copy), and then overwrites the zeros: three copies of the 14 MB of a MobileNetV2
// before the backend's own, and a return visit's model build waits on all of them.
// Here each layer's weights are the decoded tensors from the start: a float32 weight
// becomes a tensor over a view of its shard (the backend's one copy), a quantized one
// is dequantized by TF.js's own decodeWeights(). Model and manifest must match one to
// one, as tf.loadLayersModel()'s strict mode requires.

// Bytes per stored value: TF.js's weight-manifest dtypes (quantization.dtype when quantized).
const BYTES = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

function storedBytes(spec) {
  const dtype = spec.quantization ? spec.quantization.dtype : spec.dtype;
  const per = BYTES[dtype];
  if (per === undefined) throw new Error(`weight ${spec.name}: unsupported dtype ${dtype}`);
  return per * spec.shape.reduce((n, d) => n * d, 1);
}

/**
 * The weights of `weightSpecs` (model.json's manifest entries, in order) as tensors, from
 * `shards` (ArrayBuffers, in the manifest's path order: one byte stream, cut into files, so
 * a weight may span two). Returns a Map from weight name to tensor; throws naming the
 * weight where the bytes and the manifest disagree.
 */
export function weightTensors(tf, weightSpecs, shards) {
  const total = shards.reduce((n, shard) => n + shard.byteLength, 0);
  const tensors = new Map();
  let shard = 0;
  let shardStart = 0; // byte offset of shards[shard] in the stream
  let offset = 0;
  try {
    for (const spec of weightSpecs) {
      const size = storedBytes(spec);
      if (offset + size > total) {
        throw new Error(`the weight files end before weight ${spec.name} (${total} bytes; the manifest needs more)`);
      }
      if (tensors.has(spec.name)) throw new Error(`weight ${spec.name} is listed twice in model.json`);
      while (size > 0 && offset >= shardStart + shards[shard].byteLength) {
        shardStart += shards[shard].byteLength;
        shard += 1;
      }
      let buffer = shards[shard];
      let at = offset - shardStart;
      if (size > 0 && at + size > buffer.byteLength) {
        // Spans a shard boundary: gathered into one buffer.
        const joined = new Uint8Array(size);
        for (let i = shard, done = 0, from = at; done < size; i += 1, from = 0) {
          const part = new Uint8Array(shards[i], from, Math.min(shards[i].byteLength - from, size - done));
          joined.set(part, done);
          done += part.byteLength;
        }
        buffer = joined.buffer;
        at = 0;
      }
      const plain = !spec.quantization && spec.dtype === 'float32' && at % 4 === 0;
      const tensor = plain
        ? tf.tensor(new Float32Array(buffer, at, size / 4), spec.shape, 'float32')
        : tf.io.decodeWeights(buffer.slice(at, at + size), [spec])[spec.name];
      tensors.set(spec.name, tensor);
      offset += size;
    }
    if (offset !== total) {
      throw new Error(`the weight files hold ${total} bytes, but model.json's manifest describes ${offset}`);
    }
  } catch (err) {
    for (const tensor of tensors.values()) tensor.dispose();
    throw err;
  }
  return tensors;
}

// One build at a time: the Layer.addWeight hook below is shared by every model in this realm.
let building = Promise.resolve();

/**
 * Builds the layers model of `modelTopology` (model.json's) with the weights of
 * `weightSpecs` read from `shards` (see weightTensors()). Resolves to the model; rejects
 * naming the weights that the topology and the manifest do not share.
 */
export function buildLayersModel(tf, { modelTopology, weightSpecs }, shards) {
  const run = building.then(() => build(tf, modelTopology, weightSpecs, shards));
  building = run.catch(() => {});
  return run;
}

async function build(tf, modelTopology, weightSpecs, shards) {
  const tensors = weightTensors(tf, weightSpecs, shards);
  const used = new Set();
  const noted = new Set(); // weights with a problem already said
  const problems = [];
  const created = []; // every variable made, freed if the build fails
  const { prototype } = tf.layers.Layer;
  const addWeight = prototype.addWeight;
  // A layer's weight `name` is `${layer}/${name}` in model.json, as tf.loadLayersModel() matches it.
  // One that is missing or does not fit is noted (the layer then gets its own initializer, and the
  // model is refused once built).
  prototype.addWeight = function addLoadedWeight(name, shape, dtype, initializer, ...rest) {
    const key = `${this.name}/${name}`;
    const value = used.has(key) ? undefined : tensors.get(key);
    if (value === undefined) {
      problems.push(`the topology's weight ${key} is not in the manifest`);
    } else if (value.shape.length !== shape.length || value.shape.some((d, i) => d !== shape[i])) {
      problems.push(`weight ${key} has shape [${value.shape}] in the manifest, but its layer needs [${shape}]`);
      noted.add(key);
    } else {
      used.add(key);
      initializer = { apply: () => value };
    }
    const weight = addWeight.call(this, name, shape, dtype, initializer, ...rest);
    created.push(weight);
    return weight;
  };
  let model = null;
  try {
    model = await tf.loadLayersModel({ load: async () => ({ modelTopology }) });
  } finally {
    prototype.addWeight = addWeight;
    // The variables hold their own references; what no layer took is freed.
    for (const [name, tensor] of tensors) if (!used.has(name)) tensor.dispose();
    if (model === null) for (const weight of created) weight.dispose();
  }
  for (const spec of weightSpecs) {
    if (!used.has(spec.name) && !noted.has(spec.name)) {
      problems.push(`the manifest's weight ${spec.name} belongs to no layer`);
    }
  }
  if (problems.length > 0) {
    model.dispose();
    const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : '';
    throw new Error(`model.json does not fit its topology: ${problems.slice(0, 3).join('; ')}${more}`);
  }
  return model;
}
