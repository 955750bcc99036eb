// Reference-counted tensor memory, recycled through size-keyed pools so that a loop reuses the same
// buffers step after step. Memory for new tensors comes from native.allocBuffer, and returns two ways:
// - release() (dispose, `using`, or the end of a tidy() scope): the ArrayBuffer goes to the pool
//   here, and the next tensor of that size takes it at once.
// - the garbage collector: a tensor nobody disposed keeps its storage until V8 collects it; the
//   buffer's memory then goes to the native free list (native/src/bind_memory.cc), so plain code
//   that never disposes reuses warm memory too.
// Nothing here may keep a dropped tensor's buffer reachable, or the GC could not return it: no
// FinalizationRegistry (its callbacks only run between tasks, so a synchronous loop never gets a
// buffer back, and its records pile up until then).
import { DTYPES, type DType, type TypedArray } from './dtype.js';
import { native } from './native/index.js';

/** Bytes each pool (released buffers here, collected ones in native code) may hold; PEFTJS_POOL_MB overrides. */
const POOL_LIMIT = Number(process.env.PEFTJS_POOL_MB ?? 4096) * 2 ** 20;
/** Buffers smaller than this are left to the GC: pooling them costs more than it saves. */
const POOL_MIN_BYTES = 4096;

native.setBufferPoolLimit(POOL_LIMIT);

const pool = new Map<number, ArrayBuffer[]>();
let pooledBytes = 0;
/** Bytes of pooled-size storage made minus released (collected storage is subtracted in memoryStats). */
let unreleasedBytes = 0;
/** Bytes of native buffers dropped after release (pool full or cleared): the GC's count includes them. */
let droppedBytes = 0;
/**
 * The GC's count of freed bytes, read at most once per task (the first memoryStats() call in it),
 * so that figures taken in one synchronous stretch agree with each other whenever the collector runs.
 */
let collectedBytes = 0;
let collectedReadThisTask = false;

function readCollected(): number {
  if (!collectedReadThisTask) {
    collectedBytes = native.bufferPoolStats().collectedBytes;
    collectedReadThisTask = true;
    setImmediate(() => {
      collectedReadThisTask = false;
    }).unref();
  }
  return collectedBytes;
}

/** A pooled buffer may serve a request this much smaller than itself (the rest lies idle meanwhile). */
const MAX_FIT_WASTE = 1.25;

/**
 * A released buffer for `bytes`: one of that size, else the smallest of up to MAX_FIT_WASTE times
 * as large. Without the second, steps whose tensors differ a little in size (concurrent jobs' LM
 * heads over 128 and 136 rows) keep a set of buffers per size.
 */
function takeBuffer(bytes: number): ArrayBuffer | undefined {
  let size = bytes;
  if (!pool.get(bytes)?.length) {
    size = Infinity;
    for (const [candidate, list] of pool) {
      if (candidate > bytes && candidate < size && candidate <= bytes * MAX_FIT_WASTE && list.length > 0) size = candidate;
    }
    if (size === Infinity) return undefined;
  }
  pooledBytes -= size;
  return pool.get(size)!.pop();
}

function giveBuffer(buffer: ArrayBuffer): void {
  const bytes = buffer.byteLength;
  if (pooledBytes + bytes > POOL_LIMIT) {
    droppedBytes += bytes;
    return;
  }
  let list = pool.get(bytes);
  if (list === undefined) pool.set(bytes, (list = []));
  list.push(buffer);
  pooledBytes += bytes;
}

/** A buffer of `bytes` for a new tensor: a released one of that size, else native memory. */
function newBuffer(bytes: number, zeroed: boolean): ArrayBuffer {
  const reused = takeBuffer(bytes);
  if (reused === undefined) return native.allocBuffer(bytes, zeroed);
  if (zeroed) new Uint8Array(reused, 0, bytes).fill(0);
  return reused;
}

export class Storage {
  private refs = 1;
  private array: TypedArray | null;
  readonly byteLength: number;
  /**
   * Whether the array is on a buffer from newBuffer, all of it or its first bytes when a slightly
   * larger released one served (only those are pooled and counted when collected).
   */
  private readonly pooled: boolean;
  /**
   * Whether a recorded backward reads these values (autograd's record() sets it, never clears it):
   * until then an intermediate nobody else uses may be freed early (releaseUnread in autograd.ts).
   */
  readByBackward = false;

  /** Wraps `array` (taking ownership) or allocates `length` elements. Pooled memory is NOT zeroed. */
  constructor(
    readonly dtype: DType,
    lengthOrArray: number | TypedArray,
    zeroed = true,
  ) {
    if (typeof lengthOrArray === 'number') {
      const info = DTYPES[dtype];
      const bytes = lengthOrArray * info.bytes;
      this.pooled = bytes >= POOL_MIN_BYTES;
      this.array = this.pooled ? info.makeOn(newBuffer(bytes, zeroed), lengthOrArray) : info.make(lengthOrArray);
    } else {
      this.pooled = false;
      this.array = lengthOrArray;
    }
    this.byteLength = this.array.byteLength;
    if (this.pooled) unreleasedBytes += this.array.buffer.byteLength;
  }

  get released(): boolean {
    return this.array === null;
  }

  /** How many tensors hold this storage (a view holds its base's). */
  get refCount(): number {
    return this.refs;
  }

  /** The backing array; callers check `released` first (Tensor does). */
  get data(): TypedArray {
    return this.array!;
  }

  retain(): void {
    this.refs++;
  }

  /** Returns the memory to the pool now, whatever holds it: every tensor on it reads as disposed. */
  releaseAll(): void {
    if (this.array === null) return;
    this.refs = 1;
    this.release();
  }

  /** Drops one reference; the last one returns the memory to the pool. */
  release(): void {
    if (this.array === null || --this.refs > 0) return;
    const buffer = this.array.buffer as ArrayBuffer;
    this.array = null;
    if (!this.pooled) return;
    unreleasedBytes -= buffer.byteLength;
    giveBuffer(buffer);
  }
}

/**
 * Memory statistics, for tests and benchmarks. `liveBytes`: tensor storage of 4 KiB and more made by
 * the engine, neither released nor collected (smaller storage, and arrays handed over by
 * Tensor.fromArray, are the GC's alone and not counted; collected storage counts until the next task); `pooledBytes`: released buffers waiting for
 * reuse; `collectedPooledBytes`: memory of collected buffers waiting for reuse.
 */
export function memoryStats(): { liveBytes: number; pooledBytes: number; collectedPooledBytes: number } {
  return {
    liveBytes: unreleasedBytes - (readCollected() - droppedBytes),
    pooledBytes,
    collectedPooledBytes: native.bufferPoolStats().pooledBytes,
  };
}

/** Lets the pools go: released buffers to the garbage collector, collected memory to the system. */
export function clearPool(): void {
  droppedBytes += pooledBytes;
  pool.clear();
  pooledBytes = 0;
  native.clearBufferPool();
}
