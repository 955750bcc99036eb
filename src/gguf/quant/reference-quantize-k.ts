// The TypeScript reference quantisers of ggml's K-quants (256-element super-blocks): ports of
// ggml-quants.c's quantize_row_q4_K_ref, quantize_row_q5_K_ref, quantize_row_q6_K_ref and
// quantize_row_q8_K_ref with their helpers nearest_int, make_qkx2_quants and make_qx_quants
// (ggml-org/llama.cpp, ggml/src/ggml-quants.c), bit for bit: every float operation rounded to float32
// in C's order (ggml-base is built without fused multiply-adds). These are the quantisers llama.cpp's
// `llama-quantize` uses without an importance matrix.
import { f16ToFloat, floatToF16 } from '../../tensor/half.js';
import { putHalf } from './reference-quantize.js';

const f = Math.fround;
const GROUP_MAX_EPS = f(1e-15);

/** nearest_int: round to nearest, ties to even, through the float32 sum with 1.5 * 2^23. */
function nearestInt(v: number): number {
  return f(v + 12582912) - 12582912;
}

/** The float32 a value becomes when stored as f16 (GGML_FP16_TO_FP32(GGML_FP32_TO_FP16(v))). */
function viaHalf(v: number): number {
  return f16ToFloat(floatToF16(v));
}

/**
 * make_qkx2_quants: levels L[i] in [0, nmax] and (scale, min) with x ≈ scale * L - min, fitted by
 * weighted least squares over nstep + 1 trial scales. Returns [scale, the min it subtracts].
 */
