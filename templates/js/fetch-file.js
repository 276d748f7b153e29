// Fetching one of the site's own files: its response, or an error that names the
// file and says what went wrong (unreachable, an HTTP error, or an HTML page in its
// place). No DOM: runs on the page and in the worker.

import { fileLabel } from './format.js';

/** Whether a response is an HTML page (by its Content-Type). */
export function isHtml(response) {
  const type = (response.headers.get('Content-Type') || '').split(';')[0].trim().toLowerCase();
  return type === 'text/html' || type === 'application/xhtml+xml';
}

/**
 * Throws unless `response` can be the file at `url`: a host that answers a missing
 * path with its index.html (as single-page-app hosts do: 200, text/html) must never
 * have that page read as `what` ("the weight file", ...).
 */
export function checkNotHtml(response, url, what, label = fileLabel(url)) {
  if (isHtml(response)) {
    throw new Error(`${label}: the server sent an HTML page instead of ${what} ` +
      `(HTTP ${response.status}, ${response.headers.get('Content-Type')}); the file is probably missing ` +
      'from the deploy and the host answered with its fallback page: redeploy the whole site folder');
  }
  return response;
}

/**
 * `fetch(url, init)` that resolves only to a usable response for `what`: a failed
 * request's body (an HTML 404 page, a host's fallback page) is never read as the file.
 * Errors start with `label` (default: the file's folder and name).
 */
export async function fetchFile(url, what, { init, label = fileLabel(url) } = {}) {
  let response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    throw new Error(`${label}: could not be fetched (${err.message})`, { cause: err });
  }
  if (!response.ok) {
    throw new Error(`${label}: HTTP ${response.status} ${response.statusText}`.trim());
  }
  return checkNotHtml(response, url, what, label);
}
