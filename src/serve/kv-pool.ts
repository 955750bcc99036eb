// The paged KV cache's storage: one pool of fixed-size blocks per layer under a memory budget,
// reference-counted so that sequences sharing a prompt prefix share its blocks (prefix caching).
// A block holds `blockSize` positions of every kv head: [kvHeads, blockSize, headDim] per layer,
// each head's rows contiguous, so a sequence's keys are gathered with one copy per head and block.
// Full blocks are published under a hash of everything before them (tokens and the adapter's
// content hash); when a cached block is no longer used it stays findable until its room is needed
// (least recently freed first), as vLLM's prefix cache does (vllm/v1/core/block_pool.py).
import { DTYPES, type DType, type TypedArray } from '../tensor/dtype.js';
import { ServeError } from './errors.js';

/** What one position of one layer holds, read from the model by a probe forward (see layout.ts). */
export interface KVLayout {
  layers: number;
  kvHeads: number;
  headDim: number;
  dtype: DType;
}

export class BlockPool {
  readonly numBlocks: number;
  /** Per layer: keys and values of every block, [numBlocks, kvHeads, blockSize, headDim]. */
  readonly keys: TypedArray[];
  readonly values: TypedArray[];
  private readonly refs: Int32Array;
  private readonly free: number[] = [];
  private readonly hashOf: (string | null)[];
  private readonly byHash = new Map<string, number>();
  /** Cached blocks nobody uses, least recently freed first (Map keeps insertion order). */
  private readonly evictable = new Map<number, true>();
  /** Prefix-cache lookups and hits, for /metrics. */
  hits = 0;
  queries = 0;

  constructor(readonly layout: KVLayout, readonly blockSize: number, budgetBytes: number) {
    const perBlock = BlockPool.bytesPerBlock(layout, blockSize);
    this.numBlocks = Math.floor(budgetBytes / perBlock);
    if (this.numBlocks < 1) {
      throw new ServeError(400, `the KV cache budget (${(budgetBytes / 2 ** 20).toFixed(2)} MB) holds no block of ${blockSize} positions (${perBlock} bytes each); raise --kv-cache-mb`);
    }
    const elements = this.numBlocks * layout.kvHeads * blockSize * layout.headDim;
    const make = DTYPES[layout.dtype].make;
    this.keys = Array.from({ length: layout.layers }, () => make(elements));
    this.values = Array.from({ length: layout.layers }, () => make(elements));
    this.refs = new Int32Array(this.numBlocks);
    this.hashOf = new Array<string | null>(this.numBlocks).fill(null);
    for (let b = this.numBlocks - 1; b >= 0; b--) this.free.push(b);
  }

  static bytesPerBlock(layout: KVLayout, blockSize: number): number {
    return 2 * layout.layers * layout.kvHeads * blockSize * layout.headDim * DTYPES[layout.dtype].bytes;
  }

  /** Blocks held by sequences (cached but unused blocks do not count: they can be taken back). */
  get inUse(): number {
    return this.numBlocks - this.free.length - this.evictable.size;
  }

  /** Blocks that allocate() can hand out now. */
  get available(): number {
    return this.free.length + this.evictable.size;
  }

  /** A block for one sequence (reference count 1), or null when every block is in use. */
  allocate(): number | null {
    let block = this.free.pop();
    if (block === undefined) {
      const oldest = this.evictable.keys().next();
      if (oldest.done) return null;
      block = oldest.value;
      this.evictable.delete(block);
      this.byHash.delete(this.hashOf[block]!);
      this.hashOf[block] = null;
    }
    this.refs[block] = 1;
    return block;
  }

  /** The cached block published under `hash`, now referenced once more; null on a miss. */
  lookup(hash: string): number | null {
    this.queries++;
    const block = this.byHash.get(hash);
    if (block === undefined) return null;
    this.hits++;
    if (this.refs[block] === 0) this.evictable.delete(block);
    this.refs[block]!++;
    return block;
  }

  /** Makes a full, computed block findable by `hash` (a block already published under it wins). */
  publish(block: number, hash: string): void {
    if (this.hashOf[block] !== null || this.byHash.has(hash)) return;
    this.hashOf[block] = hash;
    this.byHash.set(hash, block);
  }

  /** Drops one reference; an unreferenced block is freed, or kept findable if it was published. */
  release(block: number): void {
    const left = --this.refs[block]!;
    if (left > 0) return;
    if (left < 0) throw new Error(`KV block ${block} released more often than it was taken (a bug)`);
    if (this.hashOf[block] !== null) this.evictable.set(block, true);
    else this.free.push(block);
  }

  /** Forgets every published block (an adapter's content changed: nothing may match it again). */
  forget(predicate: (hash: string) => boolean): void {
    for (const [hash, block] of this.byHash) {
      if (!predicate(hash)) continue;
      this.byHash.delete(hash);
      this.hashOf[block] = null;
      if (this.evictable.delete(block)) this.free.push(block);
    }
  }
}
