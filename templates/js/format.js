// Numbers and names as the page shows them to people. Pure: no DOM, no TF.js.

/** A file as error messages name it: its folder and name ("model/model.json"), from an absolute URL. */
export function fileLabel(url) {
  return new URL(url).pathname.split('/').slice(-2).join('/');
}

/** "12.3 MB", "950 KB", "800 B" (powers of 1000, as the build's summary). */
export function formatBytes(n) {
  if (!Number.isFinite(n)) return 'unknown';
  if (n < 1000) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(0)} KB`;
  return `${(n / 1e6).toFixed(1)} MB`;
}

/** Download progress as people read it: "3.2 MB of 9.1 MB" (never more than the total). */
export function downloadText(loaded, total) {
  return `${formatBytes(Math.min(loaded, total))} of ${formatBytes(total)}`;
}

/** "12.3 ms", "120 ms", or "not measured yet" for null. */
export function formatMs(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return 'not measured yet';
  return ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`;
}

/** Formats a probability for display: one decimal, never a misleading "0.0%". */
export function formatPercent(p) {
  const pct = p * 100;
  if (pct > 0 && pct < 0.1) return '<0.1%';
  if (pct < 100 && pct >= 99.95) return '>99.9%'; // not a misleading 100.0% either: the model is not certain
  return `${pct.toFixed(1)}%`;
}
