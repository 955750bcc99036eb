// A Llama layer's second half during decoding, h + down(silu(gate(n)) · up(n)) with n = rmsNorm(h),
// straight through the native kernels over plain Float32Arrays, for GGUF block weights and plain
// float32 / bf16 Linears alike. At one token a step makes ~13 tensor
// operations per layer whose own work is a few microseconds; the Tensor around each (allocation,
// scope tracking, autograd checks, shape and stride handling) cost about as much again. The kernels
// and their operand order are the modules' own, so the result is theirs bit for bit
// (test/gguf/decode-mlp.test.ts).
import { Tensor } from '../../tensor/index.js';
import { native } from '../../tensor/native/index.js';
import { BinaryOp, UnaryOp } from '../../tensor/native/elementwise.js';
import type { Module } from '../../nn/index.js';
import { DECODE_ROWS, FLOAT32, floatsOf, plainProjections, plainRmsNorm, recordsGradient, rmsNormRows, scratchOf } from './arrays.js';

/**
 * h + down(silu(gate(rmsNorm(h))) · up(rmsNorm(h))), what `h.add(mlp.forward(norm.forward(h)))`
 * gives for a gated SiLU MLP; null (the caller runs the modules) unless h is contiguous float32 of
 * at most DECODE_ROWS rows, no gradient is recorded, `norm` is a plain RMSNorm with a float32 weight
 * and gate/up and down are plain projections (arrays.ts's plainProjections: GGUF block weights
 * or plain Linears; an adapter on any of them, training, or a prompt takes the modules' forwards).
 */
export function decodeSiluMlpResidual(h: Tensor, norm: Module, gate: Module, up: Module, down: Module): Tensor | null {
  const rms = plainRmsNorm(norm);
  const gateUp = plainProjections([gate, up]);
  const downProj = plainProjections([down]);
  const x = floatsOf(h);
  if (!rms || !gateUp || !downProj || !x || recordsGradient([h, rms.weight, ...gateUp.parameters, ...downProj.parameters])) return null;
  const width = rms.weight.size;
  const [inner, upInner] = gateUp.outFeatures as [number, number];
  if (h.shape[h.ndim - 1] !== width || gateUp.inFeatures !== width || upInner !== inner || downProj.inFeatures !== inner || downProj.outFeatures[0] !== width) return null;
  const rows = x.length / width;
  if (rows > DECODE_ROWS) return null;
  const n = rmsNormRows(x, rms, 0);
  const gated = scratchOf(2, rows * inner);
  const upped = scratchOf(3, rows * inner);
  gateUp.project(n, rows, [gated, upped]);
  const act = scratchOf(4, rows * inner);
  native.unary(UnaryOp.silu, FLOAT32, gated, 0, [rows * inner], [1], act, 0, 0);
  native.binary(BinaryOp.mul, FLOAT32, act, 0, [1], upped, 0, [1], [rows * inner], gated);
  const mlp = scratchOf(5, rows * width);
  downProj.project(gated, rows, [mlp]);
  const out = Tensor.empty(h.shape, 'float32');
  native.binary(BinaryOp.add, FLOAT32, x, 0, [1], mlp, 0, [1], [rows * width], floatsOf(out)!);
  return out;
}
