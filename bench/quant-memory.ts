// Memory of quantised base weights: GPT-2 124M and a Llama-3.2-1B-shaped model (random weights,
// std 0.02) held in float32, bf16, int8 and NF4 + double quantisation (block 64): bytes of the
// whole model and of each part (embeddings, attention, feed-forward, norms, head), bytes per
// parameter, and per kind (quantised codes, their statistics, full precision). The model is
// built without touching its float memory and quantised one layer at a time (the loader's
// order), so the float copy of the 1B model never exists. Transformers' skip rules apply: the
// output head / tied embeddings stay in the model's dtype (float32 here).
// Usage: node --import tsx bench/quant-memory.ts [--model gpt2|llama1b]
import { GPT2LMHeadModel, LlamaForCausalLM, noGrad, randn, withoutInit, type Linear, type Module } from '../src/index.js';
import { Linear4bit, Linear8bitLt } from '../src/quant/linear.js';
import { quantizeState4 } from '../src/quant/functional.js';
import { quantizeInt8Native } from '../src/quant/kernels.js';
import { quantizableLinears } from '../src/quant/load.js';
import { modelMemory } from '../src/quant/memory.js';
import { Conv1D } from '../src/nn/index.js';
import { arg, emit, round } from './lib/report.js';
import { gpt2SmallConfig, llama1bConfig } from './lib/models.js';

type Variant = 'float32' | 'bfloat16' | 'int8' | 'nf4-dq';

const builders: Record<string, (dtype: 'float32' | 'bfloat16') => Module & { config: { model_type: string } }> = {
  'gpt2-124M': (dtype) => withoutInit(() => new GPT2LMHeadModel(gpt2SmallConfig(), dtype)),
  'llama-3.2-1B-shape': (dtype) => withoutInit(() => new LlamaForCausalLM(llama1bConfig(), dtype)),
};

/** Replaces every linear transformers would quantise by its int8 / NF4 version of random weights. */
function quantize(model: Module & { config: { model_type: string } }, variant: 'int8' | 'nf4-dq'): void {
  for (const path of quantizableLinears(model, model.config.model_type, null)) {
    const layer = model.getSubmodule(path) as Linear | Conv1D;
    const shape: [number, number] = [layer.outFeatures, layer.inFeatures];
    const values = noGrad(() => {
      const w = randn(shape, { std: 0.02 });
      const v = w.data<'float32'>();
      w.dispose();
      return v;
    });
    const q = variant === 'int8'
      ? new Linear8bitLt(quantizeInt8Native(values, shape[0], shape[1]), layer.bias)
      : new Linear4bit(quantizeState4(values, shape, { quantType: 'nf4', blockSize: 64, doubleQuant: true }), layer.bias);
    layer.weight.dispose();
    model.setSubmodule(path, q);
  }
}

const wanted = arg('model');
for (const [name, build] of Object.entries(builders)) {
  if (wanted !== undefined && !name.startsWith(wanted)) continue;
  for (const variant of ['float32', 'bfloat16', 'int8', 'nf4-dq'] as Variant[]) {
    const started = performance.now();
    const cpuStart = process.cpuUsage();
    const model = build(variant === 'bfloat16' ? 'bfloat16' : 'float32');
    if (variant === 'int8' || variant === 'nf4-dq') quantize(model, variant);
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    const m = modelMemory(model);
    const linearParams = [...model.namedModules()].filter(([, l]) => l instanceof Linear4bit || l instanceof Linear8bitLt).reduce((n, [, l]) => n + (l as Linear).inFeatures * (l as Linear).outFeatures, 0);
    emit('quant_memory', {
      model: name, variant, parameters: m.parameters, bytes: m.totalBytes, mib: round(m.totalBytes / 2 ** 20),
      bytes_per_parameter: round(m.totalBytes / m.parameters),
      quantized_bytes_per_weight: linearParams === 0 ? null : round((m.quantizedBytes + m.quantStatsBytes) / linearParams),
      by_kind: { quantized: m.quantizedBytes, quant_stats: m.quantStatsBytes, full_precision: m.fullPrecisionBytes },
      by_part_mib: Object.fromEntries(Object.entries(m.parts).map(([k, v]) => [k, round(v / 2 ** 20)])),
      build_seconds: round(seconds), cpu_seconds: round((cpu.user + cpu.system) / 1e6),
      rss_mib: round(process.memoryUsage().rss / 2 ** 20),
    });
    for (const p of model.parameters()) p.dispose();
  }
}
