// A Llama layer's attention during decoding, around the part that stays on tensors (the KV cache
// and the attention kernel): before it n = rmsNorm(h), q/k/v projected in one call and q, k rotated;
// after it h + o_proj(out). Native calls on plain Float32Arrays, as decode-mlp.ts does for the
// layer's second half, with the modules' kernels in their operand order: their bits
// (test/gguf/decode-attention.test.ts).
import { Tensor } from '../../tensor/index.js';
import { native } from '../../tensor/native/index.js';
import { BinaryOp } from '../../tensor/native/elementwise.js';
import type { Module } from '../../nn/index.js';
import { DECODE_ROWS, FLOAT32, floatsOf, plainGgmlLinears, plainRmsNorm, recordsGradient, rmsNormRows, scratchOf } from './decode-arrays.js';

export interface RotaryInputs {
  /** [batch or 1, 1, headDim] float32 tables of the step's position (models/rope.ts's rotaryTables). */
  cos: Tensor;
  sin: Tensor;
}

/**
 * q, k, v [batch, heads, 1, headDim] of one new position per row, q and k rotated, as
 * applyRotaryEmb(splitHeads(proj(rmsNorm(h)))) gives them; null (the caller runs the modules) unless
 * h is [batch ≤ DECODE_ROWS, 1, hidden] contiguous float32, the tables fit, no gradient is recorded,
 * the norm is a plain RMSNorm and the projections plain GgmlLinears on the integer path.
 */
export function ggmlRotatedQkv(
  h: Tensor, norm: Module, projections: readonly [Module, Module, Module], heads: readonly [number, number], rope: RotaryInputs,
): [Tensor, Tensor, Tensor] | null {
  const rms = plainRmsNorm(norm);
  const linears = plainGgmlLinears(projections);
  const x = floatsOf(h);
  const [cos, sin] = [floatsOf(rope.cos), floatsOf(rope.sin)];
  if (!rms || !linears || !x || !cos || !sin || h.ndim !== 3 || h.shape[1] !== 1) return null;
  if (recordsGradient([h, rms.weight, ...linears.map((l) => l.bias)])) return null;
  const batch = h.shape[0]!;
  if (batch > DECODE_ROWS) return null;
  const width = rms.weight.size;
  const dim = linears[0]!.ggml.shape[0] / heads[0];
  const tableBatch = rope.cos.shape[0]!;
  const fits =
    h.shape[2] === width && linears.every((l) => l.ggml.shape[1] === width) && Number.isInteger(dim) && dim % 2 === 0 &&
    [linears[1]!, linears[2]!].every((l) => l.ggml.shape[0] === heads[1] * dim) &&
    rope.cos.ndim === 3 && rope.cos.shape[1] === 1 && rope.cos.shape[2] === dim && (tableBatch === 1 || tableBatch === batch) &&
    rope.sin.shape.join() === rope.cos.shape.join();
  if (!fits) return null;
  const n = rmsNormRows(x, rms, 0);
  const [qa, ka, v] = linears.map((l) => new Float32Array(batch * l.ggml.shape[0]));
  native.ggmlLinearMany(n, batch, linears.map((l) => l.ggml), linears.map((l) => floatsOf(l.bias)), [qa!, ka!, v!]);
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
 * `h.add(o_proj.forward(mergeHeads(out)))` gives; null unless o_proj is a plain GgmlLinear on the
 * integer path and nothing records a gradient.
 */
export function ggmlProjectedResidual(out: Tensor, oProj: Module, h: Tensor): Tensor | null {
  const linears = plainGgmlLinears([oProj]);
  const x = floatsOf(h);
  const o = floatsOf(out);
  if (!linears || !x || !o || out.ndim !== 4 || out.shape[2] !== 1 || recordsGradient([h, out, linears[0]!.bias])) return null;
  const w = linears[0]!.ggml;
  const rows = out.shape[0]!;
  if (o.length !== rows * w.shape[1] || x.length !== rows * w.shape[0]) return null;
  const projected = scratchOf(2, x.length);
  native.ggmlLinear(o, rows, w, floatsOf(linears[0]!.bias), projected);
  const sum = Tensor.empty(h.shape, 'float32');
  native.binary(BinaryOp.add, FLOAT32, x, 0, [1], projected, 0, [1], [x.length], floatsOf(sum)!);
  return sum;
}
