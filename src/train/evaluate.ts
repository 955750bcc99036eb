// The evaluation loop: mean loss over the data (weighted by batch rows, as HF's), perplexity, and
// for classification (logits [batch, classes] with labels [batch]) accuracy and F1.
import { noGrad, tidy, type Tensor } from '../tensor/index.js';
import type { ModelOutput } from '../models/index.js';
import type { Module } from '../nn/index.js';
import { epochBatches, type Batch, type BatchSource } from './batches.js';
import { TrainingArgumentError } from './errors.js';
import { classificationMetrics, perplexity } from './metrics.js';

export type TrainableModel = Module & { forward(batch: Batch): ModelOutput };

/** evalLoss, evalPerplexity, and evalAccuracy, evalF1 (two classes), evalF1Macro for classification. */
export async function evaluateModel(model: TrainableModel, data: BatchSource<Batch>): Promise<Record<string, number>> {
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
          if (out.logits.ndim === 2 && y !== undefined && y.ndim === 1) {
            numClasses = out.logits.shape[1]!;
            predictions.push(...out.logits.argmax(-1).toFlatArray());
            labels.push(...y.toFlatArray());
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
  const metrics: Record<string, number> = { evalLoss: loss, evalPerplexity: perplexity(loss) };
  if (labels.length > 0) {
    for (const [k, v] of Object.entries(classificationMetrics(predictions, labels, numClasses))) metrics[`eval${k[0]!.toUpperCase()}${k.slice(1)}`] = v;
  }
  return metrics;
}
