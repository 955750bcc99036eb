// A checkpoint without the head a task class needs (saved from a base model, from another head,
// or with its classifier dropped) loads as in HF transformers: the body from the checkpoint, the
// head initialised anew (normal(0, initializer_range) weights, zero biases) and reported; any
// other missing weight is still an error that lists them all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  AutoModelForImageClassification, AutoModelForSequenceClassification, AutoModelForTokenClassification, BertForSequenceClassification,
  BertForTokenClassification, RobertaForSequenceClassification, RobertaForTokenClassification, ViTForImageClassification,
  loadPretrained, loadSafetensors, manualSeed, renameViTKey, randn, ShapeError, StateDictError, ValueError,
  type FromPretrainedOptions, type ModelTask, type PretrainedModel, type Tensor,
} from '../../src/index.js';
import { FIXTURES, loadCase, maxAbsDiff, modelInputs } from '../helpers/parity.js';
import { derivedCheckpoint, recordingLogger } from './derived-checkpoint.js';

const INITIALIZER_RANGE = 0.02;
const isClassifier = (key: string) => key.startsWith('classifier.');

async function checkpointOf(dir: string): Promise<Map<string, Tensor>> {
  return (await loadSafetensors(join(dir, 'model.safetensors'))).tensors;
}

/** Loads `dir` for `task` with a recording logger; the model, its newly initialised names, the warnings. */
async function load(dir: string, task: ModelTask, options = {}) {
  const logger = recordingLogger();
  manualSeed(0);
  const { model, newlyInitialized } = await loadPretrained(dir, task, { ...options, logger });
  return { model: model as PretrainedModel, newlyInitialized, warnings: logger.messages };
}

/** Every checkpoint tensor sits, unchanged, at its path in the model (`toPath` maps checkpoint names to ours). */
function assertBodyFromCheckpoint(model: PretrainedModel, checkpoint: Map<string, Tensor>, toPath: (key: string) => string): void {
  const state = model.stateDict();
  for (const [key, value] of checkpoint) {
    const param = state.get(toPath(key));
    assert.ok(param, `${key} has no place in ${model.constructor.name}`);
    assert.equal(maxAbsDiff(param, value), 0, `${key} is not the checkpoint's`);
  }
}

/** Weights drawn from normal(0, initializer_range), biases zero, as HF initialises a new Linear. */
function assertFreshlyInitialised(model: PretrainedModel, names: string[], shapes: Record<string, number[]>): void {
  const state = model.stateDict();
  for (const name of names) {
    const p = state.get(name)!;
    assert.deepEqual(p.shape, shapes[name], `${name} shape`);
    const values = p.toFlatArray();
    if (name.endsWith('.bias')) {
      assert.ok(values.every((v) => v === 0), `${name} is not zero`);
      continue;
    }
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
    // The sample std of n normal draws is within ±4·σ/√(2n) of σ (n ≥ 64 here).
    const tolerance = (4 * INITIALIZER_RANGE) / Math.sqrt(2 * values.length);
    assert.ok(Math.abs(std - INITIALIZER_RANGE) < tolerance, `${name}: std ${std}, expected ${INITIALIZER_RANGE} ± ${tolerance}`);
    assert.ok(Math.abs(mean) < (4 * INITIALIZER_RANGE) / Math.sqrt(values.length), `${name}: mean ${mean}`);
  }
}

