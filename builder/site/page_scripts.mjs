// Bundles the page's own scripts (`make setup`): node builder/site/page_scripts.mjs OUTDIR
//
// templates/js keeps them as small ES modules (the JS unit tests import them one by one).
// A site gets them bundled by the esbuild pinned in package.json: a return visit asked for
// 35 modules, each through the service worker's cache in the browser process, three import
// levels deep in the worker, and that queue was most of the time before the inference worker
// started (docs/performance.md, "Warm navigation").
//  - The page: its two entry modules (early-worker.js, boot.js) with code splitting, so the
//    module they share (early-worker.js's state, which engine.js adopts) is one chunk, and
//    what boot.js imports dynamically (offline.js, app.js) stays a chunk of its own.
//  - The inference worker: worker.js and all it imports, one file.
// Entry names stay as they are (index.html's <script> tags, `new URL('./worker.js',
// import.meta.url)`); chunks are named after their first module plus a content hash.
// Nothing is minified: the page's code stays readable in the browser's source view.
// The output is written beside OUTDIR and renamed into place, so a failed run leaves none.
import { rm, rename } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const outdir = process.argv[2] && resolve(process.argv[2]);
if (!outdir) {
  console.error('usage: node builder/site/page_scripts.mjs OUTDIR');
  process.exit(2);
}

const scratch = `${outdir}.partial`;
await rm(scratch, { recursive: true, force: true });
const common = {
  absWorkingDir: root, // the bundles' path comments are project-relative: the same bytes on any machine
  bundle: true,
  format: 'esm',
  platform: 'browser',
  charset: 'utf8',
  logLevel: 'warning',
  outdir: scratch,
};
await esbuild.build({
  ...common,
  entryPoints: ['templates/js/early-worker.js', 'templates/js/boot.js'],
  splitting: true,
  chunkNames: '[name]-[hash]',
});
await esbuild.build({ ...common, entryPoints: ['templates/js/worker.js'] });
await rm(outdir, { recursive: true, force: true });
await rename(scratch, outdir);
console.log(`page scripts bundled into ${join(outdir)}`);
