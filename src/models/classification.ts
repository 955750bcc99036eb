// The losses of HF's classification heads (transformers' ForSequenceClassificationLoss and
// ForTokenClassification): problem_type picks MSE, cross-entropy or BCE-with-logits.
import { Tensor, crossEntropy, softplus, logicalAnd, logicalOr, DTypeError, IndexError, ShapeError, formatShape } from '../tensor/index.js';
import type { ProblemType } from '../io/index.js';

/** The config fields the losses read (every classification config has them). */
export interface ClassificationConfig {
  num_labels: number;
  problem_type: ProblemType | null;
}

/**
 * HF's rule where config.problem_type is unset: one label is regression, integer (int32/int64)
 * labels are one class per example, anything else (float or bool targets) is multi-label.
 */
export function problemTypeOf(config: ClassificationConfig, labels: Tensor): ProblemType {
  if (config.problem_type) return config.problem_type;
  if (config.num_labels === 1) return 'regression';
  return labels.dtype === 'int32' || labels.dtype === 'int64' ? 'single_label_classification' : 'multi_label_classification';
}

/** Loss of logits [batch, numLabels] against labels, as HF's sequence and image classifiers compute it. */
export function sequenceClassificationLoss(logits: Tensor, labels: Tensor, config: ClassificationConfig): Tensor {
  const [batch, numLabels] = logits.shape as [number, number];
  const logits32 = logits.to('float32');
  switch (problemTypeOf(config, labels)) {
    case 'regression': {
      // HF squeezes both sides when there is one label, so [batch] and [batch, 1] labels both fit.
      const [x, y] = numLabels === 1 ? [logits32.reshape([batch]), labels.reshape([-1])] : [logits32, labels];
      expectShape('regression', y, x.shape, 'float targets');
      return x.sub(y.to('float32')).square().mean();
    }
    case 'single_label_classification':
      expectShape('single-label classification', labels.reshape([-1]), [batch], 'one class index per example');
      return classIndexLoss(logits32, labels.reshape([batch]), numLabels);
    case 'multi_label_classification':
      expectShape('multi-label classification', labels, logits.shape, 'one 0/1 target per class');
      return bceWithLogits(logits32, labels.to('float32'));
  }
}

/** Cross-entropy of logits [batch, seq, numLabels] against labels [batch, seq]; -100 is ignored. */
export function tokenClassificationLoss(logits: Tensor, labels: Tensor): Tensor {
  const [batch, seq, numLabels] = logits.shape as [number, number, number];
  expectShape('token classification', labels, [batch, seq], 'one class index (or -100) per token');
  return classIndexLoss(logits.to('float32').reshape([batch * seq, numLabels]), labels.reshape([batch * seq]), numLabels);
}

/** Cross-entropy against class indices, checked to be classes or -100 before the kernel sees them. */
function classIndexLoss(logits: Tensor, targets: Tensor, numLabels: number): Tensor {
  if (targets.dtype !== 'int32' && targets.dtype !== 'int64') {
    throw new DTypeError(`classification labels must be int32 or int64 class indices, not ${targets.dtype}`);
  }
  const bad = logicalOr(logicalAnd(targets.lt(0), targets.ne(-100)), targets.ge(numLabels));
  if (bad.any().item()) {
    throw new IndexError(`classification labels must be class indices in [0, ${numLabels}) or -100 (ignored); got ${formatValues(targets)}`);
  }
  return crossEntropy(logits, targets, { ignoreIndex: -100 });
}

/** mean((1 - y)·x + log(1 + e^-x)): BCE of sigmoid(x) against y, stable for large |x|; gradient sigmoid(x) - y. */
function bceWithLogits(x: Tensor, y: Tensor): Tensor {
  return y.neg().add(1).mul(x).add(softplus(x.neg())).mean();
}

function expectShape(task: string, labels: Tensor, shape: readonly number[], what: string): void {
  if (labels.shape.join() !== shape.join()) {
    throw new ShapeError(`${task}: labels must be ${formatShape(shape)} (${what}), not ${formatShape(labels.shape)}`);
  }
}

function formatValues(t: Tensor): string {
  const values = t.toFlatArray();
  return `[${values.slice(0, 16).join(', ')}${values.length > 16 ? ', …' : ''}]`;
}