test('bert: a BertForMaskedLM checkpoint (no pooler, no classifier) loads for sequence classification', async (t) => {
  const dir = await derivedCheckpoint(t, 'bert', {
    keep: (k) => !isClassifier(k) && !k.startsWith('bert.pooler.'),
    add: { 'cls.predictions.bias': randn([320]) },
    config: { architectures: ['BertForMaskedLM'] },
  });
  const { model, newlyInitialized, warnings } = await load(dir, 'sequence-classification');
  assert.ok(model instanceof BertForSequenceClassification, `got ${model.constructor.name}`);
  const fresh = ['bert.pooler.dense.bias', 'bert.pooler.dense.weight', 'classifier.bias', 'classifier.weight'];
  assert.deepEqual(newlyInitialized, fresh);
  const checkpoint = await checkpointOf(dir);
  checkpoint.delete('cls.predictions.bias');
  assertBodyFromCheckpoint(model, checkpoint, (k) => k);
  // num_labels comes from config.json's id2label (3 labels).
  assertFreshlyInitialised(model, fresh, {
    'bert.pooler.dense.weight': [32, 32], 'bert.pooler.dense.bias': [32], 'classifier.weight': [3, 32], 'classifier.bias': [3],
  });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /^Some weights of BertForSequenceClassification were not initialized from the model checkpoint/);
  for (const name of fresh) assert.ok(warnings[0]!.includes(name), `${name} named in the warning`);

  const { inputs } = await loadCase(join(FIXTURES, 'bert'));
  assert.deepEqual(model.forward(modelInputs(inputs)).logits.shape, [2, 3]);
});

