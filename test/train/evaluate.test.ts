// The evaluation loop's metrics follow the model's task: perplexity for language models; accuracy
// and F1 for sequence classifiers and, over the labelled tokens only, for token classifiers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AutoModelForSequenceClassification, AutoModelForTokenClassification, getPeftModel, noGrad, tensor } from '../../src/index.js';
import { accuracy, evaluateModel, type Batch } from '../../src/train/index.js';
import { FIXTURES } from '../helpers/parity.js';
import { loraLlama, tokenBatches } from './helpers.js';

const ids = tensor([[5, 9, 13, 2, 7, 1], [3, 8, 4, 6, 11, 12]], [2, 6], 'int64');

test('a language model: loss and perplexity, no classification metrics', async () => {
  const metrics = await evaluateModel(await loraLlama(0), tokenBatches(2, 2));
  assert.deepEqual(Object.keys(metrics).sort(), ['evalLoss', 'evalPerplexity']);
  assert.ok(Math.abs(metrics.evalPerplexity! - Math.exp(metrics.evalLoss!)) < 1e-12);
});

test('a token classifier (through a PeftModel): accuracy over the labelled tokens, -100 skipped; no perplexity', async () => {
  const model = await AutoModelForTokenClassification.fromPretrained(join(FIXTURES, 'bert'));
  const peft = getPeftModel(model, { peftType: 'LORA', r: 2, targetModules: ['query'], taskType: 'TOKEN_CLS' });
  const labels = tensor([[0, 1, -100, 2, 0, -100], [1, 1, 2, -100, 0, 0]], [2, 6], 'int64');
  const batch: Batch = { inputIds: ids, labels };
  const metrics = await evaluateModel(peft, [batch]);
  assert.equal(metrics.evalPerplexity, undefined);
  const predicted = noGrad(() => peft.forward({ inputIds: ids }).logits.argmax(-1).toFlatArray());
  const kept = labels.toFlatArray().map((l, i) => [predicted[i]!, l] as const).filter(([, l]) => l !== -100);
  assert.equal(kept.length, 9);
  assert.equal(metrics.evalAccuracy, accuracy(kept.map(([p]) => p), kept.map(([, l]) => l)));
  assert.ok(metrics.evalF1Macro !== undefined && metrics.evalF1 === undefined, 'three classes: macro F1 only');
});

test('a sequence classifier: accuracy and F1, no perplexity', async () => {
  const model = await AutoModelForSequenceClassification.fromPretrained(join(FIXTURES, 'bert'));
  const metrics = await evaluateModel(model, [{ inputIds: ids, labels: tensor([0, 2], [2], 'int64') }]);
  assert.equal(metrics.evalPerplexity, undefined);
  assert.ok(metrics.evalAccuracy !== undefined && metrics.evalF1Macro !== undefined);
});
