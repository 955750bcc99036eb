// The evaluation loop: mean loss over the data (weighted by batch rows, as HF's); perplexity for
// language models; accuracy and F1 for classifiers: per sequence (logits [batch, classes], labels
// [batch]) or per token (logits [batch, seq, classes], labels [batch, seq], -100 skipped).
import { noGrad, tidy, type Tensor } from '../tensor/index.js';
import { getArchitecture, type ModelOutput, type ModelTask } from '../models/index.js';
import type { Module } from '../nn/index.js';
import { epochBatches, type Batch, type BatchSource } from './batches.js';
import { TrainingArgumentError } from './errors.js';
import { classificationMetrics, perplexity } from './metrics.js';

export type TrainableModel = Module & { forward(batch: Batch): ModelOutput };

/**
 * evalLoss; evalPerplexity for language models (and models peftjs does not know); evalAccuracy,
 * evalF1 (two classes) and evalF1Macro for sequence, image and token classifiers.
 */
export async function evaluateModel(model: TrainableModel, data: BatchSource<Batch>): Promise<Record<string, number>> {
  const task = modelTask(model);
  const perToken = task === 'token-classification';
  const wasTraining = model.training;
  model.eval();
  let lossSum = 0;
  let rows = 0;
  const predictions: number[] = [];
  const labels: number[] = [];
  let numClasses = 0;
  try {
    for await (const [, batch] of epochBatches(data, 0, 0, { seed: 0, shuffle: false })) {
      noGrad(() =>
        tidy(() => {
          const out = model.forward(batch);
          if (out.loss === undefined) throw new TrainingArgumentError('evaluation batches need labels: the model returned no loss');
          const n = out.logits.shape[0] ?? 1;
          lossSum += out.loss.item() * n;
          rows += n;
          const y = batch.labels as Tensor | undefined;
          const classified = perToken ? out.logits.ndim === 3 && y?.ndim === 2 : out.logits.ndim === 2 && y?.ndim === 1;
          if (classified) {
            numClasses = out.logits.shape[out.logits.ndim - 1]!;
            // Prompt learning puts its virtual tokens first: the labels are the last positions.
            const logits = perToken ? out.logits.narrow(1, out.logits.shape[1]! - y!.shape[1]!, y!.shape[1]!) : out.logits;
            const predicted = logits.argmax(-1).toFlatArray();
            y!.toFlatArray().forEach((label, i) => {
              if (label === -100) return;
              predictions.push(predicted[i]!);
              labels.push(label);
            });
          }
          return null;
        }),
      );
    }
  } finally {
    model.train(wasTraining);
  }
  if (rows === 0) throw new TrainingArgumentError('the evaluation data has no batch');
  const loss = lossSum / rows;
  const metrics: Record<string, number> = { evalLoss: loss };
  if (!isClassifier(task)) metrics.evalPerplexity = perplexity(loss);
  if (labels.length > 0) {
    for (const [k, v] of Object.entries(classificationMetrics(predictions, labels, numClasses))) metrics[`eval${k[0]!.toUpperCase()}${k.slice(1)}`] = v;
  }
  return metrics;
}

function isClassifier(task: ModelTask | null): boolean {
  return task === 'sequence-classification' || task === 'token-classification' || task === 'image-classification';
}

/** The task of the first registered model class inside `model` (a PeftModel wraps one); null for other modules. */
function modelTask(model: Module): ModelTask | null {
  for (const [, m] of model.namedModules()) {
    const entry = getArchitecture(m.constructor.name);
    if (entry !== undefined) return entry.task;
  }
  return null;
}
