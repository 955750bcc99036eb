// The element types a tensor can hold and the typed arrays that store them.
import { DTypeError } from './errors.js';

export type DType = 'float32' | 'float64' | 'bfloat16' | 'float16' | 'int32' | 'int64' | 'uint8' | 'bool';

export type TypedArray = Float32Array | Float64Array | Uint16Array | Int32Array | BigInt64Array | Uint8Array;

/** The typed array `.data()` returns for each dtype (bf16 and f16 as their raw 16-bit patterns). */
export interface ArrayOf {
  float32: Float32Array;
  float64: Float64Array;
  bfloat16: Uint16Array;
  float16: Uint16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}

interface DTypeInfo {
  bytes: number;
  floating: boolean;
  make: (length: number) => TypedArray;
  makeOn: (buffer: ArrayBuffer, length: number) => TypedArray;
  /** Code the native cast kernel uses for this dtype. */
  code: number;
}

export const DTYPES: Record<DType, DTypeInfo> = {
  float32: { bytes: 4, floating: true, make: (n) => new Float32Array(n), makeOn: (b, n) => new Float32Array(b, 0, n), code: 0 },
  float64: { bytes: 8, floating: true, make: (n) => new Float64Array(n), makeOn: (b, n) => new Float64Array(b, 0, n), code: 1 },
  bfloat16: { bytes: 2, floating: true, make: (n) => new Uint16Array(n), makeOn: (b, n) => new Uint16Array(b, 0, n), code: 2 },
  float16: { bytes: 2, floating: true, make: (n) => new Uint16Array(n), makeOn: (b, n) => new Uint16Array(b, 0, n), code: 3 },
  int32: { bytes: 4, floating: false, make: (n) => new Int32Array(n), makeOn: (b, n) => new Int32Array(b, 0, n), code: 4 },
  int64: { bytes: 8, floating: false, make: (n) => new BigInt64Array(n), makeOn: (b, n) => new BigInt64Array(b, 0, n), code: 5 },
  uint8: { bytes: 1, floating: false, make: (n) => new Uint8Array(n), makeOn: (b, n) => new Uint8Array(b, 0, n), code: 6 },
  bool: { bytes: 1, floating: false, make: (n) => new Uint8Array(n), makeOn: (b, n) => new Uint8Array(b, 0, n), code: 7 },
};

export const ALL_DTYPES = Object.keys(DTYPES) as DType[];

export function isFloating(dtype: DType): boolean {
  return DTYPES[dtype].floating;
}

export function checkDType(dtype: string): DType {
  if (!(dtype in DTYPES)) {
    throw new DTypeError(`unknown dtype '${dtype}'; use one of ${ALL_DTYPES.join(', ')}`);
  }
  return dtype as DType;
}

/** The dtype two operands compute in (PyTorch-like promotion: float wins, wider wins). */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  const rank: DType[] = ['bool', 'uint8', 'int32', 'int64', 'float16', 'bfloat16', 'float32', 'float64'];
  if ((a === 'float16' && b === 'bfloat16') || (a === 'bfloat16' && b === 'float16')) return 'float32';
  return rank.indexOf(a) > rank.indexOf(b) ? a : b;
}

/** The dtype of a JavaScript typed array given to `tensor()`. */
export function dtypeOfArray(data: TypedArray): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Uint8Array) return 'uint8';
  throw new DTypeError('a Uint16Array is ambiguous (bfloat16 or float16?): pass the dtype explicitly');
}
