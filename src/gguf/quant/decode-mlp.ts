// A Llama layer's second half during decoding, h + down(silu(gate(n)) · up(n)) with n = rmsNorm(h),
// straight through the native kernels over plain Float32Arrays. At one token a step makes ~13 tensor
// operations per layer whose own work is a few microseconds; the Tensor around each (allocation,
// scope tracking, autograd checks, shape and stride handling) cost about as much again. The kernels
// and their operand order are the modules' own, so the result is theirs bit for bit
// (test/gguf/decode-mlp.test.ts).
import { Tensor } from '../../tensor/index.js';
import { native } from '../../tensor/native/index.js';
import { BinaryOp, UnaryOp } from '../../tensor/native/elementwise.js';
import type { Module } from '../../nn/index.js';
import { DECODE_ROWS, FLOAT32, floatsOf, plainGgmlLinears, plainRmsNorm, recordsGradient, rmsNormRows, scratchOf } from './decode-arrays.js';

/**
 * h + down(silu(gate(rmsNorm(h))) · up(rmsNorm(h))), what `h.add(mlp.forward(norm.forward(h)))`
 * gives for a gated SiLU MLP; null (the caller runs the modules) unless h is contiguous float32 of
 * at most DECODE_ROWS rows, no gradient is recorded, `norm` is a plain RMSNorm with a float32 weight
 * and the three projections are plain GgmlLinears on the integer path with float32 biases or none
 * (an adapter on any of them, training, or a prompt takes the modules' forwards).
 */
export function ggmlSiluMlpResidual(h: Tensor, norm: Module, gate: Module, up: Module, down: Module): Tensor | null {
  const rms = plainRmsNorm(norm);
  const linears = plainGgmlLinears([gate, up, down]);
  const x = floatsOf(h);
  if (!rms || !linears || !x || recordsGradient([h, rms.weight, ...linears.map((l) => l.bias)])) return null;
  const [g, u, d] = linears as [typeof linears[0], typeof linears[0], typeof linears[0]];
  const width = rms.weight.size;
  const inner = g.ggml.shape[0];
  if (h.shape[h.ndim - 1] !== width || g.ggml.shape[1] !== width || u.ggml.shape[0] !== inner || d.ggml.shape[1] !== inner) return null;
  const rows = x.length / width;
  if (rows > DECODE_ROWS) return null;
  const n = rmsNormRows(x, rms, 0);
  const gated = scratchOf(2, rows * inner);
  const upped = scratchOf(3, rows * inner);
  native.ggmlLinearMany(n, rows, [g.ggml, u.ggml], [floatsOf(g.bias), floatsOf(u.bias)], [gated, upped]);
  const act = scratchOf(4, rows * inner);
  native.unary(UnaryOp.silu, FLOAT32, gated, 0, [rows * inner], [1], act, 0, 0);
  native.binary(BinaryOp.mul, FLOAT32, act, 0, [1], upped, 0, [1], [rows * inner], gated);
  const mlp = scratchOf(5, rows * width);
  native.ggmlLinear(gated, rows, d.ggml, floatsOf(d.bias), mlp);
  const out = Tensor.empty(h.shape, 'float32');
  native.binary(BinaryOp.add, FLOAT32, x, 0, [1], mlp, 0, [1], [rows * width], floatsOf(out)!);
  return out;
}
