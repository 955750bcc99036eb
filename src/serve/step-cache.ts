// The KV cache one forward of the engine sees: a view of the paged pool for the rows of this
// step, with each row's block table. Decoding attends straight from the pool: attend() writes the
// rows' new keys and values into their blocks and runs paged attention over the block tables
// (native pagedAttention), so nothing is gathered. Prompt chunks and wrappers that need the keys
// themselves (a hybrid's prefix) call update(), which writes the new positions and returns every
// cached position gathered into one padded tensor [rows, kvHeads, past + new, headDim], each row
// right-aligned (left padding), with the matching attention mask from `attentionMask()`.
import { Tensor, native, tensor, type AttentionOptions } from '../tensor/index.js';
import type { TypedArray } from '../tensor/dtype.js';
import { KVCache } from '../models/cache.js';
import type { BlockPool } from './kv-pool.js';

/** One row of the step: its block table and how many positions are cached before this step. */
export interface StepRow {
  blocks: readonly number[];
  cached: number;
}

/** Queries per row up to which attention reads the pool in place (as the flash kernel's decode path). */
const PAGED_MAX_QUERIES = 4;

type KvArray = Float32Array | Uint16Array;

export class StepCache extends KVCache {
  /** The padded past length: the longest row's cached positions. */
  private readonly past: number;
  /** Block tables, [rows, maxBlocks], and each row's cached positions, as the native kernels read them. */
  private readonly blockTable: Int32Array;
  private readonly cached: Int32Array;
  private readonly maxBlocks: number;

  constructor(private readonly pool: BlockPool, private readonly rows: readonly StepRow[], private readonly newPositions: number) {
    super();
    this.past = Math.max(0, ...rows.map((r) => r.cached));
    this.maxBlocks = Math.max(1, ...rows.map((r) => r.blocks.length));
    this.blockTable = new Int32Array(rows.length * this.maxBlocks);
    rows.forEach((r, i) => this.blockTable.set(r.blocks, i * this.maxBlocks));
    this.cached = Int32Array.from(rows, (r) => r.cached);
  }

  override get length(): number {
    return this.past;
  }

  /** 1 where a row has a real position, 0 on its left padding: [rows, past + new], int64. */
  attentionMask(): Tensor {
    const width = this.past + this.newPositions;
    const mask = new Array<number>(this.rows.length * width).fill(1);
    this.rows.forEach((r, i) => mask.fill(0, i * width, i * width + this.past - r.cached));
    return tensor(mask, [this.rows.length, width], 'int64');
  }

  override get(): [Tensor, Tensor] | null {
    return null;
  }

  override update(layer: number, k: Tensor, v: Tensor): [Tensor, Tensor] {
    this.write(this.pool.keys[layer]!, k);
    this.write(this.pool.values[layer]!, v);
    return [this.gather(this.pool.keys[layer]!, k), this.gather(this.pool.values[layer]!, v)];
  }

  /** Decoding rows attend from the pool in place; the rest goes through update() and the flash kernel. */
  override attend(layer: number, q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions): Tensor {
    const { dtype } = this.pool.layout;
    const inPlace = (dtype === 'float32' || dtype === 'bfloat16') && this.newPositions <= PAGED_MAX_QUERIES &&
      options.causal === true && !options.bias && !options.dropoutP && q.shape[2] === this.newPositions;
    if (!inPlace) return super.attend(layer, q, k, v, options);
    const keys = this.pool.keys[layer]! as KvArray;
    const values = this.pool.values[layer]! as KvArray;
    this.write(keys, k);
    this.write(values, v);
    const [rows, heads, fresh, dim] = q.shape as [number, number, number, number];
    const q32 = q.to('float32').contiguous();
    const out = Tensor.empty([rows, heads, fresh, dim], 'float32');
    const scale = options.scale ?? 1 / Math.sqrt(dim);
    native.pagedAttention(elements(q32) as Float32Array, keys, values, this.blockTable, this.cached, out.buffer as Float32Array, rows,
      this.pool.layout.kvHeads, fresh, dim, this.pool.blockSize, this.maxBlocks, heads, scale, options.slidingWindow ?? 0);
    if (q32 !== q) q32.dispose();
    return out.dtype === q.dtype ? out : out.to(q.dtype);
  }

  override dispose(): void {}

  /** Writes x [rows, heads, new, dim] into the rows' blocks of one layer's pool. */
  private write(store: TypedArray, x: Tensor): void {
    const [rows, heads, fresh, dim] = x.shape as [number, number, number, number];
    const src = x.contiguous();
    const [pool, data, width] = asCopyable(store, elements(src), dim);
    native.pagedKvWrite(pool, data, this.blockTable, this.cached, rows, heads, fresh, width, this.pool.blockSize, this.maxBlocks);
    if (src !== x) src.dispose();
  }

  /** Every cached position of the rows, [rows, heads, past + new, dim], left-padded with zeros. */
  private gather(store: TypedArray, like: Tensor): Tensor {
    const [rows, heads, fresh, dim] = like.shape as [number, number, number, number];
    const out = Tensor.empty([rows, heads, this.past + fresh, dim], like.dtype);
    const [pool, dst, width] = asCopyable(store, out.buffer as TypedArray, dim);
    native.pagedKvGather(pool, dst, this.blockTable, this.cached, rows, heads, fresh, width, this.pool.blockSize, this.maxBlocks, this.past + fresh);
    return out;
  }
}

/** The elements a contiguous tensor holds (its buffer may be larger: a pooled allocation). */
function elements(t: Tensor): TypedArray {
  return (t.buffer as TypedArray).subarray(t.offset, t.offset + t.size);
}

/**
 * Pool and tensor elements as the copy kernels take them (Float32Array, or Uint16Array for any
 * 2-byte type), with the row width in those units: 8-byte elements are copied as pairs of 4-byte ones.
 */
function asCopyable(pool: TypedArray, data: TypedArray, dim: number): [KvArray, KvArray, number] {
  const view = (a: TypedArray): KvArray => {
    if (a instanceof Float32Array || a instanceof Uint16Array) return a;
    return a.BYTES_PER_ELEMENT === 2 ? new Uint16Array(a.buffer, a.byteOffset, a.length) : new Float32Array(a.buffer, a.byteOffset, (a.length * a.BYTES_PER_ELEMENT) / 4);
  };
  const scale = pool.BYTES_PER_ELEMENT === 8 ? 2 : 1;
  return [view(pool), view(data), dim * scale];
}
