// Scaled-dot-product attention as one fused native kernel (flash-style: no T×T matrix is kept),
// with causal and padding masks, grouped-query heads, sliding windows, an additive bias and dropout.
import { DTypeError, ShapeError, ValueError, formatShape } from '../errors.js';
import { record } from '../autograd.js';
import type { DType } from '../dtype.js';
import { isGradEnabled } from '../grad-mode.js';
import { defaultGenerator, type Generator } from '../random.js';
import { Tensor } from '../tensor.js';
import { native } from '../native/index.js';
import { full } from './create-ops.js';
import { castBack, packed, releaseTemp, rowComputeType, floats, elements } from './row-kernels.js';

export interface AttentionOptions {
  /** Query i sees key j only if j <= i + (keys - queries) (so cached or prefix keys stay visible). */
  causal?: boolean;
  /** [batch, keys], true/1 = attend, false/0 = masked (padding). */
  keyPaddingMask?: Tensor | null;
  /** Additive scores [batch|1, heads|1, queries, keys] (T5's relative bias, custom masks); may require grad. */
  bias?: Tensor | null;
  /** Default 1/√headDim. */
  scale?: number;
  /** Additionally limits causal attention to the last `slidingWindow` keys (Mistral); 0 = off. */
  slidingWindow?: number;
  /** Attention dropout probability (training). */
  dropoutP?: number;
  generator?: Generator;
}

/**
 * softmax(q·kᵀ·scale + bias + masks)·v for q [B, Hq, Tq, D] and k, v [B, Hkv, Tk, D] with Hq a
 * multiple of Hkv (grouped-query attention). Rows whose keys are all masked give zeros.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  if (q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4) {
    throw new ShapeError(`attention: q, k, v must be [batch, heads, seq, dim]; got ${formatShape(q.shape)}, ${formatShape(k.shape)}, ${formatShape(v.shape)}`);
  }
  const [B, Hq, Tq, D] = q.shape as [number, number, number, number];
  const [kb, Hkv, Tk, kd] = k.shape as [number, number, number, number];
  if (kb !== B || kd !== D || v.shape.join() !== k.shape.join() || Hq % Hkv !== 0) {
    throw new ShapeError(`attention: q ${formatShape(q.shape)}, k ${formatShape(k.shape)}, v ${formatShape(v.shape)} do not fit (query heads must be a multiple of key heads)`);
  }
  const scale = options.scale ?? 1 / Math.sqrt(D);
  const dropoutP = options.dropoutP ?? 0;
  if (!(dropoutP >= 0 && dropoutP < 1)) throw new ValueError(`attention: dropoutP must be in [0, 1), not ${dropoutP}`);
  const window = options.slidingWindow ?? 0;
  const ct = rowComputeType(q.dtype, 'attention');
  const mask = options.keyPaddingMask ? keyMask(options.keyPaddingMask, B, Tk) : null;
  const bias = options.bias ?? null;
  const [biasB, biasH] = bias ? biasShape(bias, B, Hq, Tq, Tk) : [1, 1];
  const seed = dropoutP > 0 ? (options.generator ?? defaultGenerator).nextUint32() : 0;
  const inputs = bias ? [q, k, v, bias] : [q, k, v];
  // Without a backward to feed, k and v are read in place when only their heads are spread (a KV cache).
  const inPlaceRows = isGradEnabled() && inputs.some((t) => t.requiresGrad) ? null : sharedHeadRows(k, v, ct);
  const kvRows = inPlaceRows ?? Tk;
  const qi = packed(q, ct);
  const ki = inPlaceRows === null ? packed(k, ct) : k;
  const vi = inPlaceRows === null ? packed(v, ct) : v;
  const bi = bias ? packed(bias, ct) : null;
  const arr = (t: Tensor) => floats(t);
  const kv = (t: Tensor) => headsOf(t, B * Hkv, kvRows, Tk, D);
  const out = Tensor.empty([B, Hq, Tq, D], ct);
  const lse = Tensor.empty([B, Hq, Tq], ct);
  const sizes = [B, Hq, Hkv, Tq, Tk, D, scale, options.causal ?? false, window, biasB, biasH, dropoutP, seed] as const;
  if (out.size > 0) native.attentionForward(arr(qi), kv(ki), kv(vi), bi && arr(bi), mask && elements<Uint8Array>(mask), floats(out), floats(lse), ...sizes, kvRows);
  const y = record(out, 'attention', inputs, (g) => {
    const gi = packed(g, ct);
    const gq = Tensor.empty(q.shape, ct);
    const gk = Tensor.empty(k.shape, ct);
    const gv = Tensor.empty(v.shape, ct);
    const gb = bias?.requiresGrad ? full([biasB, biasH, Tq, Tk], 0, ct) : null;
    native.attentionBackward(arr(qi), arr(ki), arr(vi), bi && arr(bi), mask && elements<Uint8Array>(mask), floats(out), floats(lse), arr(gi),
      floats(gq), floats(gk), floats(gv), (gb && floats(gb)), ...sizes);
    releaseTemp(gi, g);
    return [
      q.requiresGrad ? castBack(gq, q.dtype) : null,
      k.requiresGrad ? castBack(gk, k.dtype) : null,
      v.requiresGrad ? castBack(gv, v.dtype) : null,
      gb && castBack(gb.reshape(bias!.shape), bias!.dtype),
    ];
  }, [qi, ki, vi, out, lse, ...(bi ? [bi] : []), ...(mask ? [mask] : [])], []);
  if (!y.requiresGrad) {
    for (const [t, original] of [[qi, q], [ki, k], [vi, v]] as const) releaseTemp(t, original);
    if (bi && bias) releaseTemp(bi, bias);
    lse.dispose();
  }
  return y.dtype === q.dtype ? y : y.to(q.dtype);
}

/**
 * The rows between consecutive heads of k and v [B, H, T, D] when both hold each head's rows
 * contiguously in `ct` with the same spacing (at least T) and batch items H heads apart; else null.
 */
