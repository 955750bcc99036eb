// The TypeScript reference of every quantiser, which defines bit-exactness with bitsandbytes
// (see ./blockwise.ts for the sources followed): the oracle the native kernels are tested
// against. Library code uses ./functional.ts (native) instead.
import { dequantize4bitArray, quantize4bitArray, quantize8bitArray } from './blockwise.js';
import { blockAbsmax, quantizeState4, type Quantize4bitOptions } from './functional.js';
import type { QuantState4, QuantStateInt8 } from './state.js';
import { f16ToFloat, floatToF16 } from '../tensor/half.js';

const f32 = Math.fround;

export function referenceQuantizeState4(values: Float32Array, shape: readonly number[], options: Quantize4bitOptions = {}): QuantState4 {
  return quantizeState4(values, shape, options, { quantize4: quantize4bitArray, quantize8: quantize8bitArray });
}

export function referenceDequantizeState4(state: QuantState4): Float32Array {
  return dequantize4bitArray(state.packed, blockAbsmax(state), state.shape.reduce((n, d) => n * d, 1), state.blockSize, state.code);
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * int8_vectorwise_quant without outliers (bitsandbytes/backends/default/ops.py) of the values in
 * float16 (Int8Params._quantize and MatMul8bitLt cast to float16 first): row absmax s,
 * round(x * (127 / s)) half to even; an all-zero row gives 0 * inf = NaN there, cast to 0.
 */
export function referenceQuantizeInt8(wide: Float32Array, rows: number, cols: number): QuantStateInt8 {
  const values = Float32Array.from(wide, (v) => f16ToFloat(floatToF16(v)));
  const data = new Int8Array(values.length);
  const rowAbsmax = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let max = 0;
    for (let c = 0; c < cols; c++) max = Math.max(max, Math.abs(values[r * cols + c]!));
    rowAbsmax[r] = max;
    const scale = f32(127 / max);
    for (let c = 0; c < cols; c++) data[r * cols + c] = max === 0 ? 0 : roundHalfEven(f32(values[r * cols + c]! * scale));
  }
  return { shape: [rows, cols], data, rowAbsmax };
}

/** 1 / 127 as bitsandbytes writes it (int8_vectorwise_dequant). */
const INV_127 = f32(7.874015718698502e-3);

/** int8_vectorwise_dequant: (q * s) * (1 / 127) in float32. */
export function referenceDequantizeInt8(state: QuantStateInt8): Float32Array {
  const [rows, cols] = state.shape as [number, number];
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const s = state.rowAbsmax[r]!;
    for (let c = 0; c < cols; c++) out[r * cols + c] = f32(f32(state.data[r * cols + c]! * s) * INV_127);
  }
  return out;
}

/** bitsandbytes' MM_DEQUANT_CONST, 1 / 127² as float32 (int8_mm_dequant). */
const MM_DEQUANT = f32(6.200124e-5);

/**
 * Linear8bitLt's forward with threshold 0 (MatMul8bitLt, bitsandbytes' default backend): x [M, K]
 * quantised row-wise as int8_vectorwise_quant (in float16), the exact integer sums with the
 * int8 weight, then int8_mm_dequant: acc * (sx * sw) * (1/127²) in float32, + bias.
 */
export function referenceLinearInt8(x: Float32Array, M: number, w: QuantStateInt8, bias: Float32Array | null = null): Float32Array {
  const [N, K] = w.shape as [number, number];
  const q = referenceQuantizeInt8(x, M, K);
  const y = new Float32Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += q.data[i * K + k]! * w.data[j * K + k]!;
      const v = f32(f32(f32(acc) * f32(q.rowAbsmax[i]! * w.rowAbsmax[j]!)) * MM_DEQUANT);
      y[i * N + j] = bias ? f32(v + bias[j]!) : v;
    }
  return y;
}
