// A Llama layer's attention during decoding, around the part that stays on tensors (the KV cache
// and the attention kernel): before it n = rmsNorm(h), q/k/v projected in one call and q, k rotated;
// after it h + o_proj(out). Native calls on plain Float32Arrays, as mlp.ts does for the
// layer's second half, with the modules' kernels in their operand order: their bits
// (test/gguf/decode-attention.test.ts).
import { Tensor } from '../../tensor/index.js';
import { native } from '../../tensor/native/index.js';
import { BinaryOp } from '../../tensor/native/elementwise.js';
import type { Module } from '../../nn/index.js';
import { DECODE_ROWS, FLOAT32, floatsOf, plainProjections, plainRmsNorm, recordsGradient, rmsNormRows, scratchOf } from './arrays.js';

export interface RotaryInputs {
  /** [batch or 1, 1, headDim] float32 tables of the step's position (models/rope.ts's rotaryTables). */
  cos: Tensor;
  sin: Tensor;
}

/**
 * q, k, v [batch, heads, 1, headDim] of one new position per row, q and k rotated, as
 * applyRotaryEmb(splitHeads(proj(rmsNorm(h)))) gives them; null (the caller runs the modules) unless
 * h is [batch ≤ DECODE_ROWS, 1, hidden] contiguous float32, the tables fit, no gradient is recorded,
 * the norm is a plain RMSNorm and the projections plain (arrays.ts's plainProjections).
 */
export function decodeRotatedQkv(
  h: Tensor, norm: Module, projections: readonly [Module, Module, Module], heads: readonly [number, number], rope: RotaryInputs,
): [Tensor, Tensor, Tensor] | null {
  const rms = plainRmsNorm(norm);
  const qkv = plainProjections(projections);
  const x = floatsOf(h);
  const [cos, sin] = [floatsOf(rope.cos), floatsOf(rope.sin)];
  if (!rms || !qkv || !x || !cos || !sin || h.ndim !== 3 || h.shape[1] !== 1) return null;
  if (recordsGradient([h, rms.weight, ...qkv.parameters])) return null;
  const batch = h.shape[0]!;
  if (batch > DECODE_ROWS) return null;
  const width = rms.weight.size;
  const [qOut, kOut, vOut] = qkv.outFeatures as [number, number, number];
  const dim = qOut / heads[0];
  const tableBatch = rope.cos.shape[0]!;
  const fits =
    h.shape[2] === width && qkv.inFeatures === width && Number.isInteger(dim) && dim % 2 === 0 &&
    kOut === heads[1] * dim && vOut === heads[1] * dim &&
    rope.cos.ndim === 3 && rope.cos.shape[1] === 1 && rope.cos.shape[2] === dim && (tableBatch === 1 || tableBatch === batch) &&
    rope.sin.shape.join() === rope.cos.shape.join();
  if (!fits) return null;
  const n = rmsNormRows(x, rms, 0);
  const [qa, ka, v] = [qOut, kOut, vOut].map((out) => new Float32Array(batch * out));
  qkv.project(n, batch, [qa!, ka!, v!]);
  // One position per row: [batch, 1, heads · dim] is [batch, heads, 1, dim] in memory.
  const rotated = (a: Float32Array, count: number) => {
    const out = new Float32Array(a.length);
    native.ropeForward(a, cos, sin, out, batch, count, 1, dim, tableBatch);
    return Tensor.fromArray(out, [batch, count, 1, dim], 'float32');
  };
  return [rotated(qa!, heads[0]), rotated(ka!, heads[1]), Tensor.fromArray(v!, [batch, heads[1], 1, dim], 'float32')];
}

/**
 * h + o_proj(out) for the attention output out [batch, heads, 1, headDim] (contiguous), what
 * `h.add(o_proj.forward(mergeHeads(out)))` gives; null unless o_proj is a plain projection and
 * nothing records a gradient.
 */
export function decodeProjectedResidual(out: Tensor, oProj: Module, h: Tensor): Tensor | null {
  const proj = plainProjections([oProj]);
  const x = floatsOf(h);
  const o = floatsOf(out);
  if (!proj || !x || !o || out.ndim !== 4 || out.shape[2] !== 1 || recordsGradient([h, out, ...proj.parameters])) return null;
  const rows = out.shape[0]!;
  if (o.length !== rows * proj.inFeatures || x.length !== rows * proj.outFeatures[0]!) return null;
  const projected = scratchOf(2, x.length);
  proj.project(o, rows, [projected]);
  const sum = Tensor.empty(h.shape, 'float32');
  native.binary(BinaryOp.add, FLOAT32, x, 0, [1], projected, 0, [1], [x.length], floatsOf(sum)!);
  return sum;
}
