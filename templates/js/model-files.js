// Downloading the model's files: model.json and every weight shard at once, each shard
// verified against the sha256 the build recorded in config.json before TF.js may
// read it. A return visit reads the shards from the service worker's cache. No DOM:
// this runs in the worker (or, as a fallback, on the main thread).

import { checkNotHtml, fetchFile } from './fetch-file.js';
import { fileLabel } from './format.js';

const WEIGHT_FILE = 'the weight file';
// onProgress runs at most this often (and once more when every file is in): each call
// redraws the page's progress bar, and a return visit reads the cached 14 MB in hundreds
// of chunks in a few hundred milliseconds.
const PROGRESS_INTERVAL_MS = 100;

function shardPaths(modelJson) {
  return modelJson.weightsManifest.flatMap((group) => group.paths);
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}

// Each shard's sha256, as the build recorded it from the written model.json, keyed
// by the absolute URL the shard is fetched from.
function expectedDigests(config, modelUrl) {
  const expected = new Map();
  for (const [path, digest] of Object.entries(config.shardSha256)) {
    expected.set(new URL(path, modelUrl).href, digest);
  }
  return expected;
}

// `want`: the shard's sha256 from config.json (prefetchModel() reads only the shards it lists).
async function verifyShard(url, bytes, want) {
  const where = fileLabel(url);
  if (!globalThis.crypto || !crypto.subtle) {
    throw new Error(`${where}: cannot verify the weights: crypto.subtle needs a secure (https or localhost) connection`);
  }
  const got = hex(await crypto.subtle.digest('SHA-256', bytes));
  if (got !== want) {
    throw new Error(`${where}: corrupt or truncated weight shard (${bytes.byteLength} bytes, sha256 ${got.slice(0, 12)}…, expected ${want.slice(0, 12)}…); redeploy the model/ folder`);
  }
}

// model.json, parsed, with the fields a layers model needs; else an error naming it.
async function fetchModelJson(url) {
  const where = fileLabel(url);
  const response = await fetchFile(url, 'the model file');
  let json;
  try {
    json = await response.json();
  } catch (err) {
    throw new Error(`${where}: not valid JSON (${err.message})`, { cause: err });
  }
  const groups = json?.weightsManifest;
  if (json?.modelTopology === null || typeof json?.modelTopology !== 'object') {
    throw new Error(`${where}: not a TF.js layers model (no modelTopology)`);
  }
  if (!Array.isArray(groups) || !groups.every((g) => Array.isArray(g?.paths) && Array.isArray(g?.weights))) {
    throw new Error(`${where}: no valid weightsManifest`);
  }
  return json;
}

// A shard's bytes, read as they arrive (`onBytes(n)` after each chunk) into one
// buffer; its size is known up front unless the host compressed it on the way.
async function readShard(response, onBytes) {
  const encoded = (response.headers.get('Content-Encoding') || 'identity') !== 'identity';
  const declared = encoded ? 0 : Number(response.headers.get('Content-Length')) || 0;
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onBytes(bytes.byteLength);
    return bytes;
  }
  let bytes = new Uint8Array(declared);
  let at = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (at + value.byteLength > bytes.byteLength) {
      const grown = new Uint8Array(Math.max(at + value.byteLength, bytes.byteLength * 2));
      grown.set(bytes.subarray(0, at));
      bytes = grown;
    }
    bytes.set(value, at);
    at += value.byteLength;
    onBytes(value.byteLength);
  }
  return at === bytes.byteLength ? bytes : bytes.slice(0, at);
}

// A weight shard this site's service worker has cached, read from CacheStorage
// directly; else null. Through the service worker's fetch handler the same bytes
// arrive 3-4x slower (every chunk crosses its thread): on a return visit that was
// most of the time before the model could be built. Only a content-hashed name
// (`hashed`, the build's pattern) is looked up: a cached copy under that name is the
// right file whichever build cached it. The copy is verified like a download.
async function cachedShard(url, hashed) {
  if (!hashed.test(new URL(url).pathname)) return null;
  try {
    const hit = globalThis.caches ? await caches.match(url) : undefined;
    return hit && hit.ok ? hit : null;
  } catch {
    return null; // no CacheStorage here (an opaque origin, storage turned off)
  }
}

