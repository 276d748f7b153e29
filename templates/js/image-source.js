// Turning what callers hand us into something tf.browser.fromPixels reads exactly.

// Decode what is in the file, not what the display profile makes of it: Python
// decoders (PIL, tf.io) ignore embedded colour profiles, and so do we. Keep
// straight alpha so the WebGL upload path sees the stored RGB values.
const DECODE_OPTIONS = Object.freeze({
  imageOrientation: 'from-image',
  colorSpaceConversion: 'none',
  premultiplyAlpha: 'none',
});

function blobName(blob) {
  return typeof blob.name === 'string' && blob.name !== '' ? blob.name : 'blob';
}

async function decodeBlob(blob) {
  const name = blobName(blob);
  if (blob.type && !blob.type.startsWith('image/')) {
    throw new Error(`${name}: not an image (${blob.type})`);
  }
  try {
    return await createImageBitmap(blob, DECODE_OPTIONS);
  } catch (err) {
    throw new Error(`${name}: could not decode image`, { cause: err });
  }
}

async function decodeImageElement(img) {
  const name = img.currentSrc || img.src || 'image element';
  try {
    if (!img.complete || img.naturalWidth === 0) await img.decode();
    // fromPixels reads an <img> at its layout size; a bitmap has the intrinsic size.
    return await createImageBitmap(img);
  } catch (err) {
    throw new Error(`${name}: could not decode image`, { cause: err });
  }
}

/**
 * Normalises a classify() source. Resolves to `{pixels, release}`: `pixels` is
 * an ImageData, canvas or ImageBitmap at the image's intrinsic size, and
 * `release()` frees whatever we created (never what the caller owns).
 */
export async function toPixels(source) {
  const keep = () => {};
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const bitmap = await decodeBlob(source);
    return { pixels: bitmap, release: () => bitmap.close() };
  }
  if (typeof HTMLImageElement !== 'undefined' && source instanceof HTMLImageElement) {
    const bitmap = await decodeImageElement(source);
    return { pixels: bitmap, release: () => bitmap.close() };
  }
  if (
    (typeof ImageData !== 'undefined' && source instanceof ImageData) ||
    (typeof HTMLCanvasElement !== 'undefined' && source instanceof HTMLCanvasElement) ||
    (typeof ImageBitmap !== 'undefined' && source instanceof ImageBitmap)
  ) {
    if (source.width === 0 || source.height === 0) {
      throw new Error(`classify: the ${source.constructor.name} is empty (0×0)`);
    }
    return { pixels: source, release: keep };
  }
  const kind = source === null || source === undefined ? String(source) : source.constructor?.name || typeof source;
  throw new TypeError(
    `classify: unsupported source (${kind}); pass an HTMLImageElement, HTMLCanvasElement, ImageBitmap, ImageData, Blob or File`,
  );
}