function makeQkx2Quants(
  n: number,
  nmax: number,
  x: Float32Array,
  o: number,
  weights: Float32Array,
  L: Uint8Array,
  lo: number,
  rmin: number,
  rdelta: number,
  nstep: number,
): [number, number] {
  let min = x[o]!;
  let max = x[o]!;
  let sumW = weights[0]!;
  let sumX = f(sumW * x[o]!);
  for (let i = 1; i < n; i++) {
    const v = x[o + i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    const w = weights[i]!;
    sumW = f(sumW + w);
    sumX = f(sumX + f(w * v));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0, lo, lo + n);
    return [0, -min];
  }
  let iscale = f(nmax / f(max - min));
  let scale = f(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const l = Math.max(0, Math.min(nmax, nearestInt(f(iscale * f(x[o + i]! - min)))));
    L[lo + i] = l;
    const diff = f(f(f(scale * l) + min) - x[o + i]!);
    bestError = f(bestError + f(weights[i]! * f(diff * diff)));
  }
  const aux = new Uint8Array(n);
  for (let is = 0; is <= nstep; is++) {
    iscale = f(f(f(rmin + f(rdelta * is)) + nmax) / f(max - min));
    let sumL = 0,
      sumL2 = 0,
      sumXL = 0;
    for (let i = 0; i < n; i++) {
      const l = Math.max(0, Math.min(nmax, nearestInt(f(iscale * f(x[o + i]! - min)))));
      aux[i] = l;
      const wl = f(weights[i]! * l);
      sumL = f(sumL + wl);
      sumL2 = f(sumL2 + f(wl * l));
      sumXL = f(sumXL + f(wl * x[o + i]!));
    }
    const D = f(f(sumW * sumL2) - f(sumL * sumL));
    if (D > 0) {
      let thisScale = f(f(f(sumW * sumXL) - f(sumX * sumL)) / D);
      let thisMin = f(f(f(sumL2 * sumX) - f(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = f(sumXL / sumL2);
      }
      let error = 0;
      for (let i = 0; i < n; i++) {
        const diff = f(f(f(thisScale * aux[i]!) + thisMin) - x[o + i]!);
        error = f(error + f(weights[i]! * f(diff * diff)));
      }
      if (error < bestError) {
        L.set(aux, lo);
        bestError = error;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  return [scale, -min];
}

/**
 * make_qx_quants with rmse_type 1 and no importance weights (w = x²): signed levels L[i] + nmax in
 * [0, 2 nmax), x ≈ scale * (L - nmax), the best of 19 trial scales. Returns the scale.
 */
function makeQxQuants(n: number, nmax: number, x: Float32Array, o: number, L: Uint8Array, lo: number): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[o + i]!);
    if (ax > amax) {
      amax = ax;
      max = x[o + i]!;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + n);
    return 0;
  }
  const level = (iscale: number, v: number): number => Math.max(-nmax, Math.min(nmax - 1, nearestInt(f(iscale * v))));
  let iscale = f(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const v = x[o + i]!;
    const l = level(iscale, v);
    L[lo + i] = l + nmax;
    const w = f(v * v);
    sumlx = f(sumlx + f(f(w * v) * l));
    suml2 = f(suml2 + f(f(w * l) * l));
  }
  let scale = suml2 ? f(sumlx / suml2) : 0;
  let best = f(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = f(-f(nmax + f(f(0.1) * is)) / max);
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const v = x[o + i]!;
      const l = level(iscale, v);
      const w = f(v * v);
      sumlx = f(sumlx + f(f(w * v) * l));
      suml2 = f(suml2 + f(f(w * l) * l));
    }
    if (suml2 > 0 && f(sumlx * sumlx) > f(best * suml2)) {
      for (let i = 0; i < n; i++) L[lo + i] = nmax + level(iscale, x[o + i]!);
      scale = f(sumlx / suml2);
      best = f(scale * sumlx);
    }
  }
  return scale;
}

/** Packs the 8 (scale, min) 6-bit pairs of a Q4_K / Q5_K block into its 12 scale bytes at `s`. */
function putScalesK4(out: Uint8Array, s: number, ls: Uint8Array, lm: Uint8Array): void {
  for (let j = 0; j < 8; j++) {
    if (j < 4) {
      out[s + j] = ls[j]!;
      out[s + j + 4] = lm[j]!;
    } else {
      out[s + j + 4] = (ls[j]! & 0xf) | ((lm[j]! & 0xf) << 4);
      out[s + j - 4] |= (ls[j]! >> 4) << 6;
      out[s + j] |= (lm[j]! >> 4) << 6;
    }
  }
}

/**
 * The common part of quantize_row_q4_K_ref and quantize_row_q5_K_ref for one super-block: per 32
 * elements a (scale, min) by make_qkx2_quants, both quantised to 6 bits against the block's largest,
 * d and dmin stored as f16, then every element requantised against the stored values. Fills L (256
 * levels in [0, nmax]) and the block's first 16 bytes (d, dmin, scales).
 */
function quantizeScalesK(
  x: Float32Array,
  o: number,
  nmax: number,
  rmin: number,
  nstep: number,
  out: Uint8Array,
  b: number,
  L: Uint8Array,
): void {
  const weights = new Float32Array(32);
  const scales = new Float32Array(8);
  const mins = new Float32Array(8);
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < 8; j++) {
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) sumX2 = f(sumX2 + f(x[o + 32 * j + l]! * x[o + 32 * j + l]!));
    const avX = f(Math.sqrt(f(sumX2 / 32)));
    for (let l = 0; l < 32; l++) weights[l] = f(avX + Math.abs(x[o + 32 * j + l]!));
    [scales[j], mins[j]] = makeQkx2Quants(32, nmax, x, o + 32 * j, weights, L, 32 * j, rmin, f(0.1), nstep);
    if (scales[j]! > maxScale) maxScale = scales[j]!;
    if (mins[j]! > maxMin) maxMin = mins[j]!;
  }
  const invScale = maxScale > 0 ? f(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? f(63 / maxMin) : 0;
  const ls = new Uint8Array(8);
  const lm = new Uint8Array(8);
  for (let j = 0; j < 8; j++) {
    ls[j] = Math.min(63, nearestInt(f(invScale * scales[j]!)) & 0xff);
    lm[j] = Math.min(63, nearestInt(f(invMin * mins[j]!)) & 0xff);
  }
  out.fill(0, b + 4, b + 16);
  putScalesK4(out, b + 4, ls, lm);
  putHalf(out, b, f(maxScale / 63));
  putHalf(out, b + 2, f(maxMin / 63));
  const d = viaHalf(f(maxScale / 63));
  const dmin = viaHalf(f(maxMin / 63));
  for (let j = 0; j < 8; j++) {
    const dj = f(d * ls[j]!);
    if (!dj) continue;
    const dm = f(dmin * lm[j]!);
    for (let i = 0; i < 32; i++) {
      L[32 * j + i] = Math.max(0, Math.min(nmax, nearestInt(f(f(x[o + 32 * j + i]! + dm) / dj))));
    }
  }
}

