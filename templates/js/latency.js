// What the page measures of its inferences, in bounded memory: a camera left running
// for hours keeps the same few hundred numbers, and reading the median costs the same
// after the millionth image as after the first. Pure: no DOM, no TF.js.

/** Inferences kept: the `inferences` of stats() and the window the median is taken over. */
export const WINDOW = 200;

/** The median of a list of numbers (null for an empty list). */
export function median(values) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return middle(sorted);
}

function middle(sorted) {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// The first index in `sorted` (ascending) whose value is not below x.
function bisect(sorted, x) {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A log of the last `size` inferences: `record({start, end, ms, first})` adds one (times
 * in ms; `start`/`end` on the shared clock; `first`: the model's first inference, which
 * is kept but left out of the median, as the slow one it is), `medianMs` is the running
 * median of the others' `ms` (null before one), `samples` how many it is over (at most
 * `size`), `runs` how many of those were ever recorded, and `inferences()` copies of the
 * kept ones, oldest first. Each record() costs O(size) at worst (one insertion into a
 * sorted window), never a sort.
 */
export function createInferenceLog(size = WINDOW) {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`window must be a positive integer, got ${size}`);
  const kept = []; // oldest first
  const sorted = []; // the kept ms, ascending
  let runs = 0;
  return {
    record({ start, end, ms, first = false }) {
      if (!Number.isFinite(ms)) throw new TypeError(`an inference's ms must be a number, got ${ms}`);
      kept.push({ start, end, ms, first: Boolean(first) });
      if (!first) {
        runs += 1;
        sorted.splice(bisect(sorted, ms), 0, ms);
      }
      if (kept.length > size) {
        const oldest = kept.shift();
        if (!oldest.first) sorted.splice(bisect(sorted, oldest.ms), 1);
      }
    },
    get medianMs() {
      return sorted.length === 0 ? null : middle(sorted);
    },
    get samples() {
      return sorted.length;
    },
    get runs() {
      return runs;
    },
    inferences() {
      return kept.map((t) => ({ ...t }));
    },
  };
}
