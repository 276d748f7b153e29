// Builds the site's TF.js runtime (`make setup`): node builder/site/runtime/build.mjs OUTFILE
//
// Also writes WEBGPU_BUNDLE beside OUTFILE: the WebGPU backend (webgpu.mjs), which only
// devices with a WebGPU adapter load, after OUTFILE.
//
// One ES2017 IIFE (no eval, so it runs under the page's CSP) that sets globalThis.tf,
// bundled from global.mjs by the esbuild pinned in package.json. Two changes to what
// TF.js ships, both at bundle time and both checked here, so a TF.js upgrade that
// moves them fails the build instead of quietly undoing them:
//  - tfjs-layers imports every op's gradient, for training. A site only runs
//    inference, so that module is swapped for no-gradients.mjs.
//  - The threaded WASM glue starts a fixed pool of 8 helper workers before the
//    backend is ready, whatever thread count TF.js is given. Each one parses the glue
//    and instantiates the module: about 30 ms apiece on a 2-core machine, most of a
//    return visit's backend start. The pool size becomes globalThis's
//    BROWSERNET_WASM_POOL when a page sets it (runtime.js sets threads - 1, the
//    helpers XNNPACK's thread pool asks for), else TF.js's 8.
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const outfile = process.argv[2];
if (!outfile) {
  console.error('usage: node builder/site/runtime/build.mjs OUTFILE');
  process.exit(2);
}

const POOL = 'initMainThread:function(){var pthreadPoolSize=8;';
const POOL_SIZED = 'initMainThread:function(){var pthreadPoolSize=globalThis.BROWSERNET_WASM_POOL>=0?globalThis.BROWSERNET_WASM_POOL:8;';

function replaceOnce(text, from, to, where) {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) {
    throw new Error(`${where}: expected exactly one "${from}" (has TF.js changed?)`);
  }
  return text.slice(0, at) + to + text.slice(at + from.length);
}

const sizedPthreadPool = {
  name: 'sized-pthread-pool',
  setup(build) {
    let patched = 0;
    build.onLoad({ filter: /tfjs-backend-wasm-threaded-simd\.js$/ }, async ({ path }) => {
      patched += 1;
      return { contents: replaceOnce(await readFile(path, 'utf8'), POOL, POOL_SIZED, path), loader: 'js' };
    });
    build.onEnd((result) => {
      if (result.errors.length === 0 && patched !== 1) {
        throw new Error(`the threaded WASM glue was bundled ${patched} times, expected once`);
      }
    });
  },
};

// Both scripts: one IIFE each (no eval, so they run under the page's CSP), ES2017 like TF.js's own builds.
const script = {
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2017',
  minify: true,
  legalComments: 'eof',
  logLevel: 'warning',
};

await esbuild.build({
  ...script,
  entryPoints: [join(here, 'global.mjs')],
  alias: { '@tensorflow/tfjs-core/dist/register_all_gradients': join(here, 'no-gradients.mjs') },
  plugins: [sizedPthreadPool],
  outfile,
});

// The WebGPU script carries its own copy of tfjs-core, whose browser platform would
// set itself up a second time on the shared engine ("Platform browser has already
// been set" in every visitor's console). The main bundle has set it up already.
const platformOnce = {
  name: 'platform-once',
  setup(build) {
    build.onLoad({ filter: /tfjs-core[\\/]dist[\\/]platforms[\\/]platform_browser\.js$/ }, async ({ path }) => ({
      contents: replaceOnce(await readFile(path, 'utf8'), "if (env().get('IS_BROWSER')) {", 'if (false) {', path),
      loader: 'js',
    }));
  },
};

export const WEBGPU_BUNDLE = 'tf-backend-webgpu.es2017.min.js';
if (basename(outfile) !== WEBGPU_BUNDLE) {
  await esbuild.build({
    ...script,
    entryPoints: [join(here, 'webgpu.mjs')],
    plugins: [platformOnce],
    outfile: join(dirname(outfile), WEBGPU_BUNDLE),
  });
}
