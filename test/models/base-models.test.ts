// AutoModel returns the family's base model, as transformers' AutoModel does: BertModel,
// RobertaModel, ViTModel, GPT2Model, LlamaModel, T5Model, with lastHiddenState and poolerOutput instead of logits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  AutoModel, AutoModelForImageClassification, AutoModelForSequenceClassification, BertModel, BertForSequenceClassification,
  RobertaModel, ViTModel, loadPretrained, GPT2Model, LlamaModel, AutoModelForCausalLM, AutoModelForSeq2SeqLM, T5Model, UnknownArchitectureError,
  type T5ForConditionalGeneration,
} from '../../src/index.js';
import { FIXTURES, loadCase, maxAbsDiff, modelInputs } from '../helpers/parity.js';
import { derivedCheckpoint, recordingLogger } from './derived-checkpoint.js';

const CASES = [
  // The BERT checkpoint has a pooler (BertForSequenceClassification reads it); RoBERTa's and ViT's
  // classifiers have none, so their base models' poolers start anew, as in HF.
  { name: 'bert', cls: BertModel, task: AutoModelForSequenceClassification, freshPooler: false },
  { name: 'roberta', cls: RobertaModel, task: AutoModelForSequenceClassification, freshPooler: true },
  { name: 'vit', cls: ViTModel, task: AutoModelForImageClassification, freshPooler: true },
];

for (const { name, cls, task, freshPooler } of CASES) {
  test(`${name}: AutoModel gives ${cls.name}, whose hidden states are the task model's`, async () => {
    const dir = join(FIXTURES, name);
    const logger = recordingLogger();
    const model = await AutoModel.fromPretrained(dir, { logger });
    assert.equal(model.constructor, cls);
    const { newlyInitialized } = await loadPretrained(dir, 'base', { logger });
    assert.deepEqual(newlyInitialized, freshPooler ? ['pooler.dense.bias', 'pooler.dense.weight'] : []);
    assert.equal(logger.messages.length, freshPooler ? 2 : 0);

    const { inputs } = await loadCase(dir);
    const forwardInputs = { ...modelInputs(inputs), labels: undefined };
    const { lastHiddenState, poolerOutput } = model.forward(forwardInputs);
    const expected = (await task.fromPretrained(dir)).forward(forwardInputs).lastHiddenState!;
    assert.deepEqual(lastHiddenState.shape, expected.shape);
    assert.equal(maxAbsDiff(lastHiddenState, expected), 0);
    const [batch, , hidden] = lastHiddenState.shape as [number, number, number];
    assert.deepEqual(poolerOutput?.shape, [batch, hidden]);
  });
}

test('bert: the base model\'s pooler is the checkpoint\'s: the task head over it gives the task logits', async () => {
  const dir = join(FIXTURES, 'bert');
  const { inputs, expected } = await loadCase(dir);
  const base = await AutoModel.fromPretrained(dir);
  const head = (await AutoModelForSequenceClassification.fromPretrained(dir)) as BertForSequenceClassification;
  const logits = head.classifier.forward(base.forward(modelInputs(inputs)).poolerOutput!);
  assert.ok(maxAbsDiff(logits, expected.get('logits')!) < 1e-4);
});

test('a config naming the base class loads it, with or without the base prefix in the keys', async (t) => {
  for (const [name, cls] of [['BertModel', BertModel], ['RobertaModel', RobertaModel], ['ViTModel', ViTModel]] as const) {
    const fixture = name.replace('Model', '').toLowerCase();
    const prefix = new RegExp(`^${fixture}\\.`);
    const dir = await derivedCheckpoint(t, fixture, { rename: (k) => k.replace(prefix, ''), config: { architectures: [name] } });
    const model = await AutoModel.fromPretrained(dir, { logger: recordingLogger() });
    assert.equal(model.constructor, cls, name);
  }
});

for (const [name, cls, lm] of [['gpt2', GPT2Model, 'transformer'], ['llama', LlamaModel, 'model'], ['qwen2', LlamaModel, 'model']] as const) {
  test(`${name}: AutoModel gives ${cls.name}, whose hidden states are the LM's`, async () => {
    const dir = join(FIXTURES, name);
    const model = await AutoModel.fromPretrained(dir, { logger: recordingLogger() });
    assert.equal(model.constructor, cls);
    const { inputs } = await loadCase(dir);
    const forwardInputs = { ...modelInputs(inputs), labels: undefined };
    const lmModel = await AutoModelForCausalLM.fromPretrained(dir);
    assert.ok((lmModel as unknown as Record<string, unknown>)[lm] instanceof cls);
    assert.equal(maxAbsDiff(model.forward(forwardInputs).lastHiddenState, lmModel.forward(forwardInputs).lastHiddenState!), 0);
  });
}

test('t5: AutoModel gives T5Model, whose decoder hidden states through the head give the LM\'s logits', async () => {
  const dir = join(FIXTURES, 't5');
  const model = await AutoModel.fromPretrained(dir, { logger: recordingLogger() });
  assert.equal(model.constructor, T5Model);
  const { inputs } = await loadCase(dir);
  const forwardInputs = modelInputs(inputs);
  const lm = (await AutoModelForSeq2SeqLM.fromPretrained(dir)) as T5ForConditionalGeneration;
  const hidden = model.forward(forwardInputs).lastHiddenState;
  const scale = lm.config.scale_decoder_outputs ? lm.config.d_model ** -0.5 : 1;
  assert.equal(maxAbsDiff(lm.lm_head.forward(hidden.mul(scale)), lm.forward(forwardInputs).logits), 0);
  assert.equal(model.parameters().length, lm.parameters().length - (lm.config.tie_word_embeddings ? 0 : 1), 'everything but an untied head');
  await assert.rejects(async () => model.forward({ inputIds: forwardInputs.inputIds }), /T5Model forward needs decoderInputIds/);
});

test('AutoModel on an unknown family names the supported ones', async (t) => {
  const dir = await derivedCheckpoint(t, 'gpt2', { config: { architectures: ['GPT3Model'], model_type: 'gpt3' } });
  const error = await AutoModel.fromPretrained(dir).then(() => null, (e: unknown) => e);
  assert.ok(error instanceof UnknownArchitectureError, String(error));
  assert.match(error.message, /'gpt3' is not a supported architecture.*gpt2, llama/);
});
