// Models built from a config start as HF's _init_weights sets them (normal(0, initializer_range),
// GPT-2's scaled residual projections), drawn by the native generator: a random model's loss is
// near ln(vocab), and the draws do not depend on the thread count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BertForSequenceClassification, GPT2LMHeadModel, LlamaForCausalLM, RobertaForSequenceClassification, T5ForConditionalGeneration, ViTForImageClassification,
  manualSeed, native, noGrad, normalFill_, parseBertConfig, parseGPT2Config, parseLlamaConfig, parseRobertaConfig, parseT5Config, parseViTConfig, randint, zeros,
} from '../../src/index.js';

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

/** The values of parameter `name`, and their std. */
function parameterStats(params: Map<string, { toFlatArray(): number[] }>, name: string): { values: number[]; std: number } {
  const values = params.get(name)!.toFlatArray();
  return { values, std: std(values) };
}

test("a Llama's pad_token_id row starts at zero, as its padding_idx does in HF", () => {
  manualSeed(2);
  const config = parseLlamaConfig({ model_type: 'llama', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 100, pad_token_id: 7 });
  const table = new LlamaForCausalLM(config).model.embed_tokens.weight;
  assert.deepEqual(new Set(table.select(0, 7).toFlatArray()), new Set([0]));
  assert.ok(table.select(0, 8).toFlatArray().every((v) => v !== 0));
});

test('BERT and RoBERTa built from a config: normal(initializer_range) weights and heads, zero biases and padding rows', () => {
  manualSeed(3);
  const shape = { hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128, vocab_size: 300, initializer_range: 0.04, num_labels: 3 };
  const bert = new Map(new BertForSequenceClassification(parseBertConfig({ model_type: 'bert', ...shape })).namedParameters());
  for (const name of ['bert.embeddings.word_embeddings.weight', 'bert.encoder.layer.1.intermediate.dense.weight', 'bert.pooler.dense.weight']) {
    assert.ok(Math.abs(parameterStats(bert, name).std - 0.04) < 0.004, `${name}: std ${parameterStats(bert, name).std}`);
  }
  assert.ok(Math.abs(parameterStats(bert, 'classifier.weight').std - 0.04) < 0.015, 'the task head is drawn too');
  assert.deepEqual(new Set(parameterStats(bert, 'bert.encoder.layer.0.attention.self.query.bias').values), new Set([0]));
  assert.deepEqual(new Set(bert.get('bert.embeddings.word_embeddings.weight')!.select(0, 0).toFlatArray()), new Set([0]), 'pad_token_id 0');
  const roberta = new Map(new RobertaForSequenceClassification(parseRobertaConfig({ model_type: 'roberta', max_position_embeddings: 40, ...shape })).namedParameters());
  assert.deepEqual(new Set(roberta.get('roberta.embeddings.position_embeddings.weight')!.select(0, 1).toFlatArray()), new Set([0]), 'RoBERTa positions pad at 1');
  assert.ok(Math.abs(parameterStats(roberta, 'classifier.dense.weight').std - 0.04) < 0.004);
});

test('ViT built from a config: patch projection, [CLS] and positions drawn with initializer_range', () => {
  manualSeed(4);
  const config = parseViTConfig({ model_type: 'vit', hidden_size: 64, num_hidden_layers: 1, num_attention_heads: 4, intermediate_size: 128, image_size: 32, patch_size: 4, num_labels: 5, initializer_range: 0.03 });
  const params = new Map(new ViTForImageClassification(config).namedParameters());
  for (const name of ['vit.embeddings.patch_embeddings.projection.weight', 'vit.embeddings.position_embeddings', 'vit.layers.0.mlp.fc1.weight']) {
    assert.ok(Math.abs(parameterStats(params, name).std - 0.03) < 0.003, `${name}: std ${parameterStats(params, name).std}`);
  }
  assert.deepEqual(new Set(parameterStats(params, 'vit.embeddings.patch_embeddings.projection.bias').values), new Set([0]));
});

test("T5 built from a config: each weight's own std (q (d_model·d_kv)^-½, wo d_ff^-½, shared 1), norms at initializer_factor", () => {
  manualSeed(5);
  const config = parseT5Config({ model_type: 't5', d_model: 64, d_kv: 16, d_ff: 256, num_heads: 4, num_layers: 2, vocab_size: 400, initializer_factor: 0.5, tie_word_embeddings: false });
  const model = new T5ForConditionalGeneration(config);
  const params = new Map(model.namedParameters());
  const expected: [string, number][] = [
    ['shared.weight', 0.5],
    ['lm_head.weight', 0.5],
    ['encoder.block.0.layer.0.SelfAttention.q.weight', 0.5 / Math.sqrt(64 * 16)],
    ['encoder.block.0.layer.0.SelfAttention.k.weight', 0.5 / 8],
    ['decoder.block.1.layer.1.EncDecAttention.o.weight', 0.5 / 8],
    ['encoder.block.0.layer.1.DenseReluDense.wo.weight', 0.5 / 16],
  ];
  for (const [name, want] of expected) assert.ok(Math.abs(parameterStats(params, name).std / want - 1) < 0.08, `${name}: std ${parameterStats(params, name).std}, want ${want}`);
  assert.deepEqual(new Set(parameterStats(params, 'decoder.final_layer_norm.weight').values), new Set([0.5]));
  assert.equal(model.encoder.embed_tokens.weight, model.shared.weight);
});

test('normalFill_ gives the same values for any thread count, other values for another seed', () => {
  const draw = (seed: number) => {
    manualSeed(seed);
    return normalFill_(zeros([20, 10_001])).toFlatArray(); // 49 blocks of 4096: split among threads
  };
  const threads = native.numThreads();
  let many: number[];
  try {
    // Two threads: the most the WebAssembly backend is sure to have (it starts with the machine's count).
    native.setNumThreads(2);
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
