// What every safetensors reader (one file, or a sharded checkpoint) offers.
import type { DType } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { SafetensorsDType } from './dtypes.js';

export interface TensorInfo {
  /** The dtype `get()` returns (I8, I16 and U16 load widened to int32). */
  readonly dtype: DType;
  /** The dtype as stored in the file. */
  readonly fileDtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** Bytes the tensor occupies in the file. */
  readonly byteLength: number;
}

export interface ReadTensorOptions {
  /** Convert to this dtype after reading (for example 'float32' from a bf16 checkpoint). */
  dtype?: DType;
}

/** A set of named tensors on disk, read one tensor at a time. */
export interface TensorSource {
  /** Tensor names, in file order. */
  keys(): string[];
  has(name: string): boolean;
  /** Reads one tensor (only its bytes) into a new tensor the caller owns. */
  get(name: string, options?: ReadTensorOptions): Promise<Tensor>;
  /** Closes the underlying files; further reads throw. Idempotent. */
  close(): Promise<void>;
}
