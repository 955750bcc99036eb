// Loading model folders: dtypes, tied weights, input dtypes, generation options, and every kind
// of bad folder giving a typed error that lists all the problems.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AutoModelForCausalLM, GPT2LMHeadModel, LlamaForCausalLM, loadSafetensors, tensor, randn,
  MissingFileError, ShapeError, StateDictError, SafetensorsError, UnknownArchitectureError, IndexError, manualSeed,
} from '../../src/index.js';
import { FIXTURES } from '../helpers/parity.js';
import { derivedCheckpoint } from './derived-checkpoint.js';

test('bf16 and f16 weights give the float32 model\'s logits within bf16 rounding', async () => {
  const dir = join(FIXTURES, 'llama');
  const ids = (await loadSafetensors(join(dir, 'inputs.safetensors'))).tensors.get('input_ids')!;
  const ref = (await AutoModelForCausalLM.fromPretrained(dir)).forward({ inputIds: ids }).logits;
  for (const dtype of ['bfloat16', 'float16'] as const) {
    const model = await AutoModelForCausalLM.fromPretrained(dir, { dtype });
    assert.equal((model as LlamaForCausalLM).model.layers.at(0).self_attn.q_proj.weight.dtype, dtype);
    const logits = model.forward({ inputIds: ids }).logits;
    assert.equal(logits.dtype, 'float32');
    const diff = logits.sub(ref).abs().max().item();
    assert.ok(diff < (dtype === 'float16' ? 0.02 : 0.1), `${dtype}: max diff ${diff}`);
  }
});

test('tied embeddings are one tensor; int32 and int64 inputs give the same logits', async () => {
  const model = (await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'gpt2'))) as GPT2LMHeadModel;
  assert.equal(model.lm_head.weight, model.transformer.wte.weight);
  assert.equal(model.parameters().filter((p) => p === model.lm_head.weight).length, 1);
  const ids = tensor([[1, 5, 7, 9]], undefined, 'int64');
  const a = model.forward({ inputIds: ids }).logits.toFlatArray();
  const b = model.forward({ inputIds: ids.to('int32') }).logits.toFlatArray();
  assert.deepEqual(a, b);
});

test('generation: stop tokens, streaming, sampling with a seed, repetition penalty', async () => {
  const model = (await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama'))) as LlamaForCausalLM;
  const prompt = tensor([[3, 14, 15, 92, 65]], undefined, 'int64');
  const greedy = model.generate(prompt, { maxNewTokens: 6 }).toFlatArray();
  const firstNew = greedy[5]!;
  const stopped = model.generate(prompt, { maxNewTokens: 6, eosTokenId: firstNew }).toFlatArray();
  assert.deepEqual(stopped, greedy.slice(0, 6), 'stops right after the eos token');
  const streamed: number[] = [];
  model.generate(prompt, { maxNewTokens: 4, onToken: (t) => streamed.push(t[0]!) });
  assert.deepEqual(streamed, greedy.slice(5, 9));
  manualSeed(1);
  const s1 = model.generate(prompt, { maxNewTokens: 8, doSample: true, temperature: 0.9, topK: 20, topP: 0.9 }).toFlatArray();
  manualSeed(1);
  const s2 = model.generate(prompt, { maxNewTokens: 8, doSample: true, temperature: 0.9, topK: 20, topP: 0.9 }).toFlatArray();
  assert.deepEqual(s1, s2);
  const topK1 = model.generate(prompt, { maxNewTokens: 6, doSample: true, topK: 1 }).toFlatArray();
  assert.deepEqual(topK1, greedy, 'top-k 1 sampling is greedy');
  const penalised = model.generate(prompt, { maxNewTokens: 12, repetitionPenalty: 100 }).toFlatArray().slice(5);
  assert.equal(new Set(penalised).size, penalised.length, 'a huge repetition penalty never repeats a token');
  assert.throws(() => model.generate(tensor([[3, 999]], undefined, 'int64')), IndexError);
});

test('a folder without weights, config.json or with an unknown architecture: typed errors', async (t) => {
  const dir = await derivedCheckpoint(t, 'gpt2');
  await rm(join(dir, 'model.safetensors'));
  await assert.rejects(AutoModelForCausalLM.fromPretrained(dir), MissingFileError);
  await rm(join(dir, 'config.json'));
  await assert.rejects(AutoModelForCausalLM.fromPretrained(dir), MissingFileError);
  await writeFile(join(dir, 'config.json'), JSON.stringify({ model_type: 'mamba', architectures: ['MambaForCausalLM'] }));
  await assert.rejects(AutoModelForCausalLM.fromPretrained(dir), UnknownArchitectureError);
});

test('a config that contradicts the weights names every mismatched tensor', async (t) => {
  const dir = await derivedCheckpoint(t, 'gpt2', { config: { n_embd: 48 } });
  const error = await AutoModelForCausalLM.fromPretrained(dir).then(() => null, (e: unknown) => e);
  assert.ok(error instanceof ShapeError, String(error));
  for (const name of ['transformer.wte.weight', 'transformer.h.0.attn.c_attn.weight', 'transformer.h.1.mlp.c_fc.weight', 'transformer.ln_f.bias']) {
    assert.ok(error.message.includes(name), `${name} named in: ${error.message.slice(0, 300)}`);
  }
});

test('missing and unexpected tensors are all listed', async (t) => {
  const dir = await derivedCheckpoint(t, 'llama', {
    keep: (k) => k !== 'model.layers.0.mlp.up_proj.weight' && k !== 'model.norm.weight',
    add: { 'model.layers.0.extra.weight': randn([2]), 'model.something_else': randn([3]) },
  });
  const error = await AutoModelForCausalLM.fromPretrained(dir).then(() => null, (e: unknown) => e);
  assert.ok(error instanceof StateDictError, String(error));
  assert.deepEqual(error.missingKeys.sort(), ['model.layers.0.mlp.up_proj.weight', 'model.norm.weight']);
  assert.deepEqual(error.unexpectedKeys.sort(), ['model.layers.0.extra.weight', 'model.something_else']);
});

test('a truncated safetensors file is a typed error', async (t) => {
  const dir = await derivedCheckpoint(t, 'gpt2');
  await truncate(join(dir, 'model.safetensors'), 5000);
  await assert.rejects(AutoModelForCausalLM.fromPretrained(dir), SafetensorsError);
});
