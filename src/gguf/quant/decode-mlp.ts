// A Llama layer's second half during decoding, h + down(silu(gate(n)) · up(n)) with n = rmsNorm(h),
// straight through the native kernels over plain Float32Arrays. At one token a step makes ~13 tensor
// operations per layer whose own work is a few microseconds; the Tensor around each (allocation,
// scope tracking, autograd checks, shape and stride handling) cost about as much again. The kernels
// and their operand order are the modules' own, so the result is theirs bit for bit
// (test/gguf/decode-mlp.test.ts).
import { Tensor, isGradEnabled } from '../../tensor/index.js';
import { native } from '../../tensor/native/index.js';
import { BinaryOp, UnaryOp } from '../../tensor/native/elementwise.js';
import { RMSNorm, type Module } from '../../nn/index.js';
import { GgmlLinear, hasIntegerPath } from './linear.js';

const FLOAT32 = 0; // DTYPES.float32.code

/** Grow-only scratch: intermediates of one call, never handed out (the call is synchronous). */
const scratch: Float32Array[] = [];
function scratchOf(slot: number, n: number): Float32Array {
  if ((scratch[slot]?.length ?? -1) < n) scratch[slot] = new Float32Array(n);
  return scratch[slot]!.subarray(0, n);
}

function floatsOf(t: Tensor | null): Float32Array | null {
  if (!t || t.dtype !== 'float32' || !t.isContiguous()) return null;
  return (t.buffer as Float32Array).subarray(t.offset, t.offset + t.size);
}

/**
 * h + down(silu(gate(rmsNorm(h))) · up(rmsNorm(h))), what `h.add(mlp.forward(norm.forward(h)))`
 * gives for a gated SiLU MLP; null (the caller runs the modules) unless h is contiguous float32, no
 * gradient is recorded, `norm` is a plain RMSNorm with a float32 weight and the three projections are
 * plain GgmlLinears on the integer path with float32 biases or none (an adapter on any of them, or
 * training, takes the modules' forwards).
 */
export function ggmlSiluMlpResidual(h: Tensor, norm: Module, gate: Module, up: Module, down: Module): Tensor | null {
  if (!hasIntegerPath() || (isGradEnabled() && h.requiresGrad)) return null;
  if (norm.constructor !== RMSNorm || ![gate, up, down].every((l) => l.constructor === GgmlLinear)) return null;
  const [g, u, d] = [gate, up, down] as GgmlLinear[];
  const rms = norm as RMSNorm;
  const x = floatsOf(h);
  const weight = floatsOf(rms.weight);
  const biases = [g!, u!, d!].map((l) => floatsOf(l.bias));
  if (!x || !weight || [g!, u!, d!].some((l, i) => l.bias !== null && biases[i] === null)) return null;
  if (isGradEnabled() && (rms.weight.requiresGrad || [g!, u!, d!].some((l) => l.bias?.requiresGrad))) return null;
  const width = weight.length;
  const inner = g!.ggml.shape[0];
  if (h.shape[h.ndim - 1] !== width || g!.ggml.shape[1] !== width || u!.ggml.shape[0] !== inner || d!.ggml.shape[1] !== inner) return null;
  const rows = x.length / width;
  const n = scratchOf(0, rows * width);
  native.rmsNormForward(x, weight, n, scratchOf(1, rows), rows, width, rms.eps);
  const gated = scratchOf(2, rows * inner);
  const upped = scratchOf(3, rows * inner);
  native.ggmlLinearMany(n, rows, [g!.ggml, u!.ggml], [biases[0]!, biases[1]!], [gated, upped]);
  const act = scratchOf(4, rows * inner);
  native.unary(UnaryOp.silu, FLOAT32, gated, 0, [rows * inner], [1], act, 0, 0);
  native.binary(BinaryOp.mul, FLOAT32, act, 0, [1], upped, 0, [1], [rows * inner], gated);
  const mlp = scratchOf(5, rows * width);
  native.ggmlLinear(gated, rows, d!.ggml, biases[2]!, mlp);
  const out = Tensor.empty(h.shape, 'float32');
  native.binary(BinaryOp.add, FLOAT32, x, 0, [1], mlp, 0, [1], [rows * width], floatsOf(out)!);
  return out;
}
