// Reference-counted tensor memory, recycled through a size-keyed pool so that a training loop
// reuses the same buffers step after step instead of waiting for the garbage collector.
import { DTYPES, type DType, type TypedArray } from './dtype.js';

/** Bytes the pool may hold for reuse; PEFTJS_POOL_MB overrides. Beyond it, freed buffers go to the GC. */
const POOL_LIMIT = Number(process.env.PEFTJS_POOL_MB ?? 4096) * 2 ** 20;
/** Buffers smaller than this are left to the GC: pooling them costs more than it saves. */
const POOL_MIN_BYTES = 4096;

const pool = new Map<number, ArrayBuffer[]>();
let pooledBytes = 0;
let liveBytes = 0;

function takeBuffer(bytes: number): ArrayBuffer | undefined {
  const list = pool.get(bytes);
  const buffer = list?.pop();
  if (buffer !== undefined) pooledBytes -= bytes;
  return buffer;
}

function giveBuffer(buffer: ArrayBuffer): void {
  const bytes = buffer.byteLength;
  if (bytes < POOL_MIN_BYTES || pooledBytes + bytes > POOL_LIMIT) return;
  let list = pool.get(bytes);
  if (list === undefined) pool.set(bytes, (list = []));
  list.push(buffer);
  pooledBytes += bytes;
}

export class Storage {
  private refs = 1;
  private array: TypedArray | null;
  readonly byteLength: number;

  /** Wraps `array` (taking ownership) or allocates `length` elements. Pooled memory is NOT zeroed. */
  constructor(
    readonly dtype: DType,
    lengthOrArray: number | TypedArray,
    zeroed = true,
  ) {
    if (typeof lengthOrArray === 'number') {
      const info = DTYPES[dtype];
      const bytes = lengthOrArray * info.bytes;
      const reused = bytes >= POOL_MIN_BYTES ? takeBuffer(bytes) : undefined;
      if (reused !== undefined) {
        this.array = info.makeOn(reused, lengthOrArray);
        if (zeroed) this.array.fill(0 as never);
      } else {
        this.array = info.make(lengthOrArray);
      }
    } else {
      this.array = lengthOrArray;
    }
    this.byteLength = this.array.byteLength;
    liveBytes += this.byteLength;
  }

  get released(): boolean {
    return this.array === null;
  }

  /** The backing array; callers check `released` first (Tensor does). */
  get data(): TypedArray {
    return this.array!;
  }

  retain(): void {
    this.refs++;
  }

  /** Drops one reference; the last one returns the memory to the pool. */
  release(): void {
    if (this.array === null || --this.refs > 0) return;
    liveBytes -= this.byteLength;
    const array = this.array;
    this.array = null;
    // Only whole-buffer arrays we allocated can be recycled safely.
    if (array.byteOffset === 0 && array.buffer.byteLength === array.byteLength && array.buffer instanceof ArrayBuffer) {
      giveBuffer(array.buffer);
    }
  }
}

/** Memory statistics, for tests and benchmarks. */
export function memoryStats(): { liveBytes: number; pooledBytes: number } {
  return { liveBytes, pooledBytes };
}

/** Returns pooled buffers to the garbage collector. */
export function clearPool(): void {
  pool.clear();
  pooledBytes = 0;
}