// Removes a shard's copy from every cache of this origin that holds one.
async function dropCached(url) {
  try {
    await Promise.all((await caches.keys()).map(async (name) => (await caches.open(name)).delete(url)));
  } catch {
    // nothing to drop: the fetch that follows goes through either way
  }
}

/**
 * Starts downloading the model (model.json and every shard at once: config.json lists
 * the shards with their sha256, so they need not wait for model.json; each shard is
 * verified against its sha256; a return visit reads the shards from the service
 * worker's cache), before TF.js is even loaded, so the download and
 * the runtime's start-up overlap. Returns `{url, files}`: `files` resolves to
 * `{json, shards: [ArrayBuffer]}` (shards in model.json's manifest order) or rejects
 * naming the file at fault. `base` is the page's URL (config URLs are relative to it);
 * `onProgress(fraction, bytes)` follows the download as it arrives, at most every
 * PROGRESS_INTERVAL_MS and once all is in (TF.js's own onProgress only moves when a whole
 * shard is done); `mark('download')` is called
 * once every file is in and verified.
 */
export function prefetchModel(config, { base, onProgress = () => {}, mark = () => {} }) {
  const modelUrl = new URL(config.modelUrl, base).href;
  const digests = expectedDigests(config, modelUrl);
  const hashed = new RegExp(config.hashedName);
  const urls = [...digests.keys()];
  const progress = urls.map(() => ({ loaded: 0, total: 0, finished: false }));
  let bytes = 0;
  let reportedAt = -Infinity;
  // Content-Length is the compressed size under Content-Encoding: the clamp and
  // `finished` keep that from overshooting.
  const report = () => {
    const now = performance.now();
    const all = progress.every(({ finished }) => finished);
    if (!all && now - reportedAt < PROGRESS_INTERVAL_MS) return;
    reportedAt = now;
    const done = progress.reduce((n, { loaded, total, finished }) =>
      n + (finished ? 1 : total > 0 ? Math.min(loaded / total, 1) : 0), 0);
    onProgress(done / Math.max(urls.length, 1), bytes);
  };
  const download = async (url, state) => {
    const read = async (response) => {
      checkNotHtml(response, url, WEIGHT_FILE);
      state.total = Number(response.headers.get('Content-Length')) || 0;
      const shard = await readShard(response, (n) => {
        state.loaded += n;
        bytes += n;
        report();
      });
      await verifyShard(url, shard, digests.get(url));
      return shard;
    };
    let shard = null;
    const cached = await cachedShard(url, hashed);
    if (cached) {
      // A cached copy that fails (a damaged disk cache) is dropped and fetched
      // again, so that one bad write does not break every later visit.
      shard = await read(cached).catch(async (err) => {
        console.warn(`browsernet: ${err.message}; fetching it again`);
        bytes -= state.loaded;
        state.loaded = 0;
        await dropCached(url);
        return null;
      });
    }
    shard ??= await read(await fetchFile(url, WEIGHT_FILE));
    state.finished = true;
    report();
    return shard.buffer;
  };
  const reads = new Map(urls.map((url, i) => [url, download(url, progress[i])]));
  // A failure is reported through `files` below (a shard model.json does not list is never awaited).
  for (const read of reads.values()) read.catch(() => {});
  const files = fetchModelJson(modelUrl).then(async (json) => {
    const shards = await Promise.all(shardPaths(json).map((path) => {
      const url = new URL(path, modelUrl).href;
      return reads.get(url) ?? Promise.reject(new Error(
        `${fileLabel(url)}: this weight shard is not listed in config.json's shardSha256, so it cannot be verified`));
    }));
    mark('download');
    return { json, shards };
  });
  files.catch(() => {}); // reported by loadClassifier(), not as an unhandled rejection
  return { url: modelUrl, files };
}