// quantize_row_q4_K_ref: nibbles of sub-blocks 2i (low) and 2i + 1 (high) share 32 bytes.
function q4_K(x: Float32Array, o: number, out: Uint8Array, b: number): void {
  const L = new Uint8Array(256);
  quantizeScalesK(x, o, 15, f(-1), 20, out, b, L);
  for (let i = 0; i < 4; i++)
    for (let l = 0; l < 32; l++) out[b + 16 + 32 * i + l] = L[64 * i + l]! | (L[64 * i + l + 32]! << 4);
}

// quantize_row_q5_K_ref: as Q4_K, the fifth bits of sub-blocks 2i and 2i + 1 in bits 2i, 2i + 1 of qh.
function q5_K(x: Float32Array, o: number, out: Uint8Array, b: number): void {
  const L = new Uint8Array(256);
  quantizeScalesK(x, o, 31, f(-0.5), 15, out, b, L);
  out.fill(0, b + 16, b + 48);
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 32; j++) {
      const l1 = L[64 * i + j]!;
      const l2 = L[64 * i + j + 32]!;
      if (l1 > 15) out[b + 16 + j] |= 1 << (2 * i);
      if (l2 > 15) out[b + 16 + j] |= 2 << (2 * i);
      out[b + 48 + 32 * i + j] = (l1 & 15) | ((l2 & 15) << 4);
    }
  }
}

// quantize_row_q6_K_ref: per 16 elements a scale by make_qx_quants(nmax 32), the scales quantised to
// int8 against the largest (d = max / -128 as f16), every element requantised to 6 bits.
function q6_K(x: Float32Array, o: number, out: Uint8Array, b: number): void {
  const L = new Uint8Array(256);
  const scales = new Float32Array(16);
  let maxScale = 0;
  let maxAbsScale = 0;
  for (let ib = 0; ib < 16; ib++) {
    const scale = makeQxQuants(16, 32, x, o + 16 * ib, L, 16 * ib);
    scales[ib] = scale;
    if (Math.abs(scale) > maxAbsScale) {
      maxAbsScale = Math.abs(scale);
      maxScale = scale;
    }
  }
  out.fill(0, b, b + 210);
  if (maxAbsScale < GROUP_MAX_EPS) return;
  const iscale = f(-128 / maxScale);
  putHalf(out, b + 208, f(1 / iscale));
  const d = viaHalf(f(1 / iscale));
  for (let ib = 0; ib < 16; ib++) out[b + 192 + ib] = Math.min(127, nearestInt(f(iscale * scales[ib]!))) & 0xff;
  for (let j = 0; j < 16; j++) {
    const dj = f(d * ((out[b + 192 + j]! << 24) >> 24));
    if (!dj) continue;
    for (let i = 0; i < 16; i++)
      L[16 * j + i] = Math.max(-32, Math.min(31, nearestInt(f(x[o + 16 * j + i]! / dj)))) + 32;
  }
  for (let n = 0; n < 2; n++) {
    const ql = b + 64 * n,
      qh = b + 128 + 32 * n,
      at = 128 * n;
    for (let l = 0; l < 32; l++) {
      const q1 = L[at + l]!,
        q2 = L[at + l + 32]!,
        q3 = L[at + l + 64]!,
        q4 = L[at + l + 96]!;
      out[ql + l] = (q1 & 15) | ((q3 & 15) << 4);
      out[ql + l + 32] = (q2 & 15) | ((q4 & 15) << 4);
      out[qh + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
    }
  }
}

// quantize_row_q8_K_ref: d = max / -127 (float32), qs = min(127, nearest(x / d)), bsums per 16.
function q8_K(x: Float32Array, o: number, out: Uint8Array, b: number): void {
  const view = new DataView(out.buffer, out.byteOffset + b, 292);
  let max = 0;
  let amax = 0;
  for (let j = 0; j < 256; j++) {
    const ax = Math.abs(x[o + j]!);
    if (ax > amax) {
      amax = ax;
      max = x[o + j]!;
    }
  }
  out.fill(0, b, b + 292);
  if (!amax) return;
  const iscale = f(-127 / max);
  for (let j = 0; j < 256; j++) {
    const v = Math.min(127, nearestInt(f(iscale * x[o + j]!)));
    view.setInt8(4 + j, v);
    view.setInt16(260 + 2 * (j >> 4), view.getInt16(260 + 2 * (j >> 4), true) + v, true);
  }
  view.setFloat32(0, f(1 / iscale), true);
}

export const K_BLOCK_ENCODERS = { Q4_K: q4_K, Q5_K: q5_K, Q6_K: q6_K, Q8_K: q8_K } as const;
