// Evaluation metrics: perplexity from a mean loss, and accuracy and F1 over class predictions.

/** exp(mean token loss); Infinity when that overflows. */
export function perplexity(meanLoss: number): number {
  return Math.exp(meanLoss);
}

/** Fraction of predictions equal to their labels (NaN for none). */
export function accuracy(predictions: readonly number[], labels: readonly number[]): number {
  let right = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) right++;
  return right / labels.length;
}

/** F1 of one class: 2·TP / (2·TP + FP + FN), 0 when the class never appears (sklearn's zero_division=0). */
export function f1ForClass(predictions: readonly number[], labels: readonly number[], positive: number): number {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const predicted = predictions[i] === positive;
    const actual = labels[i] === positive;
    if (predicted && actual) tp++;
    else if (predicted) fp++;
    else if (actual) fn++;
  }
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

/** Binary F1 of class 1 (sklearn's f1_score, average='binary'). */
export function f1Binary(predictions: readonly number[], labels: readonly number[]): number {
  return f1ForClass(predictions, labels, 1);
}

/** Unweighted mean of the per-class F1 over every class seen in labels or predictions (average='macro'). */
export function f1Macro(predictions: readonly number[], labels: readonly number[]): number {
  const classes = [...new Set([...labels, ...predictions])];
  return classes.reduce((s, c) => s + f1ForClass(predictions, labels, c), 0) / classes.length;
}

/** The classification metrics the Trainer reports: accuracy, F1 (binary when two classes) and macro F1. */
export function classificationMetrics(predictions: readonly number[], labels: readonly number[], numClasses: number): Record<string, number> {
  const out: Record<string, number> = { accuracy: accuracy(predictions, labels), f1Macro: f1Macro(predictions, labels) };
  if (numClasses === 2) out.f1 = f1Binary(predictions, labels);
  return out;
}
