// The model card's rows: what report.json says about the build, and what this page
// measured. Pure: no DOM, no TF.js.

import { formatBytes, formatMs } from './format.js';
import { choiceText } from './backend-probe.js';

/**
 * report.json's quantization section in a phrase: "none", "float16", "auto: 105 uint16, 1 float32 (99.0% top-1
 * agreement with float32)"; for a trained model, also the stored weights' accuracy on its test photos, which
 * the search did not see.
 */
export function quantizationText(q) {
  if (q === null || typeof q !== 'object') return String(q);
  const test = q.auto?.test;
  const tested = test && Number.isFinite(test.accuracy?.auto)
    ? `, ${percent(test.accuracy.auto)} test accuracy as stored, on ${photos(test.images)}` : '';
  const measured = q.auto && Number.isFinite(q.auto.agreement)
    ? ` (${(q.auto.agreement * 100).toFixed(1)}% top-1 agreement with float32${tested})` : '';
  return `${q.map}${measured}`;
}

function percent(x) {
  return Number.isFinite(x) ? `${(x * 100).toFixed(1).replace(/\.0$/, '')}%` : 'not measured';
}

/** " (95% confidence interval 36–92%)" for [0.359, 0.918]; '' without one (a report from before it was recorded). */
function intervalText(interval) {
  if (!Array.isArray(interval) || !interval.every(Number.isFinite)) return '';
  const [low, high] = interval.map((x) => Math.round(x * 100));
  return ` (95% confidence interval ${low}–${high}%)`;
}

function photos(n) {
  return `${n} photo${n === 1 ? '' : 's'}`;
}

/**
 * A `browsernet train` model's rows, from report.json's `training` section
 * (`{test_accuracy, test_accuracy_95ci, test_images, test_near_copies (test photos seen in training), train_images, per_class: {name: {precision, recall, support}}}`):
 * the test accuracy, then precision and recall per class. None for other models.
 */
export function trainingRows(training) {
  if (!training || typeof training !== 'object' || !training.per_class) return [];
  const copies = training.test_near_copies > 0
    ? `; optimistic: ${training.test_near_copies} of them were seen in training (a near-copy in training or validation, or a photo that trained the base)` : '';
  const rows = [['Test accuracy', `${percent(training.test_accuracy)}${intervalText(training.test_accuracy_95ci)} `
    + `on ${photos(training.test_images)} held out from training (${photos(training.train_images)} trained on)${copies}`]];
  for (const [name, m] of Object.entries(training.per_class)) {
    rows.push([`Class “${name}”`, `precision ${percent(m.precision)}, recall ${percent(m.recall)} `
      + `(${photos(m.support)} in the test split)`]);
  }
  return rows;
}

// The worker times the model alone: the image is decoded and resized before, and the first
// inference (the slow one, shown as such) is not in the median.
function latencyText({ medianMs, samples, runs = samples }) {
  if (medianMs === null || medianMs === undefined) return 'not measured yet';
  const over = runs > samples
    ? `the last ${samples} of ${runs} runs`
    : `${samples} run${samples === 1 ? '' : 's'}`;
  return `${formatMs(medianMs)} median on this device (${over} after the first; the model alone, `
    + 'not decoding and resizing the image)';
}

/**
 * The model card as [term, description] pairs, from report.json (or null when it
 * could not be read, with `reportError` saying why) and what this page measured:
 * `live` is `{backend, thread, warmupMs, medianMs, samples, runs, choice}` (`samples`: the
 * inferences the median is over, `runs`: all of them; `choice`: the measured backend
 * choice's state, as backend-probe.js's choiceText() reads it).
 */
export function modelCardRows(report, live, reportError = null) {
  const rows = [];
  if (report) {
    const family = { mobilenet_v1: 'MobileNet V1', mobilenet_v2: 'MobileNet V2', custom: 'custom Keras model' };
    const [h, w] = report.input_size || [];
    rows.push(['Family', family[report.family] || String(report.family)]);
    rows.push(['Alpha (width)', report.alpha === null || report.alpha === undefined ? 'not recorded (custom model)' : String(report.alpha)]);
    rows.push(['Input size', `${h}×${w} pixels, resized by ${report.resize === 'crop' ? 'centre crop' : 'squash'}`]);
    rows.push(['Parameters', Number(report.parameters).toLocaleString('en')]);
    rows.push(['Multiply-adds', `${(Number(report.multiply_adds) / 1e6).toLocaleString('en', { maximumFractionDigits: 1 })} M`]);
    rows.push(['Download size', `${formatBytes(report.model_bytes)} model, ${formatBytes(report.total_bytes)} site`]);
    rows.push(['Quantization', quantizationText(report.quantization)]);
    rows.push(...trainingRows(report.training));
  } else {
    rows.push(['Build report', `not available (${reportError || 'report.json could not be read'})`]);
  }
  rows.push(['Backend', live.backend ? `${live.backend}, ${live.thread === 'worker' ? 'in a Web Worker' : 'on the main thread'}` : 'not started']);
  rows.push(['First inference', formatMs(live.warmupMs)]);
  rows.push(['Inference time', latencyText(live)]);
  if (live.choice !== undefined) rows.push(['Backend choice', choiceText(live.choice)]);
  return rows;
}
