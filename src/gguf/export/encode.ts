// A tensor's values in a ggml tensor type: float types by the tensor engine's casts (round to
// nearest even, as ggml's fp32 -> f16/bf16 conversions), block types by gguf-quant's reference
// quantisers (ggml's quantize_row_*_ref).
import type { Tensor } from '../../tensor/index.js';
import { tensorBytes } from '../../io/safetensors/serialize.js';
import { ggmlType, type GgmlTypeName } from '../format.js';
import { isGgmlBlockType, quantizeGgml } from '../quant/index.js';
import { GgufExportError } from './errors.js';

const FLOAT_DTYPES = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' } as const;

/** Whether rows of `rowLength` values fit whole blocks of `type`. */
export function fitsBlocks(type: GgmlTypeName, rowLength: number): boolean {
  return rowLength % ggmlType(type).blockSize === 0;
}

/** The bytes of `value` (row-major) as ggml type `type`; its rows must fit whole blocks. */
export function encodeTensor(value: Tensor, type: GgmlTypeName): Uint8Array {
  if (type in FLOAT_DTYPES) return tensorBytes(value.to(FLOAT_DTYPES[type as keyof typeof FLOAT_DTYPES]).contiguous());
  if (!isGgmlBlockType(type)) throw new GgufExportError(`peftjs does not write ggml type ${type}`);
  const bytes = tensorBytes(value.to('float32').contiguous());
  return quantizeGgml(type, new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4));
}
