// A plain Linear [rows, cols] over a float32 or bf16 weight (an HF checkpoint, an F32 GGUF file) with
// random weights (and bias) from `seed`: what the decode-path tests set beside GGUF block weights.
import { Tensor } from '../../src/tensor/index.js';
import { Linear, Parameter } from '../../src/nn/index.js';
import { gaussian } from '../quant/data.js';

export function denseLinear(dtype: 'float32' | 'bfloat16', rows: number, cols: number, seed: number, bias: boolean): Linear {
  const l = new Linear(cols, rows, { bias });
  l.weight = new Parameter(Tensor.fromArray(gaussian(seed, rows * cols), [rows, cols], 'float32').to(dtype), false);
  if (bias) l.bias = new Parameter(Tensor.fromArray(gaussian(seed + 100, rows), [rows], 'float32'), false);
  return l;
}
