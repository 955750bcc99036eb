import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MODEL_TYPES, loadConfig, parseConfig, type ModelConfig } from '../../src/io/config/load.js';
import { ConfigError, MissingFileError, UnknownArchitectureError } from '../../src/io/errors.js';
import { FIXTURES, MODELS, tempDir } from './helpers.js';

/** The fields of `config` named in `expected`. */
function pick(config: ModelConfig, expected: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(expected).map((k) => [k, (config as unknown as Record<string, unknown>)[k]]));
}

const FIXTURE_EXPECTATIONS: Record<(typeof MODELS)[number], Record<string, unknown>> = {
  gpt2: {
    model_type: 'gpt2',
    n_embd: 32,
    n_layer: 2,
    n_head: 4,
    n_positions: 64,
    n_inner: 128,
    activation_function: 'gelu_new',
    layer_norm_epsilon: 1e-5,
    tie_word_embeddings: true,
    vocab_size: 320,
    attn_pdrop: 0,
  },
  llama: {
    model_type: 'llama',
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 8,
    rms_norm_eps: 1e-6,
    rope_parameters: { rope_type: 'default', rope_theta: 10000 },
    attention_bias: false,
    mlp_bias: false,
    tie_word_embeddings: false,
    hidden_act: 'silu',
    pad_token_id: 1,
  },
  qwen2: {
    model_type: 'qwen2',
    head_dim: 8,
    num_key_value_heads: 2,
    use_sliding_window: false,
    sliding_window: null,
    max_window_layers: 28,
    layer_types: ['full_attention', 'full_attention'],
    tie_word_embeddings: true,
    rope_parameters: { rope_type: 'default', rope_theta: 10000 },
  },
  mistral: {
    model_type: 'mistral',
    sliding_window: 4,
    head_dim: 8,
    num_key_value_heads: 2,
    tie_word_embeddings: false,
    max_position_embeddings: 64,
  },
  llama3rope: {
    model_type: 'llama',
    tie_word_embeddings: true,
    rms_norm_eps: 1e-5,
    rope_parameters: {
      rope_type: 'llama3',
      rope_theta: 500000,
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 16,
    },
  },
  bert: {
    model_type: 'bert',
    hidden_size: 32,
    layer_norm_eps: 1e-12,
    type_vocab_size: 2,
    max_position_embeddings: 64,
    pad_token_id: 1,
    hidden_act: 'gelu',
    num_labels: 3,
    id2label: { 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' },
    problem_type: null,
    classifier_dropout: null,
    position_embedding_type: 'absolute',
  },
  roberta: {
    model_type: 'roberta',
    max_position_embeddings: 70,
    pad_token_id: 1,
    bos_token_id: 0,
    eos_token_id: 2,
    num_labels: 3,
  },
  t5: {
    model_type: 't5',
    d_model: 32,
    d_kv: 8,
    d_ff: 64,
    num_layers: 2,
    num_decoder_layers: 2,
    num_heads: 4,
    relative_attention_num_buckets: 8,
    relative_attention_max_distance: 16,
    feed_forward_proj: 'relu',
    dense_act_fn: 'relu',
    is_gated_act: false,
    layer_norm_epsilon: 1e-6,
    tie_word_embeddings: true,
    decoder_start_token_id: 1,
    scale_decoder_outputs: true,
    pad_token_id: 1,
    eos_token_id: 0,
  },
  vit: {
    model_type: 'vit',
    image_size: 16,
    patch_size: 4,
    num_channels: 3,
    hidden_size: 32,
    num_labels: 3,
    qkv_bias: true,
    layer_norm_eps: 1e-12,
    pooler_output_size: 32,
    label2id: { LABEL_0: 0, LABEL_1: 1, LABEL_2: 2 },
  },
};

test('every fixture config.json parses to its values, derived fields filled, raw kept', async () => {
  for (const model of MODELS) {
    const config = await loadConfig(join(FIXTURES, model));
    const expected = FIXTURE_EXPECTATIONS[model];
    assert.deepEqual(pick(config, expected), expected, model);
    assert.deepEqual(config.raw, JSON.parse(await readFile(join(FIXTURES, model, 'config.json'), 'utf8')), model);
    assert.equal(config.dtype, 'float32');
  }
  const viaFile = await loadConfig(join(FIXTURES, 'gpt2', 'config.json'));
  assert.equal(viaFile.model_type, 'gpt2');
});

test('missing fields take the defaults of the transformers config classes', () => {
  const llama = parseConfig({ model_type: 'llama' });
  assert.deepEqual(
    pick(llama, {
      hidden_size: 0,
      intermediate_size: 0,
      num_hidden_layers: 0,
      num_key_value_heads: 0,
      head_dim: 0,
      max_position_embeddings: 0,
      rms_norm_eps: 0,
      rope_parameters: 0,
      tie_word_embeddings: 0,
      bos_token_id: 0,
      eos_token_id: 0,
      pad_token_id: 0,
      vocab_size: 0,
      num_labels: 0,
      architectures: 0,
    }),
    {
      hidden_size: 4096,
      intermediate_size: 11008,
      num_hidden_layers: 32,
      num_key_value_heads: 32,
      head_dim: 128,
      max_position_embeddings: 2048,
      rms_norm_eps: 1e-6,
      rope_parameters: { rope_type: 'default', rope_theta: 10000 },
      tie_word_embeddings: false,
      bos_token_id: 1,
      eos_token_id: 2,
      pad_token_id: null,
      vocab_size: 32000,
      num_labels: 2,
      architectures: [],
    },
  );
  assert.deepEqual(
    pick(parseConfig({ model_type: 'mistral' }), {
      sliding_window: 0,
      num_key_value_heads: 0,
      intermediate_size: 0,
      max_position_embeddings: 0,
    }),
    {
      sliding_window: 4096,
      num_key_value_heads: 8,
      intermediate_size: 14336,
      max_position_embeddings: 131072,
    },
  );
  assert.deepEqual(
    pick(parseConfig({ model_type: 'qwen2', num_hidden_layers: 4, max_window_layers: 2, use_sliding_window: true }), {
      sliding_window: 0,
      layer_types: 0,
      vocab_size: 0,
    }),
    {
      sliding_window: 4096,
      layer_types: ['full_attention', 'full_attention', 'sliding_attention', 'sliding_attention'],
      vocab_size: 151936,
    },
  );
  assert.deepEqual(
    pick(parseConfig({ model_type: 'gpt2', n_embd: 96 }), {
      n_inner: 0,
      n_layer: 0,
      resid_pdrop: 0,
      bos_token_id: 0,
      tie_word_embeddings: 0,
    }),
    {
      n_inner: 384,
      n_layer: 12,
      resid_pdrop: 0.1,
      bos_token_id: 50256,
      tie_word_embeddings: true,
    },
  );
  assert.deepEqual(
    pick(parseConfig({ model_type: 'bert' }), { pad_token_id: 0, hidden_dropout_prob: 0, vocab_size: 0 }),
    { pad_token_id: 0, hidden_dropout_prob: 0.1, vocab_size: 30522 },
  );
  assert.deepEqual(
    pick(parseConfig({ model_type: 'roberta' }), { pad_token_id: 0, bos_token_id: 0, eos_token_id: 0 }),
    { pad_token_id: 1, bos_token_id: 0, eos_token_id: 2 },
  );
  assert.deepEqual(
    pick(
      parseConfig({ model_type: 't5', feed_forward_proj: 'gated-gelu', tie_word_embeddings: false, num_layers: 8 }),
      {
        dense_act_fn: 0,
        is_gated_act: 0,
        num_decoder_layers: 0,
        decoder_start_token_id: 0,
        scale_decoder_outputs: 0,
        relative_attention_num_buckets: 0,
        relative_attention_max_distance: 0,
      },
    ),
    {
      dense_act_fn: 'gelu_new',
      is_gated_act: true,
      num_decoder_layers: 8,
      decoder_start_token_id: 0,
      scale_decoder_outputs: false,
      relative_attention_num_buckets: 32,
      relative_attention_max_distance: 128,
    },
  );
  assert.equal(
    (parseConfig({ model_type: 't5', feed_forward_proj: 'gated-silu' }) as { dense_act_fn: string }).dense_act_fn,
    'silu',
  );
  assert.deepEqual(
    pick(parseConfig({ model_type: 'vit' }), {
      image_size: 0,
      patch_size: 0,
      pooler_output_size: 0,
      hidden_dropout_prob: 0,
    }),
    { image_size: 224, patch_size: 16, pooler_output_size: 768, hidden_dropout_prob: 0 },
  );
  assert.deepEqual(
    pick(
      parseConfig({
        model_type: 'llama',
        head_dim: null,
        num_key_value_heads: null,
        hidden_size: 64,
        num_attention_heads: 8,
      }),
      { head_dim: 0, num_key_value_heads: 0 },
    ),
    { head_dim: 8, num_key_value_heads: 8 },
  );
});

test('both rope formats give the same normalized rope_parameters', () => {
  const v5 = parseConfig(
    JSON.parse(
      JSON.stringify({
        model_type: 'llama',
        rope_parameters: {
          rope_type: 'llama3',
          rope_theta: 500000,
          factor: 8,
          low_freq_factor: 1,
          high_freq_factor: 4,
          original_max_position_embeddings: 8192,
        },
      }),
    ),
  );
  const v4 = parseConfig({
    model_type: 'llama',
    rope_theta: 500000,
    rope_scaling: {
      rope_type: 'llama3',
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8192,
    },
  });
  const legacyKey = parseConfig({
    model_type: 'llama',
    rope_theta: 500000,
    rope_scaling: {
      type: 'llama3',
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8192,
    },
  });
  const expected = {
    rope_type: 'llama3',
    rope_theta: 500000,
    factor: 8,
    low_freq_factor: 1,
    high_freq_factor: 4,
    original_max_position_embeddings: 8192,
  };
  for (const c of [v5, v4, legacyKey]) assert.deepEqual((c as { rope_parameters: unknown }).rope_parameters, expected);

  const rope = (raw: object) =>
    (parseConfig({ model_type: 'qwen2', max_position_embeddings: 4096, ...raw }) as { rope_parameters: unknown })
      .rope_parameters;
  assert.deepEqual(rope({ rope_theta: 1e6, rope_scaling: null }), { rope_type: 'default', rope_theta: 1e6 });
  assert.deepEqual(rope({ rope_theta: 1e6 }), { rope_type: 'default', rope_theta: 1e6 });
  assert.deepEqual(rope({ rope_scaling: { type: 'linear', factor: 2 } }), {
    rope_type: 'linear',
    rope_theta: 10000,
    factor: 2,
  });
  assert.deepEqual(rope({ rope_scaling: { type: 'dynamic', factor: 2 } }), {
    rope_type: 'dynamic',
    rope_theta: 10000,
    factor: 2,
    original_max_position_embeddings: 4096,
  });
  assert.deepEqual(rope({ rope_theta: 5, rope_parameters: { rope_type: 'default' } }), {
    rope_type: 'default',
    rope_theta: 5,
  });
});

test('the family comes from model_type, or from architectures[0] where model_type is absent', () => {
  assert.equal(parseConfig({ architectures: ['Qwen2ForCausalLM'] }).model_type, 'qwen2');
  assert.equal(parseConfig({ architectures: ['T5WithLMHeadModel'] }).model_type, 't5');
  assert.equal(parseConfig({ architectures: ['ViTModel'] }).model_type, 'vit');
  assert.equal(parseConfig({ architectures: ['RobertaForMaskedLM'] }).model_type, 'roberta');
  assert.deepEqual([...MODEL_TYPES].sort(), ['bert', 'gpt2', 'llama', 'mistral', 'qwen2', 'roberta', 't5', 'vit']);
  for (const raw of [
    { model_type: 'qwen2_moe' },
    { architectures: ['Qwen2MoeForCausalLM'] },
    { architectures: ['Llama4ForCausalLM'] },
    { model_type: 'falcon', architectures: ['LlamaForCausalLM'] },
  ]) {
    assert.throws(
      () => parseConfig(raw, 'x/config.json'),
      (e: unknown) =>
        e instanceof UnknownArchitectureError &&
        e.code === 'E_UNKNOWN_ARCHITECTURE' &&
        e.message.includes('llama, qwen2') &&
        e.message.startsWith('x/config.json'),
      JSON.stringify(raw),
    );
  }
  assert.throws(
    () => parseConfig({ hidden_size: 3 }),
    (e: unknown) => e instanceof ConfigError && /no model_type and no architectures/.test(e.message),
  );
  assert.throws(() => parseConfig([1]), ConfigError);
  assert.throws(
    () => parseConfig({ model_type: 5 }),
    (e: unknown) => e instanceof ConfigError && e.field === 'model_type',
  );
});

test('labels: id2label wins, num_labels makes LABEL_i, label2id inverts id2label', () => {
  const c = parseConfig({
    model_type: 'bert',
    num_labels: 5,
    id2label: { 0: 'neg', 1: 'pos' },
    problem_type: 'multi_label_classification',
  });
  assert.deepEqual(pick(c, { num_labels: 0, id2label: 0, label2id: 0, problem_type: 0 }), {
    num_labels: 2,
    id2label: { 0: 'neg', 1: 'pos' },
    label2id: { neg: 0, pos: 1 },
    problem_type: 'multi_label_classification',
  });
  assert.deepEqual(parseConfig({ model_type: 'vit', num_labels: 3 }).id2label, {
    0: 'LABEL_0',
    1: 'LABEL_1',
    2: 'LABEL_2',
  });
  assert.deepEqual(parseConfig({ model_type: 'llama', eos_token_id: [128001, 128009] }).eos_token_id, [128001, 128009]);
  assert.equal(parseConfig({ model_type: 'llama', torch_dtype: 'bfloat16' }).dtype, 'bfloat16');
});

test('wrong field types and values are ConfigErrors naming the field', () => {
  const cases: [object, string, RegExp][] = [
    [{ model_type: 'llama', hidden_size: '32' }, 'hidden_size', /must be an integer >= 1; it is "32" \(string\)/],
    [{ model_type: 'llama', hidden_size: 0 }, 'hidden_size', /integer >= 1/],
    [{ model_type: 'llama', rms_norm_eps: 'small' }, 'rms_norm_eps', /number/],
    [{ model_type: 'llama', tie_word_embeddings: 1 }, 'tie_word_embeddings', /true or false/],
    [
      { model_type: 'llama', num_attention_heads: 4, num_key_value_heads: 3 },
      'num_key_value_heads',
      /divisor of num_attention_heads \(4\)/,
    ],
    [
      { model_type: 'llama', rope_parameters: { rope_type: 'llama3', rope_theta: 5e5, factor: 8 } },
      'rope_parameters.low_freq_factor',
      /missing; rope_type 'llama3' needs it/,
    ],
    [
      { model_type: 'llama', rope_scaling: { type: 'longrope', factor: 4 } },
      'rope_scaling.type',
      /one of 'default', 'linear', 'dynamic', 'llama3', 'yarn'/,
    ],
    [
      { model_type: 'llama', rope_scaling: { type: 'yarn', factor: 4 } },
      'rope_scaling.original_max_position_embeddings',
      /missing; rope_type 'yarn' needs it/,
    ],
    [
      { model_type: 'llama', rope_scaling: { type: 'linear', factor: 0 } },
      'rope_scaling.factor',
      /must be a positive number; it is 0/,
    ],
    [{ model_type: 'llama', rope_parameters: 'default' }, 'rope_parameters', /an object/],
    [{ model_type: 'llama', eos_token_id: [1, -2] }, 'eos_token_id', /token id/],
    [{ model_type: 'llama', architectures: 'LlamaForCausalLM' }, 'architectures', /array of strings/],
    [{ model_type: 'bert', id2label: { a: 'x' } }, 'id2label.a', /class index/],
    [{ model_type: 'bert', id2label: { 0: 1 } }, 'id2label.0', /label name/],
    [{ model_type: 'bert', problem_type: 'ranking' }, 'problem_type', /one of 'regression'/],
    [{ model_type: 'bert', hidden_dropout_prob: 1.5 }, 'hidden_dropout_prob', /probability/],
    [
      { model_type: 'bert', hidden_size: 30, num_attention_heads: 4 },
      'num_attention_heads',
      /divisor of hidden_size \(30\)/,
    ],
    [{ model_type: 'qwen2', num_hidden_layers: 2, layer_types: ['full_attention'] }, 'layer_types', /2 entries/],
    [{ model_type: 'mistral', sliding_window: 0 }, 'sliding_window', /integer >= 1/],
    [{ model_type: 't5', feed_forward_proj: 'gelu-relu' }, 'feed_forward_proj', /'gated-\{act\}'/],
    [{ model_type: 'gpt2', n_embd: 10, n_head: 4 }, 'n_head', /divisor of n_embd/],
    [{ model_type: 'vit', image_size: [224, 224] }, 'image_size', /integer/],
  ];
  for (const [raw, field, message] of cases) {
    assert.throws(
      () => parseConfig(raw, 'm/config.json'),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.code === 'E_CONFIG' &&
        e.field === field &&
        message.test(e.message) &&
        e.message.startsWith(`m/config.json: field '${field}'`),
      `${JSON.stringify(raw)} -> ${field}`,
    );
  }
});

test('loadConfig: a missing file, bad JSON or a non-object are typed errors naming the path', async () => {
  const dir = await tempDir();
  await assert.rejects(
    loadConfig(dir),
    (e: unknown) => e instanceof MissingFileError && e.paths[0] === join(dir, 'config.json'),
  );
  const path = join(dir, 'config.json');
  await writeFile(path, '{"model_type": ');
  await assert.rejects(
    loadConfig(dir),
    (e: unknown) => e instanceof ConfigError && e.message.startsWith(path) && /not valid JSON/.test(e.message),
  );
  await writeFile(path, '"llama"');
  await assert.rejects(loadConfig(dir), (e: unknown) => e instanceof ConfigError && /JSON object/.test(e.message));
});
