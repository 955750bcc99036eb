// The GGUF file format's constants: magic, versions, metadata value types, ggml tensor types (with
// their block size and bytes per block) and alignment. Followed: ggml's gguf.cpp / ggml.h and
// llama.cpp's gguf-py/gguf/constants.py (GGUFValueType, GGMLQuantizationType, GGML_QUANT_SIZES).
//
// Layout (little-endian): magic "GGUF", u32 version, u64 tensor count, u64 KV count, the KVs
// (string key, u32 value type, value), the tensor infos (string name, u32 n_dims, n_dims x u64
// dims innermost first, u32 ggml type, u64 offset into the data section), padding to the
// alignment, then the data section; every tensor's offset is a multiple of the alignment.
// A string is a u64 byte length and that many UTF-8 bytes (no terminator).

/** "GGUF" read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747;
/** Versions read and written. Version 1 (u32 counts, 2023) is refused; 3 only added big-endian files. */
export const GGUF_VERSIONS: readonly number[] = [2, 3];
/** The version our writer emits (llama.cpp's current one). */
export const GGUF_WRITE_VERSION = 3;

/** Metadata key holding the data alignment (u32, a power of two); absent means the default. */
export const GGUF_ALIGNMENT_KEY = 'general.alignment';
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** ggml's GGML_MAX_DIMS: a tensor info with more dimensions is refused. */
export const GGUF_MAX_DIMS = 4;

/** Metadata value types (gguf_type). */
export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
export type GgufValueType = (typeof GgufValueType)[keyof typeof GgufValueType];
export type GgufValueTypeName = keyof typeof GgufValueType;

/** Bytes of a value of each fixed-size type (STRING and ARRAY are variable). */
export const GGUF_SCALAR_BYTES: Readonly<Partial<Record<GgufValueType, number>>> = {
  [GgufValueType.UINT8]: 1,
  [GgufValueType.INT8]: 1,
  [GgufValueType.UINT16]: 2,
  [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4,
  [GgufValueType.INT32]: 4,
  [GgufValueType.FLOAT32]: 4,
  [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT64]: 8,
  [GgufValueType.INT64]: 8,
  [GgufValueType.FLOAT64]: 8,
};

export function ggufValueTypeName(type: number): GgufValueTypeName | undefined {
  return (Object.keys(GgufValueType) as GgufValueTypeName[]).find((name) => GgufValueType[name] === type);
}

/** ggml tensor types (ggml_type), every one ggml defines; ids 4, 5 and 31-38 are retired. */
export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  IQ2_XXS: 16,
  IQ2_XS: 17,
  IQ3_XXS: 18,
  IQ1_S: 19,
  IQ4_NL: 20,
  IQ3_S: 21,
  IQ2_S: 22,
  IQ4_XS: 23,
  I8: 24,
  I16: 25,
  I32: 26,
  I64: 27,
  F64: 28,
  IQ1_M: 29,
  BF16: 30,
  TQ1_0: 34,
  TQ2_0: 35,
  MXFP4: 39,
  NVFP4: 40,
  Q1_0: 41,
} as const;
export type GgmlTypeName = keyof typeof GgmlType;
export type GgmlTypeId = (typeof GgmlType)[GgmlTypeName];

export interface GgmlTypeInfo {
  readonly name: GgmlTypeName;
  readonly id: GgmlTypeId;
  /** Elements per block (1 for plain types); a row's length must be a multiple of it. */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly typeSize: number;
}

/** Super-block size of the K-quants and i-quants (ggml's QK_K). */
/** QK_K: the elements of a K-quant super-block. */
export const QK_K = 256;

