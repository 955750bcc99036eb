// Where a model's bytes are: by part (embeddings, attention, feed-forward, norms, head, other)
// and by kind (quantised codes, their statistics, full-precision parameters). For `peft info`
// and the memory benchmark.
import { DTYPES } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/index.js';
import type { Module } from '../nn/index.js';
import { Linear4bit, Linear8bitLt } from './linear.js';

export interface MemoryReport {
  totalBytes: number;
  /** Bytes per part of the model, named from module paths. */
  parts: Record<string, number>;
  /** Packed 4-bit codes and int8 values. */
  quantizedBytes: number;
  /** Block absmax values (or their codes and nested scales), code books, int8 row scales. */
  quantStatsBytes: number;
  /** Every other parameter, in its own dtype. */
  fullPrecisionBytes: number;
  /** Parameters that hold the model's weights (a quantised weight counts its original numel). */
  parameters: number;
}

const PARTS: [string, RegExp][] = [
  ['embeddings', /(^|\.)(embed_tokens|wte|wpe|embeddings|shared|embed_positions)(\.|$)/],
  ['head', /(^|\.)(lm_head|classifier|score|qa_outputs|pooler)(\.|$)/],
  ['norms', /(norm|ln_\w+|ln_f|layernorm|LayerNorm)(\.|$)/],
  ['attention', /(^|\.)(self_attn|attn|attention|SelfAttention|EncDecAttention|crossattention)(\.|$)/],
  ['feed-forward', /(^|\.)(mlp|DenseReluDense|intermediate|output|feed_forward)(\.|$)/],
];

/** The part a parameter path belongs to. */
export function partOf(path: string): string {
  return PARTS.find(([, re]) => re.test(path))?.[0] ?? 'other';
}

export function modelMemory(model: Module): MemoryReport {
  const report: MemoryReport = { totalBytes: 0, parts: {}, quantizedBytes: 0, quantStatsBytes: 0, fullPrecisionBytes: 0, parameters: 0 };
  const add = (path: string, bytes: number, kind: 'quantizedBytes' | 'quantStatsBytes' | 'fullPrecisionBytes') => {
    report[kind] += bytes;
    report.totalBytes += bytes;
    const part = partOf(path);
    report.parts[part] = (report.parts[part] ?? 0) + bytes;
  };
  const seen = new Set<Tensor>();
  for (const [path, m] of model.namedModules()) {
    if (m instanceof Linear4bit) {
      add(path, m.quantState.packed.byteLength, 'quantizedBytes');
      add(path, m.weightBytes - m.quantState.packed.byteLength, 'quantStatsBytes');
      report.parameters += m.inFeatures * m.outFeatures;
      seen.add(m.weight);
    } else if (m instanceof Linear8bitLt) {
      add(path, m.quantState.data.byteLength, 'quantizedBytes');
      add(path, m.quantState.rowAbsmax.byteLength, 'quantStatsBytes');
      report.parameters += m.inFeatures * m.outFeatures;
      seen.add(m.weight);
    }
    for (const [name, p] of m.ownParameters()) {
      if (seen.has(p)) continue;
      seen.add(p);
      add(path ? `${path}.${name}` : name, p.size * DTYPES[p.dtype].bytes, 'fullPrecisionBytes');
      report.parameters += p.size;
    }
  }
  return report;
}
