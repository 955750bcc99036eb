// The KV cache one forward of the engine sees: a view of the paged pool for the rows of this
// step. The models call update(layer, k, v) with each row's new positions; they are written into
// the row's blocks, and the layer's keys and values come back gathered into one padded tensor
// [rows, kvHeads, past + new, headDim], each row right-aligned (left padding), with the matching
// attention mask from `attentionMask()`. Attention then runs as it does for a left-padded batch.
import { Tensor, tensor } from '../tensor/index.js';
import type { TypedArray } from '../tensor/dtype.js';
import { KVCache } from '../models/cache.js';
import type { BlockPool } from './kv-pool.js';

/** One row of the step: its block table and how many positions are cached before this step. */
export interface StepRow {
  blocks: readonly number[];
  cached: number;
}

export class StepCache extends KVCache {
  /** The padded past length: the longest row's cached positions. */
  private readonly past: number;

  constructor(private readonly pool: BlockPool, private readonly rows: readonly StepRow[], private readonly newPositions: number) {
    super();
    this.past = Math.max(0, ...rows.map((r) => r.cached));
  }

  override get length(): number {
    return this.past;
  }

  /** 1 where a row has a real position, 0 on its left padding: [rows, past + new], int64. */
  attentionMask(): Tensor {
    const width = this.past + this.newPositions;
    const mask = this.rows.flatMap((r) => {
      const pad = this.past - r.cached;
      return Array.from({ length: width }, (_, i) => (i < pad ? 0 : 1));
    });
    return tensor(mask, [this.rows.length, width], 'int64');
  }

  override get(): [Tensor, Tensor] | null {
    return null;
  }

  override update(layer: number, k: Tensor, v: Tensor): [Tensor, Tensor] {
    return [this.writeAndGather(this.pool.keys[layer]!, k), this.writeAndGather(this.pool.values[layer]!, v)];
  }

  override dispose(): void {}

  /** Writes x [rows, heads, new, dim] into the pool, returns every cached position, left-padded. */
  private writeAndGather(store: TypedArray, x: Tensor): Tensor {
    const { blockSize } = this.pool;
    const [rows, heads, fresh, dim] = x.shape as [number, number, number, number];
    const src = x.contiguous();
    const data = src.buffer.subarray(src.offset, src.offset + src.size) as TypedArray;
    const width = this.past + fresh;
    const out = Tensor.empty([rows, heads, width, dim], x.dtype);
    const dst = out.buffer as TypedArray;
    const headStride = blockSize * dim;
    const blockStride = heads * headStride;
    this.rows.forEach((row, r) => {
      // Positions [cached, cached + fresh) of this row go into its blocks.
      for (let p = 0; p < fresh; p++) {
        const pos = row.cached + p;
        const base = row.blocks[Math.floor(pos / blockSize)]! * blockStride + (pos % blockSize) * dim;
        for (let h = 0; h < heads; h++) {
          const from = ((r * heads + h) * fresh + p) * dim;
          store.set(data.subarray(from, from + dim) as never, base + h * headStride);
        }
      }
      // Then all its positions are read back, block by block, after its left padding.
      const total = row.cached + fresh;
      const pad = width - total;
      for (let h = 0; h < heads; h++) {
        const rowBase = ((r * heads + h) * width) * dim;
        (dst as Float32Array).fill(0, rowBase, rowBase + pad * dim);
        for (let start = 0; start < total; start += blockSize) {
          const n = Math.min(blockSize, total - start);
          const from = row.blocks[start / blockSize]! * blockStride + h * headStride;
          dst.set(store.subarray(from, from + n * dim) as never, rowBase + (pad + start) * dim);
        }
      }
    });
    if (src !== x) src.dispose();
    return out;
  }
}
