// The safetensors element types peftjs reads and writes, how they map to tensor dtypes, and byte order.
import type { DType } from '../../tensor/dtype.js';
import { SafetensorsError } from '../errors.js';

/** A dtype name as it appears in a safetensors header. */
export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U16' | 'U8' | 'BOOL';

interface FormatDType {
  /** Bytes per element in the file. */
  bytes: number;
  /** The tensor dtype `get()` returns. */
  loadsAs: DType;
  /**
   * Rank in the reference writer's dtype order (the Rust `Dtype` enum). Python's `safetensors`
   * lays tensors out by descending rank, then by name; our writer does the same.
   */
  rank: number;
}

// I8, I16 and U16 have no tensor dtype of their own: they load widened (losslessly) to int32.
export const FORMAT_DTYPES: Record<SafetensorsDType, FormatDType> = {
  BOOL: { bytes: 1, loadsAs: 'bool', rank: 0 },
  U8: { bytes: 1, loadsAs: 'uint8', rank: 4 },
  I8: { bytes: 1, loadsAs: 'int32', rank: 5 },
  I16: { bytes: 2, loadsAs: 'int32', rank: 11 },
  U16: { bytes: 2, loadsAs: 'int32', rank: 12 },
  F16: { bytes: 2, loadsAs: 'float16', rank: 13 },
  BF16: { bytes: 2, loadsAs: 'bfloat16', rank: 14 },
  I32: { bytes: 4, loadsAs: 'int32', rank: 15 },
  F32: { bytes: 4, loadsAs: 'float32', rank: 17 },
  F64: { bytes: 8, loadsAs: 'float64', rank: 19 },
  I64: { bytes: 8, loadsAs: 'int64', rank: 20 },
};

/** Types the format defines that peftjs cannot hold (named in errors, so the message is precise). */
export const UNSUPPORTED_DTYPES: readonly string[] = [
  'F4',
  'F6_E2M3',
  'F6_E3M2',
  'F8_E5M2',
  'F8_E4M3',
  'F8_E8M0',
  'F8_E4M3FNUZ',
  'F8_E5M2FNUZ',
  'U32',
  'C64',
  'U64',
];

/** The safetensors name each tensor dtype is written as. */
export const SAVE_DTYPES: Record<DType, SafetensorsDType> = {
  float64: 'F64',
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  int64: 'I64',
  int32: 'I32',
  uint8: 'U8',
  bool: 'BOOL',
};

export function isFormatDType(name: string): name is SafetensorsDType {
  return Object.hasOwn(FORMAT_DTYPES, name);
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** safetensors is little-endian and tensors are read byte for byte: a big-endian host cannot use them. */
export function assertLittleEndianHost(path: string): void {
  if (!LITTLE_ENDIAN_HOST) {
    throw new SafetensorsError(
      path,
      'safetensors files are little-endian and this host is big-endian, which peftjs does not support',
    );
  }
}
