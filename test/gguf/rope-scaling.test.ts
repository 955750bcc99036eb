// Rope scaling read from GGUF files: Llama 3's rope_freqs.weight divisors back to HF's llama3
// parameters (the fixture's round trip is in load-model.test.ts; here the real models' shapes), and
// YaRN metadata onto HF's yarn parameters, whose frequencies are checked against HF's formula.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoModelForCausalLM, noGrad, tensor, type LlamaConfig, type Tensor } from '../../src/index.js';
import { GgufFormatError } from '../../src/gguf/errors.js';
import { writeModelGguf } from '../../src/gguf/export/index.js';
import { gguf, type GgufValue } from '../../src/gguf/metadata.js';
import { GgufFile } from '../../src/gguf/reader.js';
import { writeGguf } from '../../src/gguf/writer.js';
import { llama3RopeFactors, llama3RopeFromFactors } from '../../src/gguf/rope-freqs.js';
import { inverseFrequencies } from '../../src/models/rope.js';
import { FIXTURES } from '../helpers/parity.js';

const llama3 = (factor: number, context: number) =>
  ({
    rope_type: 'llama3',
    rope_theta: 500000,
    factor,
    low_freq_factor: 1,
    high_freq_factor: 4,
    original_max_position_embeddings: context,
  }) as const;

test('Llama 3.1 and 3.2 rope parameters survive the converter divisors both ways', () => {
  for (const rope of [llama3(8, 8192), llama3(32, 8192), llama3(8, 16)]) {
    for (const dim of [128, 64, 8]) {
      const factors = llama3RopeFactors(rope, dim);
      assert.deepEqual(
        llama3RopeFromFactors(factors, rope.rope_theta, dim),
        rope,
        `${JSON.stringify(rope)} dim ${dim}`,
      );
    }
  }
});

test('divisors that are all 1 are no scaling; divisors Llama 3 cannot give are named', () => {
  assert.equal(llama3RopeFromFactors(new Float32Array(64).fill(1), 500000, 128), null);
  const odd = llama3RopeFactors(llama3(8, 8192), 128).map((d, i) => (i % 2 ? d : 1));
  const read = llama3RopeFromFactors(odd, 500000, 128);
  assert.ok(read !== null && 'mismatch' in read && /not Llama 3/.test(read.mismatch));
  const short = llama3RopeFromFactors(new Float32Array(3).fill(2), 500000, 128);
  assert.ok(short !== null && 'mismatch' in short && /3 values for 64/.test(short.mismatch));
});

// transformers' _compute_yarn_parameters run on numpy float32 (torch's float tensors) for Qwen2.5's
// YaRN settings (θ 1e6, head_dim 64, factor 4, original context 32768; beta_fast 32, beta_slow 1).
const HF_YARN_QWEN = [
  1.0, 0.6493816375732422, 0.4216965138912201, 0.2738419771194458, 0.17782793939113617, 0.11547820270061493,
  0.07498941570520401, 0.04869675263762474, 0.03162277862429619, 0.020535249263048172, 0.01333521492779255,
  0.00865964312106371, 0.005154795479029417, 0.0030431177001446486, 0.0017785303061828017, 0.0010266178287565708,
  0.0005833333707414567, 0.00032469083089381456, 0.00017570689669810236, 9.128064994001761e-5, 4.4456985051510856e-5,
  2.886955189751461e-5, 1.8747356079984456e-5, 1.2174188668723218e-5, 7.905693564680405e-6, 5.133812464919174e-6,
  3.333803988425643e-6, 2.16491071114433e-6, 1.405853367941745e-6, 9.129353770731541e-7, 5.928434347879374e-7,
  3.8498163235090033e-7,
];

test('yarn: inv_freq and the attention factor are what HF computes', () => {
  const yarn = {
    rope_type: 'yarn',
    rope_theta: 1e6,
    factor: 4,
    original_max_position_embeddings: 32768,
    attention_factor: 0.1 * Math.log(4) + 1,
    beta_fast: 32,
    beta_slow: 1,
    truncate: true,
  } as const;
  const inv = inverseFrequencies(yarn, 64, 10);
  assert.equal(inv.length, HF_YARN_QWEN.length);
  HF_YARN_QWEN.forEach((want, i) =>
    assert.ok(Math.abs(inv[i]! - want) <= 2e-7 * want, `inv_freq[${i}] ${inv[i]} vs HF ${want}`),
  );
});

test('yarn: a GGUF file with YaRN metadata loads as HF yarn parameters, which change the logits', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peftjs-gguf-yarn-'));
  try {
    const plainPath = join(dir, 'plain.gguf');
    const hf = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama'));
    const tokenizer = {
      json: JSON.parse(await readFile(join(FIXTURES, 'llama', 'tokenizer.json'), 'utf8')),
      config: {},
    };
    await writeModelGguf(hf, tokenizer, plainPath, { type: 'F32' });
    // The same file with YaRN metadata as convert_hf_to_gguf.py writes it.
    await using plain = await GgufFile.open(plainPath);
    const metadata = new Map<string, GgufValue>([
      ...plain.metadata.entries,
      ['llama.rope.scaling.type', gguf.str('yarn')],
      ['llama.rope.scaling.factor', gguf.f32(4)],
      ['llama.rope.scaling.original_context_length', gguf.u32(16)],
    ]);
    const tensors = [...plain.tensors.values()].map((t) => ({
      name: t.name,
      type: t.type.name,
      shape: t.shape,
      data: () => plain.readBytes(t.name),
    }));
    const yarnPath = join(dir, 'yarn.gguf');
    await writeGguf(yarnPath, metadata, tensors as never);
    const model = await AutoModelForCausalLM.fromPretrained(yarnPath);
    assert.deepEqual((model.config as LlamaConfig).rope_parameters, {
      rope_type: 'yarn',
      rope_theta: 10000,
      factor: 4,
      original_max_position_embeddings: 16,
      attention_factor: 0.1 * Math.log(4) + 1,
      beta_fast: 32,
      beta_slow: 1,
      truncate: true,
    });
    const ids = tensor([[1, 5, 9, 13, 40, 41, 42, 43]], [1, 8], 'int64');
    const logits = (m: typeof model) => noGrad(() => (m.forward({ inputIds: ids }) as { logits: Tensor }).logits);
    assert.ok(logits(model).sub(logits(hf)).abs().max().item() > 1e-3);
    // No factor is a typed error naming the key.
    metadata.delete('llama.rope.scaling.factor');
    await writeGguf(join(dir, 'bad.gguf'), metadata, tensors as never);
    await assert.rejects(
      AutoModelForCausalLM.fromPretrained(join(dir, 'bad.gguf')),
      (e) => e instanceof GgufFormatError && /rope\.scaling\.factor/.test(e.message),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
