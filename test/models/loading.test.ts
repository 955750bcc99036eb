// Loading model folders: dtypes, tied weights, input dtypes, generation options, and every kind
// of bad folder giving a typed error that lists all the problems.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile, readFile, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AutoModelForCausalLM, GPT2LMHeadModel, LlamaForCausalLM, loadSafetensors, saveSafetensors, tensor, randn,
  MissingFileError, ShapeError, StateDictError, SafetensorsError, UnknownArchitectureError, IndexError, manualSeed,
} from '../../src/index.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'hf');

async function copyOf(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'peftjs-load-'));
  await cp(join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

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

test('a folder without weights, config.json or with an unknown architecture: typed errors', async () => {
  const dir = await copyOf('gpt2');
  try {
    await rm(join(dir, 'model.safetensors'));
    await assert.rejects(AutoModelForCausalLM.fromPretrained(dir), MissingFileError);
    await rm(join(dir, 'config.json'));
    await assert.rejects(AutoModelForCausalLM.fromPretrained(dir), MissingFileError);
    await writeFile(join(dir, 'config.json'), JSON.stringify({ model_type: 'mamba', architectures: ['MambaForCausalLM'] }));
    await assert.rejects(AutoModelForCausalLM.fromPretrained(dir), UnknownArchitectureError);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('a config that contradicts the weights names every mismatched tensor', async () => {
  const dir = await copyOf('gpt2');
  try {
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    await writeFile(join(dir, 'config.json'), JSON.stringify({ ...config, n_embd: 48 }));
    const error = await AutoModelForCausalLM.fromPretrained(dir).then(() => null, (e: unknown) => e);
    assert.ok(error instanceof ShapeError, String(error));
    for (const name of ['transformer.wte.weight', 'transformer.h.0.attn.c_attn.weight', 'transformer.h.1.mlp.c_fc.weight', 'transformer.ln_f.bias']) {
      assert.ok(error.message.includes(name), `${name} named in: ${error.message.slice(0, 300)}`);
    }
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('missing and unexpected tensors are all listed', async () => {
  const dir = await copyOf('llama');
  try {
    const { tensors } = await loadSafetensors(join(dir, 'model.safetensors'));
    tensors.delete('model.layers.0.mlp.up_proj.weight');
    tensors.delete('model.norm.weight');
    tensors.set('model.layers.0.extra.weight', randn([2]));
    tensors.set('model.something_else', randn([3]));
    await saveSafetensors(join(dir, 'model.safetensors'), tensors);
    const error = await AutoModelForCausalLM.fromPretrained(dir).then(() => null, (e: unknown) => e);
    assert.ok(error instanceof StateDictError, String(error));
    assert.deepEqual(error.missingKeys.sort(), ['model.layers.0.mlp.up_proj.weight', 'model.norm.weight']);
    assert.deepEqual(error.unexpectedKeys.sort(), ['model.layers.0.extra.weight', 'model.something_else']);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('a truncated safetensors file is a typed error', async () => {
  const dir = await copyOf('gpt2');
  try {
    await truncate(join(dir, 'model.safetensors'), 5000);
    await assert.rejects(AutoModelForCausalLM.fromPretrained(dir), SafetensorsError);
  } finally {
    await rm(dir, { recursive: true });
  }
});