function sharedHeadRows(k: Tensor, v: Tensor, ct: DType): number | null {
  const rows = headRows(k, ct);
  return rows !== null && rows === headRows(v, ct) ? rows : null;
}

function headRows(t: Tensor, ct: DType): number | null {
  if (t.dtype !== ct) return null;
  const [B, H, T, D] = t.shape as [number, number, number, number];
  const [sb, sh, st, sd] = t.strides as [number, number, number, number];
  if (t.isContiguous() || T === 0) return T;
  if ((D > 1 && sd !== 1) || (T > 1 && st !== D) || D === 0) return null;
  const rows = H > 1 ? sh / D : sb / D;
  if (!Number.isInteger(rows) || rows < T) return null;
  return B === 1 || sb === H * rows * D ? rows : null;
}

/** The elements the kernel reads of k or v: `heads` heads `rows` rows apart, the last one T rows long. */
function headsOf(t: Tensor, heads: number, rows: number, T: number, D: number): Float32Array | Float64Array {
  const array = t.buffer as Float32Array | Float64Array;
  return array.subarray(t.offset, t.offset + Math.max(0, (heads - 1) * rows + T) * D);
}

/** The key padding mask as contiguous uint8 [B, Tk]. */
function keyMask(m: Tensor, B: number, Tk: number): Tensor {
  if (m.ndim !== 2 || m.shape[0] !== B || m.shape[1] !== Tk) {
    throw new ShapeError(`attention: keyPaddingMask must be [batch, keys] = [${B}, ${Tk}], not ${formatShape(m.shape)}`);
  }
  if (m.dtype === 'bool' || m.dtype === 'uint8') return m.contiguous();
  if (m.dtype === 'float32' || m.dtype === 'float64') throw new DTypeError('attention: keyPaddingMask must be bool or integer (1 = attend); for additive float masks use `bias`');
  return m.ne(0);
}

function biasShape(bias: Tensor, B: number, H: number, Tq: number, Tk: number): [number, number] {
  const s = bias.shape;
  if (s.length !== 4 || (s[0] !== 1 && s[0] !== B) || (s[1] !== 1 && s[1] !== H) || s[2] !== Tq || s[3] !== Tk) {
    throw new ShapeError(`attention: bias ${formatShape(s)} must be [${B} or 1, ${H} or 1, ${Tq}, ${Tk}]`);
  }
  return [s[0], s[1]];
}
