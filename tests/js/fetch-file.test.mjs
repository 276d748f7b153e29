// Unit tests for fetching the site's own files (templates/js/fetch-file.js), run by `node --test`
// against a real HTTP server that answers like a single-page-app host.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';

import { checkNotHtml, fetchFile, isHtml } from '../../templates/js/fetch-file.js';

let server;
let base;

before(async () => {
  server = createServer((request, response) => {
    if (request.url === '/site/model/model.json') {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.end('{}');
    } else if (request.url.startsWith('/site/')) {
      // Every other path: the site's index.html, with 200, as SPA hosts answer.
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      response.end('<!doctype html><title>site</title>');
    } else {
      response.writeHead(404, { 'Content-Type': 'text/html' });
      response.end('<h1>Not found</h1>');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}/site/`;
});

after(() => server.close());

test('a file that is there is fetched', async () => {
  const response = await fetchFile(new URL('model/model.json', base).href, 'the model file');
  assert.deepEqual(await response.json(), {});
});

test("an HTML page in a file's place is refused, naming the file", async () => {
  const url = new URL('model/group1-shard1of2.0123456789ab.bin', base).href;
  await assert.rejects(fetchFile(url, 'the weight file'),
    /^Error: model\/group1-shard1of2\.0123456789ab\.bin: the server sent an HTML page instead of the weight file \(HTTP 200, text\/html; charset=utf-8\)/);
});

test('an HTTP error names the file and the status; an unreachable host says so', async () => {
  const outside = new URL('/elsewhere/config.json', base).href;
  await assert.rejects(fetchFile(outside, 'the configuration', { label: 'config.json' }), /^Error: config\.json: HTTP 404 Not Found$/);
  await assert.rejects(fetchFile('http://127.0.0.1:9/model/model.json', 'the model file'), /model\/model\.json: could not be fetched/);
});

test('HTML is recognised by its type, whatever the parameters', () => {
  const html = new Response('x', { headers: { 'Content-Type': 'TEXT/HTML;charset=UTF-8' } });
  const binary = new Response('x', { headers: { 'Content-Type': 'application/octet-stream' } });
  assert.equal(isHtml(html), true);
  assert.equal(isHtml(binary), false);
  assert.equal(checkNotHtml(binary, 'http://h/model/a.bin', 'the weight file'), binary);
});
