// Models read from GGUF files: files written from the HF fixtures (F32, Q/K rows permuted as
// convert_hf_to_gguf.py does) load through AutoModelForCausalLM.fromPretrained(file.gguf) and give
// the fixture's HF logits; quantised files load quantised (test/gguf/load-quantized.test.ts) or, with
// { dtype }, dequantised.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AutoModelForCausalLM,
  AutoModelForSeq2SeqLM,
  noGrad,
  readTokenizerFiles,
  type Tensor,
} from '../../src/index.js';
import { writeModelGguf } from '../../src/gguf/export/index.js';
import { GgufFile } from '../../src/gguf/reader.js';
import { configFromGguf } from '../../src/gguf/load/config.js';
import { FIXTURES, loadCase, maxAbsDiff, modelInputs } from '../helpers/parity.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'peftjs-gguf-load-'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function ggufOf(model: string, type: 'F32' | 'Q8_0' | 'BF16'): Promise<string> {
  const path = join(dir, `${model}-${type}.gguf`);
  const hf = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, model));
  await writeModelGguf(hf, await readTokenizerFiles(join(FIXTURES, model)), path, { type });
  return path;
}

async function logitsDiff(path: string, model: string, dtype?: 'float32' | 'bfloat16'): Promise<number> {
  const loaded = await AutoModelForCausalLM.fromPretrained(path, dtype === undefined ? {} : { dtype });
  const { inputs, expected } = await loadCase(join(FIXTURES, model));
  const out = noGrad(() => loaded.forward(modelInputs(inputs))) as { logits: Tensor };
  return maxAbsDiff(out.logits, expected.get('logits')!, inputs.get('attention_mask'));
}

// Not mistral: its fixture's sliding window (4) has no place in a llama-architecture GGUF file (the
// converter writes Mistral as llama, and llama.cpp's llama attends to every position).
// llama3rope: Llama 3 rope scaling, read back from rope_freqs.weight into HF's llama3 parameters.
for (const model of ['llama', 'qwen2', 'gpt2', 'llama3rope']) {
  test(`${model}: an F32 GGUF file gives the HF logits (1e-4)`, async () => {
    const diff = await logitsDiff(await ggufOf(model, 'F32'), model);
    assert.ok(diff < 1e-4, `max |diff| ${diff}`);
  });
}

test('llama: the config read from the metadata equals the checkpoint config where it matters', async () => {
  await using file = await GgufFile.open(await ggufOf('llama', 'F32'));
  const hf = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama'));
  const read = configFromGguf(file.metadata, new Set(file.tensors.keys()), 0) as unknown as Record<string, unknown>;
  const want = hf.config as unknown as Record<string, unknown>;
  for (const key of [
    'hidden_size',
    'intermediate_size',
    'num_hidden_layers',
    'num_attention_heads',
    'num_key_value_heads',
    'head_dim',
    'vocab_size',
    'tie_word_embeddings',
    'rms_norm_eps',
    'max_position_embeddings',
  ]) {
    assert.equal(read[key], key === 'rms_norm_eps' ? Math.fround(want[key] as number) : want[key], key);
  }
});

test('llama: a Q8_0 file, quantised or dequantised, is close to the HF logits; BF16 loads as bfloat16', async () => {
  const path = await ggufOf('llama', 'Q8_0');
  for (const dtype of [undefined, 'float32'] as const) {
    const q8 = await logitsDiff(path, 'llama', dtype);
    // Quantised, the prompt's rows take llama.cpp's integer path (x as Q8_0 blocks): 0.112 here.
    assert.ok(q8 > 1e-6 && q8 < (dtype ? 0.1 : 0.15), `Q8_0 (dtype ${dtype}) max |diff| ${q8}`);
  }
  const bf16 = await AutoModelForCausalLM.fromPretrained(await ggufOf('llama', 'BF16'), { dtype: 'bfloat16' });
  assert.equal(bf16.stateDict().get('model.layers.0.self_attn.q_proj.weight')!.dtype, 'bfloat16');
});

// A BF16 file's matrices stay bf16 (half the memory and bytes per decode step); its norms, F32 in the
// file, stay float32; the values are those of a float32 load (bf16 widens exactly), and so are the logits.
for (const model of ['llama', 'gpt2']) {
  test(`${model}: a BF16 file keeps its matrices in bf16 when no dtype is asked for; the logits are a float32 load's`, async () => {
    const path = await ggufOf(model, 'BF16');
    const kept = await AutoModelForCausalLM.fromPretrained(path);
    const widened = await AutoModelForCausalLM.fromPretrained(path, { dtype: 'float32' });
    const dtypes = new Map<string, string>();
    for (const [key, t] of kept.stateDict()) dtypes.set(key, t.dtype);
    const matrix = model === 'llama' ? 'model.layers.0.self_attn.q_proj.weight' : 'transformer.h.0.attn.c_attn.weight';
    const embedding = model === 'llama' ? 'model.embed_tokens.weight' : 'transformer.wte.weight';
    const norm = model === 'llama' ? 'model.norm.weight' : 'transformer.ln_f.weight';
    assert.equal(dtypes.get(matrix), 'bfloat16');
    assert.equal(dtypes.get(embedding), 'bfloat16');
    assert.equal(dtypes.get(norm), 'float32');
    assert.equal(kept.stateDict().get(matrix)!.requiresGrad, widened.stateDict().get(matrix)!.requiresGrad);
    for (const [key, t] of widened.stateDict()) {
      assert.deepEqual(kept.stateDict().get(key)!.to('float32').toFlatArray(), t.toFlatArray(), key);
    }
    const { inputs } = await loadCase(join(FIXTURES, model));
    const logits = (m: typeof kept) => (noGrad(() => m.forward(modelInputs(inputs))) as { logits: Tensor }).logits.toFlatArray();
    assert.deepEqual(logits(kept), logits(widened));
  });
}

test('a GGUF file whose model cannot be built is refused and its file handle closed', async () => {
  const path = await ggufOf('llama', 'F32');
  const openFds = async () => (await readdir('/proc/self/fd')).length;
  const before = await openFds();
  // The file reads, but llama has no seq2seq class: the refusal comes after the file was opened.
  await assert.rejects(AutoModelForSeq2SeqLM.fromPretrained(path), /seq2seq|Seq2Seq/);
  assert.equal(await openFds(), before);
});

test('llama3rope: rope_freqs.weight reads back as the llama3 rope parameters of the checkpoint', async () => {
  const loaded = await AutoModelForCausalLM.fromPretrained(await ggufOf('llama3rope', 'F32'));
  const hf = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama3rope'));
  const rope = (m: { config: unknown }) => (m.config as { rope_parameters: unknown }).rope_parameters;
  assert.deepEqual(rope(loaded), rope(hf));
});