test('bert: a BertModel checkpoint (keys without the bert. prefix) loads with a head for numLabels', async (t) => {
  const dir = await derivedCheckpoint(t, 'bert', {
    keep: (k) => !isClassifier(k),
    rename: (k) => k.replace(/^bert\./, ''),
    config: { architectures: ['BertModel'] },
  });
  const checkpoint = await checkpointOf(dir);
  const { model, newlyInitialized } = await load(dir, 'sequence-classification', { numLabels: 5 });
  assert.deepEqual(newlyInitialized, ['classifier.bias', 'classifier.weight']);
  assertBodyFromCheckpoint(model, checkpoint, (k) => `bert.${k}`);
  assertFreshlyInitialised(model, newlyInitialized, { 'classifier.weight': [5, 32], 'classifier.bias': [5] });
  assert.equal(model.config.num_labels, 5);
  assert.deepEqual(model.config.id2label, { 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2', 3: 'LABEL_3', 4: 'LABEL_4' });

  // The token head skips the checkpoint's pooler, which it has no place for.
  const token = await load(dir, 'token-classification');
  assert.ok(token.model instanceof BertForTokenClassification);
  assert.deepEqual(token.newlyInitialized, ['classifier.bias', 'classifier.weight']);
  assertFreshlyInitialised(token.model, token.newlyInitialized, { 'classifier.weight': [3, 32], 'classifier.bias': [3] });
});

test('roberta: a RobertaModel checkpoint gets RoBERTa\'s two-layer head, for the labels id2label names', async (t) => {
  const dir = await derivedCheckpoint(t, 'roberta', {
    keep: (k) => !isClassifier(k),
    rename: (k) => k.replace(/^roberta\./, ''),
    config: { architectures: ['RobertaModel'] },
  });
  const checkpoint = await checkpointOf(dir);
  const { model, newlyInitialized } = await load(dir, 'sequence-classification', { id2label: { 0: 'negative', 1: 'positive' } });
  assert.ok(model instanceof RobertaForSequenceClassification, `got ${model.constructor.name}`);
  const fresh = ['classifier.dense.bias', 'classifier.dense.weight', 'classifier.out_proj.bias', 'classifier.out_proj.weight'];
  assert.deepEqual(newlyInitialized, fresh);
  assertBodyFromCheckpoint(model, checkpoint, (k) => `roberta.${k}`);
  assertFreshlyInitialised(model, fresh, {
    'classifier.dense.weight': [32, 32], 'classifier.dense.bias': [32], 'classifier.out_proj.weight': [2, 32], 'classifier.out_proj.bias': [2],
  });
  assert.deepEqual(model.config.label2id, { negative: 0, positive: 1 });
  assert.equal(model.config.num_labels, 2);
});

test('roberta: the sequence checkpoint loads for token classification, its sequence head skipped', async () => {
  const dir = join(FIXTURES, 'roberta');
  const { model, newlyInitialized } = await load(dir, 'token-classification');
  assert.ok(model instanceof RobertaForTokenClassification, `got ${model.constructor.name}`);
  assert.deepEqual(newlyInitialized, ['classifier.bias', 'classifier.weight']);
  const checkpoint = await checkpointOf(dir);
  assertBodyFromCheckpoint(model, new Map([...checkpoint].filter(([k]) => !isClassifier(k))), (k) => k);
});

test('vit: a checkpoint without its classifier loads for image classification', async (t) => {
  const dir = await derivedCheckpoint(t, 'vit', { keep: (k) => !isClassifier(k), config: { architectures: ['ViTModel'] } });
  const { model, newlyInitialized } = await load(dir, 'image-classification');
  assert.ok(model instanceof ViTForImageClassification, `got ${model.constructor.name}`);
  assert.deepEqual(newlyInitialized, ['classifier.bias', 'classifier.weight']);
  assertBodyFromCheckpoint(model, await checkpointOf(dir), renameViTKey);
  const classes = model.config.num_labels;
  const hidden = (model as ViTForImageClassification).config.hidden_size;
  assertFreshlyInitialised(model, newlyInitialized, { 'classifier.weight': [classes, hidden], 'classifier.bias': [classes] });
});

test('the Auto classes load a headless checkpoint and warn through options.logger', async (t) => {
  const dir = await derivedCheckpoint(t, 'vit', { keep: (k) => !isClassifier(k) });
  const logger = recordingLogger();
  const model = await AutoModelForImageClassification.fromPretrained(dir, { logger });
  assert.ok(model instanceof ViTForImageClassification);
  assert.equal(logger.messages.length, 1);
  assert.match(logger.messages[0]!, /ViTForImageClassification .* newly initialized: \[classifier\.bias, classifier\.weight\]/);
  // A checkpoint with its head: nothing to report.
  const quiet = recordingLogger();
  await AutoModelForSequenceClassification.fromPretrained(join(FIXTURES, 'bert'), { logger: quiet });
  assert.deepEqual(quiet.messages, []);
});

test('a checkpoint missing body weights is still an error that lists every one of them (and not the head)', async (t) => {
  const lost = ['bert.embeddings.LayerNorm.bias', 'bert.encoder.layer.0.attention.self.query.weight'];
  const dir = await derivedCheckpoint(t, 'bert', { keep: (k) => !isClassifier(k) && !lost.includes(k) });
  for (const auto of [AutoModelForSequenceClassification, AutoModelForTokenClassification]) {
    const error = await auto.fromPretrained(dir, { logger: recordingLogger() }).then(() => null, (e: unknown) => e);
    assert.ok(error instanceof StateDictError, String(error));
    assert.deepEqual([...error.missingKeys].sort(), lost);
    for (const key of lost) assert.ok(error.message.includes(key), `${key} named in: ${error.message}`);
    assert.ok(!error.message.includes('classifier'), error.message);
  }
});

test('a head trained for other labels is a ShapeError, or starts anew with ignoreMismatchedSizes', async () => {
  const dir = join(FIXTURES, 'bert');
  const error = await load(dir, 'sequence-classification', { numLabels: 5 }).then(() => null, (e: unknown) => e);
  assert.ok(error instanceof ShapeError, String(error));
  assert.match(error.message, /classifier\.weight: checkpoint \[3, 32\] vs model \[5, 32\].*ignoreMismatchedSizes/);
  const { model, newlyInitialized } = await load(dir, 'sequence-classification', { numLabels: 5, ignoreMismatchedSizes: true });
  assert.deepEqual(newlyInitialized, ['classifier.bias', 'classifier.weight']);
  assertFreshlyInitialised(model, newlyInitialized, { 'classifier.weight': [5, 32], 'classifier.bias': [5] });
  assertBodyFromCheckpoint(model, new Map([...(await checkpointOf(dir))].filter(([k]) => !isClassifier(k))), (k) => k);
});

test('numLabels and id2label options are checked', async () => {
  const dir = join(FIXTURES, 'bert');
  const bad: FromPretrainedOptions[] = [{ numLabels: 0 }, { numLabels: 2.5 }, { numLabels: 3, id2label: { 0: 'a', 1: 'b' } }, { id2label: { 0: 'a', 2: 'b' } }, { id2label: {} }];
  for (const options of bad) {
    await assert.rejects(AutoModelForSequenceClassification.fromPretrained(dir, options), ValueError, JSON.stringify(options));
  }
});
