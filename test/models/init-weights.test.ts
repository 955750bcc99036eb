// Models built from a config start as HF's _init_weights sets them (normal(0, initializer_range),
// GPT-2's scaled residual projections), drawn by the native generator: a random model's loss is
// near ln(vocab), and the draws do not depend on the thread count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT2LMHeadModel, LlamaForCausalLM, manualSeed, native, noGrad, normalFill_, parseGPT2Config, parseLlamaConfig, randint, zeros } from '../../src/index.js';

function std(values: number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
}

test('a random GPT-2 built from its config starts with a loss near ln(vocab), not ~400', () => {
  manualSeed(0);
  const config = parseGPT2Config({ model_type: 'gpt2', n_embd: 128, n_layer: 4, n_head: 4, vocab_size: 1000, n_positions: 64 });
  const model = new GPT2LMHeadModel(config);
  const ids = randint(0, 1000, [2, 32]);
  const loss = noGrad(() => model.forward({ inputIds: ids, labels: ids }).loss!.item());
  assert.ok(Math.abs(loss - Math.log(1000)) < 0.1, `loss ${loss}, ln(1000) = ${Math.log(1000)}`);
  const params = new Map(model.namedParameters());
  assert.ok(Math.abs(std(params.get('transformer.wte.weight')!.toFlatArray()) - 0.02) < 0.001);
  assert.ok(Math.abs(std(params.get('transformer.h.0.mlp.c_proj.weight')!.toFlatArray()) - 0.02 / Math.sqrt(8)) < 0.0005, 'c_proj scaled by 1/√(2·n_layer)');
  assert.deepEqual(new Set(params.get('transformer.h.1.ln_2.weight')!.toFlatArray()), new Set([1]));
  assert.deepEqual(new Set(params.get('transformer.h.1.attn.c_attn.bias')!.toFlatArray()), new Set([0]));
});

test('a random Llama (bf16) follows the same rules; tied head and embedding are one tensor', () => {
  manualSeed(1);
  const config = parseLlamaConfig({ model_type: 'llama', hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 500, tie_word_embeddings: true, initializer_range: 0.05 });
  const model = new LlamaForCausalLM(config, 'bfloat16');
  assert.equal(model.lm_head.weight, model.model.embed_tokens.weight);
  const params = new Map(model.namedParameters());
  assert.ok(Math.abs(std(params.get('model.layers.1.mlp.down_proj.weight')!.toFlatArray()) - 0.05) < 0.003);
  assert.deepEqual(new Set(params.get('model.norm.weight')!.toFlatArray()), new Set([1]));
});

test('normalFill_ gives the same values for any thread count, other values for another seed', () => {
  const draw = (seed: number) => {
    manualSeed(seed);
    return normalFill_(zeros([20, 10_001])).toFlatArray(); // 49 blocks of 4096: split among threads
  };
  const threads = native.numThreads();
  let many: number[];
  try {
    native.setNumThreads(3);
    many = draw(7);
    native.setNumThreads(1);
    assert.deepEqual(draw(7), many);
  } finally {
    native.setNumThreads(threads);
  }
  const other = draw(8);
  assert.ok(other.filter((v, i) => v === many[i]).length < 10);
  const mean = many.reduce((a, b) => a + b, 0) / many.length;
  assert.ok(Math.abs(mean) < 0.03 && Math.abs(std(many) - 1) < 0.03, `mean ${mean}, std ${std(many)}`);
  const tails = many.filter((v) => Math.abs(v) > 2).length / many.length;
  assert.ok(Math.abs(tails - 0.0455) < 0.01, `P(|z| > 2) = ${tails}`);
});
