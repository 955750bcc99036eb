// Which sequences run in the next step (continuous batching at the granularity of decode steps):
// every running sequence that has its prompt computed decodes one token; prompts are prefilled in
// chunks within a token budget per step, so a long prompt never stalls the streams already
// decoding; waiting sequences join as soon as a slot and blocks are free, and a finished one
// leaves at once. When the pool runs out, the newest running sequence is preempted: its blocks
// are freed and it is recomputed later from its tokens (vLLM's recompute preemption,
// vllm/v1/core/sched/scheduler.py), so the others never see an error.
import { createHash } from 'node:crypto';
import type { BlockPool } from './kv-pool.js';
import type { Sequence } from './sequence.js';
import { ServeError } from './errors.js';

export interface SchedulerOptions {
  /** Sequences running at once. */
  maxNumSeqs: number;
  /** Sequences waiting beyond this are refused (HTTP 429). */
  maxQueue: number;
  /** Prompt positions prefilled per step, over all sequences. */
  prefillChunk: number;
}

/** One step's work: positions to compute for each sequence. */
export interface StepPlan {
  /** Sequences computing their one pending token. */
  decode: Sequence[];
  /** Sequences computing `n` prompt positions. */
  prefill: { seq: Sequence; n: number }[];
}

export class Scheduler {
  readonly waiting: Sequence[] = [];
  readonly running: Sequence[] = [];
  preemptions = 0;

  constructor(private readonly pool: BlockPool, private readonly options: SchedulerOptions) {}

  get hasWork(): boolean {
    return this.waiting.length > 0 || this.running.length > 0;
  }

  add(seq: Sequence): void {
    if (this.waiting.length >= this.options.maxQueue) {
      throw new ServeError(429, `the queue is full (${this.options.maxQueue} requests waiting); retry later`, null, 'queue_full');
    }
    const needed = Math.ceil((seq.offset + seq.promptLength + seq.params.maxTokens) / this.pool.blockSize);
    if (needed > this.pool.numBlocks) {
      throw new ServeError(400, `prompt (${seq.promptLength} tokens) + max_tokens (${seq.params.maxTokens}) needs ${needed} KV blocks but the cache holds ${this.pool.numBlocks}; lower max_tokens or raise --kv-cache-mb`, 'max_tokens');
    }
    this.waiting.push(seq);
  }

  /** Takes the sequence out (finished or cancelled) and frees its blocks now. */
  remove(seq: Sequence): void {
    for (const list of [this.waiting, this.running]) {
      const at = list.indexOf(seq);
      if (at >= 0) list.splice(at, 1);
    }
    this.freeBlocks(seq);
  }

  schedule(): StepPlan {
    const decode: Sequence[] = [];
    for (const seq of [...this.running]) {
      if (seq.pending !== 1 || seq.state !== 'running') continue;
      if (this.reserve(seq, 1)) decode.push(seq);
    }
    // A preemption above may have taken a sequence already chosen.
    const plan: StepPlan = { decode: decode.filter((s) => s.state === 'running'), prefill: [] };
    let budget = this.options.prefillChunk;
    for (const seq of this.running) {
      if (budget === 0) break;
      if (seq.pending <= 1) continue;
      const n = this.fitting(seq, Math.min(seq.pending, budget));
      if (n > 0) {
        plan.prefill.push({ seq, n });
        budget -= n;
      }
    }
    while (budget > 0 && this.waiting.length > 0 && this.running.length < this.options.maxNumSeqs) {
      const seq = this.waiting[0]!;
      this.matchPrefix(seq);
      const n = this.fitting(seq, Math.min(seq.pending, budget));
      if (n === 0) {
        this.freeBlocks(seq);
        break;
      }
      this.waiting.shift();
      seq.state = 'running';
      this.running.push(seq);
      plan.prefill.push({ seq, n });
      budget -= n;
    }
    if (plan.decode.length === 0 && plan.prefill.length === 0 && this.running.length > 0) {
      // Partly prefilled prompts hold every block and none can go on: the newest gives its blocks back.
      this.preempt(this.newest());
      return this.schedule();
    }
    return plan;
  }

  private newest(): Sequence {
    return this.running.reduce((a, b) => (b.arrival > a.arrival ? b : a));
  }

  /** After a step computed positions: publishes the blocks that are now full and computed. */
  publishFull(seq: Sequence): void {
    const bs = this.pool.blockSize;
    for (let i = seq.blockHashes.length; (i + 1) * bs <= seq.computed; i++) seq.blockHashes.push(this.blockHash(seq, i));
    for (let i = 0; i < seq.blockHashes.length && (i + 1) * bs <= seq.computed; i++) this.pool.publish(seq.blocks[i]!, seq.blockHashes[i]!);
  }

  /** The prefix-cache key of block i: everything before it, the adapter, and its tokens. */
  private blockHash(seq: Sequence, i: number): string {
    const bs = this.pool.blockSize;
    const previous = i === 0 ? seq.adapterHash : seq.blockHashes[i - 1]!;
    const positions = Array.from({ length: bs }, (_, j) => seq.at(i * bs + j));
    return createHash('sha1').update(previous).update('\0').update(positions.join(',')).digest('hex');
  }

  /** A newly admitted sequence starts from the longest cached run of its full blocks (at least one position left to compute). */
  private matchPrefix(seq: Sequence): void {
    if (seq.blocks.length > 0) return;
    const bs = this.pool.blockSize;
    const usable = Math.floor((seq.length - 1) / bs);
    for (let i = 0; i < usable; i++) {
      if (i >= seq.blockHashes.length) seq.blockHashes.push(this.blockHash(seq, i));
      const block = this.pool.lookup(seq.blockHashes[i]!);
      if (block === null) break;
      seq.blocks.push(block);
    }
    seq.computed = seq.blocks.length * bs;
  }

  /** How many of `n` next positions of `seq` have blocks, allocating what is missing (no preemption). */
  private fitting(seq: Sequence, n: number): number {
    const bs = this.pool.blockSize;
    while (seq.blocks.length * bs < seq.computed + n) {
      const block = this.pool.allocate();
      if (block === null) return Math.max(0, seq.blocks.length * bs - seq.computed);
      seq.blocks.push(block);
    }
    return n;
  }

  /** Blocks for the next n positions of a running sequence, preempting newer ones if needed; false if `seq` itself was preempted. */
  private reserve(seq: Sequence, n: number): boolean {
    while (this.fitting(seq, n) < n) {
      const victim = this.newest();
      this.preempt(victim);
      if (victim === seq) return false;
    }
    return true;
  }

  private preempt(seq: Sequence): void {
    this.running.splice(this.running.indexOf(seq), 1);
    this.freeBlocks(seq);
    seq.state = 'waiting';
    seq.preemptions++;
    this.preemptions++;
    this.waiting.unshift(seq);
  }

  private freeBlocks(seq: Sequence): void {
    for (const block of seq.blocks) this.pool.release(block);
    seq.blocks = [];
    seq.computed = 0;
  }
}
