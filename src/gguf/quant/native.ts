// Whole-tensor dequantisation on the native kernels (native/src/ggml/): the values of
// ./reference-dequantize.ts (test/gguf/quant-kernels.test.ts holds them equal), multi-threaded.
import { native } from '../../tensor/native/index.js';
import { BLOCK_LAYOUT, type GgmlBlockType } from './blocks.js';
import { ggmlTensor, type GgmlTensor } from './tensor.js';

/** `count` elements of `type` from `bytes` (exactly their blocks), as float32: gguf-read's `{ dtype }` path. */
export function dequantizeGgml(type: GgmlBlockType, bytes: Uint8Array, count: number): Float32Array {
  const block = BLOCK_LAYOUT[type]?.elements ?? 1;
  const rows = count % block === 0 && count > 0 ? count / block : 1;
  const tensor = ggmlTensor(type, [rows, count / rows], bytes);
  return dequantizeTensor(tensor);
}

/** A GgmlTensor's values, row-major [rows * cols]. */
export function dequantizeTensor(tensor: GgmlTensor, out?: Float32Array): Float32Array {
  const result = out ?? new Float32Array(tensor.shape[0] * tensor.shape[1]);
  native.ggmlDequantize(tensor, result);
  return result;
}