// [elements per block, bytes per block], as gguf-py's GGML_QUANT_SIZES.
const SIZES: Record<GgmlTypeName, readonly [number, number]> = {
  F32: [1, 4],
  F16: [1, 2],
  Q4_0: [32, 2 + 16],
  Q4_1: [32, 2 + 2 + 16],
  Q5_0: [32, 2 + 4 + 16],
  Q5_1: [32, 2 + 2 + 4 + 16],
  Q8_0: [32, 2 + 32],
  Q8_1: [32, 4 + 4 + 32],
  Q2_K: [QK_K, 2 + 2 + QK_K / 16 + QK_K / 4],
  Q3_K: [QK_K, 2 + QK_K / 4 + QK_K / 8 + 12],
  Q4_K: [QK_K, 2 + 2 + QK_K / 2 + 12],
  Q5_K: [QK_K, 2 + 2 + QK_K / 2 + QK_K / 8 + 12],
  Q6_K: [QK_K, 2 + QK_K / 2 + QK_K / 4 + QK_K / 16],
  Q8_K: [QK_K, 4 + QK_K + QK_K / 8],
  IQ2_XXS: [QK_K, 2 + QK_K / 4],
  IQ2_XS: [QK_K, 2 + QK_K / 4 + QK_K / 32],
  IQ3_XXS: [QK_K, 2 + QK_K / 4 + QK_K / 8],
  IQ1_S: [QK_K, 2 + QK_K / 8 + QK_K / 16],
  IQ4_NL: [32, 2 + 16],
  IQ3_S: [QK_K, 2 + QK_K / 4 + QK_K / 8 + QK_K / 32 + 4],
  IQ2_S: [QK_K, 2 + QK_K / 4 + QK_K / 16],
  IQ4_XS: [QK_K, 2 + 2 + QK_K / 2 + QK_K / 64],
  I8: [1, 1],
  I16: [1, 2],
  I32: [1, 4],
  I64: [1, 8],
  F64: [1, 8],
  IQ1_M: [QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32],
  BF16: [1, 2],
  TQ1_0: [QK_K, 2 + 4 * 13],
  TQ2_0: [QK_K, 2 + 64],
  MXFP4: [32, 1 + 16],
  NVFP4: [64, 4 + 32],
  Q1_0: [128, 2 + 16],
};

const BY_ID = new Map<number, GgmlTypeInfo>(
  (Object.keys(GgmlType) as GgmlTypeName[]).map((name) => {
    const [blockSize, typeSize] = SIZES[name];
    return [GgmlType[name], { name, id: GgmlType[name], blockSize, typeSize }];
  }),
);

/** The type with this id; undefined for an id ggml does not define (or has retired). */
export function ggmlTypeInfo(id: number): GgmlTypeInfo | undefined {
  return BY_ID.get(id);
}

/** The type of this name ('Q8_0', 'F16', ...). */
export function ggmlType(name: GgmlTypeName): GgmlTypeInfo {
  return BY_ID.get(GgmlType[name])!;
}

/**
 * Bytes of a tensor of `dims` (GGUF order: innermost first) in `type`. Calls `fail` with the reason
 * when the innermost dimension is not a whole number of blocks or the size passes 2^53 (no overflow).
 */
export function ggmlByteLength(type: GgmlTypeInfo, dims: readonly number[], fail: (why: string) => never): number {
  const row = dims[0] ?? 1;
  if (row % type.blockSize !== 0) {
    fail(`rows of ${row} elements are not a whole number of ${type.name} blocks of ${type.blockSize}`);
  }
  let bytes = (row / type.blockSize) * type.typeSize;
  for (const d of dims.slice(1)) {
    bytes *= d;
    if (bytes > Number.MAX_SAFE_INTEGER) fail(`[${dims.join(', ')}] elements of ${type.name} pass 2^53 bytes`);
  }
  return bytes;
}

/** Whether `alignment` is usable as general.alignment: a power of two from 1 up. */
export function isValidAlignment(alignment: number): boolean {
  return Number.isInteger(alignment) && alignment >= 1 && alignment <= 2 ** 30 && (alignment & (alignment - 1)) === 0;
}

/** `offset` rounded up to a multiple of `alignment`. */
export function alignUp(offset: number, alignment: number): number {
  return Math.ceil(offset / alignment) * alignment;
}
