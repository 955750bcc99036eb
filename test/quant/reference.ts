// Straightforward references for the quantisation kernels, written from bitsandbytes' algorithms
// (backends/default/ops.py: nearest code by argmin; csrc/kernels.cu: the FP4 sign bit and float32
// reciprocal), one element at a time in plain TypeScript.
const f = Math.fround;

/** Deterministic normal-ish numbers (sum of uniforms), float32. */
export function gaussian(seed: number, n: number): Float32Array {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  return Float32Array.from({ length: n }, () => f(u() + u() + u() + u() - 2));
}

function nearest(v: number, code: ArrayLike<number>, from: number, to: number): number {
  let best = from;
  for (let k = from + 1; k < to; k++) if (Math.abs(v - code[k]!) < Math.abs(v - code[best]!)) best = k;
  return best;
}

/** The 4-bit index of a scaled value: nearest NF4 value (ties: the lower), or FP4 sign bit + nearest magnitude. */
export function index4(v: number, code: Float32Array, fp4: boolean): number {
  if (Number.isNaN(v)) return 0;
  if (!fp4) return nearest(v, code, 0, 16);
  return (v < 0 ? 8 : 0) + nearest(Math.abs(v), code, 0, 8);
}

function blockAbsmax(x: ArrayLike<number>, e0: number, e1: number): number {
  let m = -Infinity;
  for (let e = e0; e < e1; e++) m = Math.max(m, Math.abs(x[e]!));
  return m;
}

export function quantize4Ref(x: Float32Array, block: number, code: Float32Array, fp4: boolean) {
  const n = x.length;
  const packed = new Uint8Array(Math.ceil(n / 2));
  const absmax = new Float32Array(Math.ceil(n / block));
  for (let b = 0; b < absmax.length; b++) {
    const e0 = b * block;
    const e1 = Math.min(n, e0 + block);
    absmax[b] = blockAbsmax(x, e0, e1);
    const r = f(1 / absmax[b]!);
    for (let e = e0; e < e1; e++) {
      const q = index4(f((x[e] ?? 0) * r), code, fp4);
      packed[e >> 1]! |= e % 2 === 0 ? q << 4 : q;
    }
    if (e1 === n && n % 2 === 1) packed[n >> 1]! |= index4(f(0 * r), code, fp4);
  }
  return { packed, absmax };
}

export function quantize8Ref(x: Float32Array, block: number, code: Float32Array) {
  const out = new Uint8Array(x.length);
  const absmax = new Float32Array(Math.ceil(x.length / block));
  for (let b = 0; b < absmax.length; b++) {
    const e0 = b * block;
    const e1 = Math.min(x.length, e0 + block);
    absmax[b] = blockAbsmax(x, e0, e1);
    const r = f(1 / absmax[b]!);
    for (let e = e0; e < e1; e++) out[e] = nearest(f(x[e]! * r), code, 0, 256);
  }
  return { out, absmax };
}

/** Block scales as bitsandbytes' dequantize_4bit computes them (nested: code8[q] * absmax2 + offset in float32). */
export function scalesRef(state: {
  absmax: Float32Array | null;
  nested: { codes: Uint8Array; code: Float32Array; absmax: Float32Array; blockSize: number; offset: number } | null;
}): Float32Array {
  if (state.absmax) return state.absmax;
  const q = state.nested!;
  return Float32Array.from(q.codes, (c, b) => f(f(q.code[c]! * q.absmax[Math.floor(b / q.blockSize)]!) + q.offset));
}

export function dequantize4Ref(
  packed: Uint8Array,
  n: number,
  block: number,
  code: Float32Array,
  scales: Float32Array,
): Float32Array {
  return Float32Array.from({ length: n }, (_, e) => {
    const q = e % 2 === 0 ? packed[e >> 1]! >> 4 : packed[e >> 1]! & 15;
    return f(code[q]! * scales[Math.floor(e / block)]!);
  });
}

export function quantizeInt8Ref(x: Float32Array, rows: number, cols: number) {
  const data = new Int8Array(rows * cols);
  const rowAbsmax = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    rowAbsmax[r] = blockAbsmax(x, r * cols, (r + 1) * cols);
    const scale = f(127 / rowAbsmax[r]!);
    for (let c = 0; c < cols; c++) {
      const v = f(x[r * cols + c]! * scale);
      const floor = Math.floor(v);
      const diff = v - floor;
      data[r * cols + c] = diff > 0.5 || (diff === 0.5 && floor % 2 !== 0) ? floor + 1 : floor; // half to even
    }
  }
  return { data, rowAbsmax };
}

/** y = x·Wᵀ (+ b) in float64: x [M, K], W [N, K]. */
export function linearRef(
  x: ArrayLike<number>,
  M: number,
  w: ArrayLike<number>,
  N: number,
  K: number,
  bias?: ArrayLike<number>,
): Float64Array {
  const y = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = bias ? bias[j]! : 0;
      for (let k = 0; k < K; k++) s += x[i * K + k]! * w[j * K + k]!;
      y[i * N + j] = s;
    }
  return y;
}

/** gx = gy·W in float64: gy [M, N], W [N, K]. */
export function linearGradRef(
  gy: ArrayLike<number>,
  M: number,
  w: ArrayLike<number>,
  N: number,
  K: number,
): Float64Array {
  const gx = new Float64Array(M * K);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      const g = gy[i * N + j]!;
      for (let k = 0; k < K; k++) gx[i * K + k] += g * w[j * K + k]!;
    }
  return gx;
}
