// Blockwise absmax quantisation on flat float32 arrays, the reference algorithm that defines
// bit-exactness. It follows bitsandbytes' pure-PyTorch backend (bitsandbytes/backends/default/
// ops.py at 95f9af3: quantize_4bit, quantize_blockwise, _dequantize_4bit_compute,
// _dequantize_blockwise_compute), which is what bitsandbytes runs for 4-bit quantisation on
// the CPU; every float operation is rounded to float32 as torch does:
//  - the absmax of a block is max |x|; full blocks are scaled by x * (1 / max(absmax, 1e-38)),
//    the last partial block by x / max(absmax, 1e-38) (a division, as the reference does),
//    then clamped to [-1, 1];
//  - the code is chosen by torch.bucketize over the midpoints of the sorted code values
//    (right=False): a value exactly on a midpoint takes the lower code; FP4's code is sorted
//    stably, so +0 comes before -0 and values in (0, 0.0026] take the -0 code (index 8).
//  - 4-bit indices are packed two to a byte, element 2i in the high nibble.
// bitsandbytes' CUDA kernel scales the last partial block by the reciprocal and gives FP4's
// small values their own sign; its native CPU library quantises 8-bit codes through a
// 65536-entry table. Those differ from this reference only for values at a code boundary;
// dequantisation is the same everywhere, so files load exactly whoever wrote them.
import { DYNAMIC_CODE } from './codes.js';

const f32 = Math.fround;
const TINY = f32(1e-38);

/** Midpoints of the sorted code and, for each sorted position, the code index it stands for. */
interface Bounds {
  midpoints: Float32Array;
  order: Uint8Array;
}

const boundsCache = new WeakMap<Float32Array, Bounds>();

function boundsOf(code: Float32Array): Bounds {
  let b = boundsCache.get(code);
  if (b === undefined) {
    // A stable argsort (torch's CPU sort of 16 or 256 values is stable).
    const order = Uint8Array.from([...code.keys()].sort((i, j) => code[i]! - code[j]! || i - j));
    const midpoints = new Float32Array(code.length - 1);
    for (let i = 0; i + 1 < code.length; i++) midpoints[i] = f32(f32(code[order[i]!]! + code[order[i + 1]!]!) / 2);
    b = { midpoints, order };
    boundsCache.set(code, b);
  }
  return b;
}

/** torch.bucketize(x, midpoints, right=False): the number of midpoints strictly below x. */
function bucket(midpoints: Float32Array, x: number): number {
  let lo = 0;
  let hi = midpoints.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (midpoints[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Block b's absmax and, per element, the index of its nearest code value. */
function quantizeBlocks(values: Float32Array, blockSize: number, code: Float32Array, emit: (i: number, index: number) => void): Float32Array {
  const n = values.length;
  const blocks = Math.ceil(n / blockSize);
  const full = n - (n % blockSize);
  const absmax = new Float32Array(blocks);
  const { midpoints, order } = boundsOf(code);
  for (let b = 0; b < blocks; b++) {
    const start = b * blockSize;
    const end = Math.min(start + blockSize, n);
    let max = 0;
    for (let i = start; i < end; i++) max = Math.max(max, Math.abs(values[i]!));
    absmax[b] = max;
    const scale = Math.max(max, TINY);
    const inverse = f32(1 / scale);
    const partial = start >= full;
    for (let i = start; i < end; i++) {
      const scaled = partial ? f32(values[i]! / scale) : f32(values[i]! * inverse);
      emit(i, order[bucket(midpoints, Math.min(1, Math.max(-1, scaled)))]!);
    }
  }
  return absmax;
}

/** 4-bit blockwise quantisation: ceil(n / 2) packed bytes and one float32 absmax per block. */
export function quantize4bitArray(values: Float32Array, blockSize: number, code: Float32Array): { packed: Uint8Array; absmax: Float32Array } {
  const packed = new Uint8Array(Math.ceil(values.length / 2));
  const absmax = quantizeBlocks(values, blockSize, code, (i, index) => {
    packed[i >> 1] |= i & 1 ? index : index << 4;
  });
  // An odd count is padded with a 0.0 (torch pads the scaled values with zeros).
  if (values.length % 2 === 1) packed[packed.length - 1] |= boundsOrderOfZero(code);
  return { packed, absmax };
}

function boundsOrderOfZero(code: Float32Array): number {
  const { midpoints, order } = boundsOf(code);
  return order[bucket(midpoints, 0)]!;
}

/** out[i] = code[index_i] * absmax[block of i], in float32 (the 4-bit reference dequantisation). */
export function dequantize4bitArray(packed: Uint8Array, absmax: Float32Array, numel: number, blockSize: number, code: Float32Array): Float32Array {
  const out = new Float32Array(numel);
  for (let i = 0; i < numel; i++) {
    const byte = packed[i >> 1]!;
    const index = i & 1 ? byte & 15 : byte >> 4;
    out[i] = code[index]! * absmax[Math.floor(i / blockSize)]!;
  }
  return out;
}

/** 8-bit blockwise quantisation with the dynamic code (bitsandbytes' quantize_blockwise). */
export function quantize8bitArray(values: Float32Array, blockSize: number, code: Float32Array = DYNAMIC_CODE): { codes: Uint8Array; absmax: Float32Array } {
  const codes = new Uint8Array(values.length);
  const absmax = quantizeBlocks(values, blockSize, code, (i, index) => {
    codes[i] = index;
  });
  return { codes, absmax };
}

export function dequantize8bitArray(codes: Uint8Array, absmax: Float32Array, blockSize: number, code: Float32Array = DYNAMIC_CODE): Float32Array {
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = code[codes[i]!]! * absmax[Math.floor(i / blockSize)]!;
  return out;
}
