// The site's config.json: fetched, checked and normalised. It is written by the build
// (builder/build.py, builder/site/render.py) and is the page's only source for what
// the build knows: the model's labels and input, the weight shards' sha256, the
// pattern of content-hashed file names and where the WASM binaries are.

import { fetchFile } from './fetch-file.js';
import { PREPROCESS } from './preprocessing.js';
import { RESIZE_RULES } from './resize.js';

const CONFIG_FILE = 'config.json';

/** Fetches and validates config.json (relative to `base`, the page's URL). */
export async function loadConfig(base = document.baseURI) {
  const url = new URL(CONFIG_FILE, base).href;
  const response = await fetchFile(url, "the site's configuration", { init: { cache: 'no-cache' }, label: CONFIG_FILE });
  let raw;
  try {
    raw = await response.json();
  } catch (err) {
    throw new Error(`${CONFIG_FILE}: not valid JSON (${err.message})`, { cause: err });
  }
  return validateConfig(raw);
}

function isPositiveInt(n) {
  return Number.isInteger(n) && n > 0;
}

// Only same-site, relative URLs: the site must make no third-party requests.
function isRelativeUrl(url) {
  return typeof url === 'string' && url !== '' && !/^([a-z][a-z0-9+.-]*:|\/)/i.test(url);
}

function isPattern(source) {
  if (typeof source !== 'string' || source === '') return false;
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Checks config.json's shape and returns a normalised, frozen copy. Collects every
 * problem and reports them together, so one reload shows all of them.
 */
export function validateConfig(raw) {
  if (!isPlainObject(raw)) {
    throw new Error(`${CONFIG_FILE}: expected a JSON object`);
  }
  const problems = [];
  const { labels, inputSize, preprocess, topK: k, modelUrl, resize = 'squash', shardSha256, hashedName, wasmFiles } = raw;
  if (!Array.isArray(labels) || labels.length === 0 || !labels.every((l) => typeof l === 'string')) {
    problems.push('"labels" must be a non-empty list of strings');
  }
  if (!Array.isArray(inputSize) || inputSize.length !== 2 || !inputSize.every(isPositiveInt)) {
    problems.push('"inputSize" must be [height, width] in whole pixels');
  }
  if (!Object.hasOwn(PREPROCESS, preprocess)) {
    problems.push(`"preprocess" must be one of ${Object.keys(PREPROCESS).join(', ')}`);
  }
  if (!isPositiveInt(k)) {
    problems.push('"topK" must be a positive integer');
  }
  if (!RESIZE_RULES.includes(resize)) {
    problems.push(`"resize" must be one of ${RESIZE_RULES.join(', ')}`);
  }
  // The page refuses weights it cannot verify: a site without digests is not one this build wrote.
  if (!isPlainObject(shardSha256) ||
      !Object.values(shardSha256).every((d) => typeof d === 'string' && /^[0-9a-f]{64}$/.test(d))) {
    problems.push('"shardSha256" must map each weight shard to its sha256 (64 hex digits)');
  }
  if (!isRelativeUrl(modelUrl)) {
    problems.push('"modelUrl" must be a relative URL such as "model/model.json"');
  }
  if (!isPattern(hashedName)) {
    problems.push('"hashedName" must be the regular expression that content-hashed file names match');
  }
  if (!isPlainObject(wasmFiles) || Object.keys(wasmFiles).length === 0 || !Object.values(wasmFiles).every(isRelativeUrl)) {
    problems.push('"wasmFiles" must map each WASM binary\'s name to its relative URL');
  }
  if (problems.length > 0) {
    throw new Error(`${CONFIG_FILE}: ${problems.join('; ')}`);
  }
  return Object.freeze({
    title: typeof raw.title === 'string' ? raw.title : '',
    version: typeof raw.version === 'string' ? raw.version : '',
    labels: Object.freeze([...labels]),
    inputSize: Object.freeze([inputSize[0], inputSize[1]]),
    preprocess,
    topK: k,
    resize,
    modelUrl,
    shardSha256: Object.freeze({ ...shardSha256 }),
    // A RegExp source (a string, so that the config can be posted to the worker).
    hashedName,
    wasmFiles: Object.freeze({ ...wasmFiles }),
    // Bytes of all weight shards (for "3.2 MB of 9.1 MB"); absent in older builds.
    modelBytes: Number.isSafeInteger(raw.modelBytes) && raw.modelBytes >= 0 ? raw.modelBytes : null,
    wasmThreads: raw.wasmThreads === 'auto' || (Number.isInteger(raw.wasmThreads) && raw.wasmThreads >= 1)
      ? raw.wasmThreads : 1,
  });
}
