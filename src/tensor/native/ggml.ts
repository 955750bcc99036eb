import type { GgmlTensor } from '../../gguf/quant/tensor.js';

/**
 * ggml's block-type kernels (native/src/ggml/, bound in native/src/bind_ggml.cc). A weight is a
 * GgmlTensor ([rows, cols], cols a whole number of blocks, data exactly its bytes, else RangeError).
 */
export interface GgmlKernels {
  /** out [rows * cols] = the weight's values, as ggml's dequantize_row_* gives them. */
  ggmlDequantize(weight: GgmlTensor, out: Float32Array): void;
  /** out [n, cols] = rows ids[0..n) of the weight (each id checked against the rows). */
  ggmlGetRows(weight: GgmlTensor, ids: Int32Array, out: Float32Array): void;
  /** y [M, rows] = x [M, cols]·Wᵀ + bias. */
  ggmlLinear(x: Float32Array, M: number, weight: GgmlTensor, bias: Float32Array | null, y: Float32Array): void;
  /**
   * ys[w] [M, rows_w] = x [M, cols]·W_wᵀ + biases[w] for weights of the same cols read from one x (a
   * layer's q/k/v or gate/up): x is quantised once and one job covers all their rows.
   */
  ggmlLinearMany(x: Float32Array, M: number, weights: GgmlTensor[], biases: (Float32Array | null)[], ys: Float32Array[]): void;
  /** gx [M, cols] = gy [M, rows]·W. */
  ggmlLinearBackward(gy: Float32Array, M: number, weight: GgmlTensor, gx: Float32Array): void;
}
