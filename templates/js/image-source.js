// Turning what callers hand us into RGBA pixels, on the page or in the worker.

// Decode what is in the file, not what the display profile makes of it: Python
// decoders (PIL, tf.io) ignore embedded colour profiles, and so do we. EXIF
// orientation is applied, so a phone photo is classified upright. Straight alpha,
// so transparent pixels can be composited on white exactly.
const DECODE_OPTIONS = Object.freeze({
  imageOrientation: 'from-image',
  colorSpaceConversion: 'none',
  premultiplyAlpha: 'none',
});

function blobName(blob) {
  return typeof blob.name === 'string' && blob.name !== '' ? blob.name : 'blob';
}

/** Decodes an image file (its first frame, for an animated GIF or WebP) to an ImageBitmap. */
export async function decodeBlob(blob, name = blobName(blob)) {
  if (blob.type && !blob.type.startsWith('image/')) {
    throw new Error(`${name}: not an image (${blob.type})`);
  }
  if (blob.size === 0) throw new Error(`${name}: the file is empty`);
  if (blob.type === 'image/svg+xml' || /\.svgz?$/i.test(name)) {
    // A browser draws SVG only in a document; the worker has none. A drawing has no pixels until it is drawn.
    throw new Error(`${name}: an SVG drawing, not a pixel image; save it as PNG or JPEG to classify it`);
  }
  try {
    return await createImageBitmap(blob, DECODE_OPTIONS);
  } catch (err) {
    throw new Error(`${name}: ${undecodable(blob, name)}`, { cause: err });
  }
}

/** Why a file did not decode, in the visitor's terms: a format browsers do not show, or a damaged file. */
function undecodable(blob, name) {
  const is = (types, suffixes) => types.includes(blob.type) || suffixes.test(name);
  if (is(['image/tiff'], /\.tiff?$/i)) {
    return 'could not decode image: a TIFF file, which browsers do not show; save it as PNG or JPEG';
  }
  if (is(['image/heic', 'image/heif'], /\.hei[cf]$/i)) {
    return 'could not decode image: a HEIC photo, which this browser does not decode; save it as JPEG';
  }
  return 'could not decode image (damaged, cut short, or in a format this browser does not show)';
}

function canvas2d(width, height, name) {
  const canvas = typeof OffscreenCanvas !== 'undefined'
    ? new OffscreenCanvas(width, height)
    : Object.assign(document.createElement('canvas'), { width, height });
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error(`${name}: the image (${width}×${height}) is too large for this browser to read`);
  return ctx;
}

/**
 * RGBA bytes of a bitmap at its intrinsic size, composited on white (drawn over a
 * white canvas, so every pixel comes back opaque).
 */
function bitmapPixels(bitmap, name) {
  const { width, height } = bitmap;
  if (width === 0 || height === 0) throw new Error(`${name}: the image is empty (0×0)`);
  const ctx = canvas2d(width, height, name);
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  ctx.drawImage(bitmap, 0, 0);
  let pixels;
  try {
    pixels = ctx.getImageData(0, 0, width, height);
  } catch (err) {
    throw new Error(`${name}: the image (${width}×${height}) could not be read (${err.message})`, { cause: err });
  }
  // Past the browser's canvas limits (a side over 65,535 or about 268 million pixels in Chromium), the canvas
  // draws nothing and reads back transparent black without an error: classified, that is a white image. The
  // white fill makes every pixel of a working canvas opaque.
  const { data } = pixels;
  if (data[3] !== 255 || data[data.length - 1] !== 255) {
    throw new Error(`${name}: the image (${width}×${height}) is too large for this browser to read; scale it down`);
  }
  return pixels;
}

/**
 * What the worker (or the main-thread engine) reads: `{data, width, height}` RGBA.
 * `source` is what the page sends: a Blob (decoded here), an ImageBitmap or ImageData.
 */
export async function pixelsOf(source, name) {
  if (typeof ImageData !== 'undefined' && source instanceof ImageData) {
    if (source.width === 0 || source.height === 0) throw new Error(`${name}: the ImageData is empty (0×0)`);
    return source;
  }
  if (typeof ImageBitmap !== 'undefined' && source instanceof ImageBitmap) {
    try {
      return bitmapPixels(source, name);
    } finally {
      source.close();
    }
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const bitmap = await decodeBlob(source, name);
    try {
      return bitmapPixels(bitmap, name);
    } finally {
      bitmap.close();
    }
  }
  throw new TypeError(`${name}: cannot read pixels from ${source?.constructor?.name || typeof source}`);
}

/**
 * Normalises a classify() source on the page into something that can be posted to
 * the worker: `{source, name, transfer}`. Files stay files (the worker decodes them);
 * elements become ImageBitmaps we own and transfer. The caller's own objects are
 * never transferred or closed.
 */
export async function toMessage(source) {
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    return { source, name: blobName(source), transfer: [] };
  }
  if (typeof ImageData !== 'undefined' && source instanceof ImageData) {
    if (source.width === 0 || source.height === 0) throw new Error('classify: the ImageData is empty (0×0)');
    return { source, name: 'ImageData', transfer: [] };
  }
  let name = 'image';
  try {
    if (typeof HTMLImageElement !== 'undefined' && source instanceof HTMLImageElement) {
      name = source.currentSrc || source.src || 'image element';
      if (!source.complete || source.naturalWidth === 0) await source.decode();
      // Its file's pixels as a Blob of the same file gives them: upright, without the display's colour
      // management, straight alpha (a default bitmap of an <img> is colour-managed and premultiplied).
      const bitmap = await createImageBitmap(source, DECODE_OPTIONS);
      return { source: bitmap, name, transfer: [bitmap] };
    }
    const isCanvas = (typeof HTMLCanvasElement !== 'undefined' && source instanceof HTMLCanvasElement) ||
      (typeof OffscreenCanvas !== 'undefined' && source instanceof OffscreenCanvas);
    const isVideo = typeof HTMLVideoElement !== 'undefined' && source instanceof HTMLVideoElement;
    if (isCanvas || isVideo || (typeof ImageBitmap !== 'undefined' && source instanceof ImageBitmap)) {
      name = source.constructor.name;
      const w = isVideo ? source.videoWidth : source.width;
      const h = isVideo ? source.videoHeight : source.height;
      if (!w || !h) throw new Error(`classify: the ${name} is empty (0×0)`);
      const bitmap = await createImageBitmap(source, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
      return { source: bitmap, name, transfer: [bitmap] };
    }
  } catch (err) {
    if (err.message.startsWith('classify:')) throw err;
    throw new Error(`${name}: could not decode image`, { cause: err });
  }
  const kind = source === null || source === undefined ? String(source) : source.constructor?.name || typeof source;
  throw new TypeError(
    `classify: unsupported source (${kind}); pass an HTMLImageElement, HTMLCanvasElement, HTMLVideoElement, ImageBitmap, ImageData, Blob or File`,
  );
}
