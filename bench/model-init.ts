// Building a model from a config (no checkpoint): Llama-3.2-1B's shape in bf16 (hidden 2048,
// 16 layers, 32 heads, 8 key/value heads, intermediate 8192, vocabulary 128256, tied embeddings:
// 1.24 B parameters), every parameter set as HF's _init_weights does by the native generator.
// Reports wall and CPU seconds (all threads) and the parameter count. Target: <= 10 s.
// Usage: node --import tsx bench/model-init.ts [--dtype bfloat16]
import { LlamaForCausalLM, native, parseLlamaConfig, type DType } from '../src/index.js';
import { arg, emit, round } from './lib/report.js';

const dtype = (arg('dtype') ?? 'bfloat16') as DType;
const config = parseLlamaConfig({
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 2048,
  num_hidden_layers: 16,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  head_dim: 64,
  intermediate_size: 8192,
  vocab_size: 128256,
  max_position_embeddings: 131072,
  rms_norm_eps: 1e-5,
  tie_word_embeddings: true,
  initializer_range: 0.02,
  rope_theta: 500000,
});
const cpu = process.cpuUsage();
const start = process.hrtime.bigint();
const model = new LlamaForCausalLM(config, dtype);
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const used = process.cpuUsage(cpu);
emit('model_init', {
  model: 'Llama-3.2-1B config',
  dtype,
  parameters: model.numParameters(),
  threads: native.numThreads(),
  simd: native.simdLevel(),
  seconds: round(seconds),
  cpu_seconds: round((used.user + used.system) / 1e6),
  target_seconds: 10,
});
