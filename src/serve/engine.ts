// The serving engine: a step loop over the scheduler's plans. Each step runs one forward per
// model variant over every decoding row (each row with its own adapter), then the prompt chunks
// planned for it, samples a token for each row whose positions are all computed, and hands text
// to the sinks. Steps run back to back while there is work, yielding to the event loop between
// them so that requests arrive, stream and cancel while others decode.
import { randomInt } from 'node:crypto';
import { noGrad, tensor, tidy } from '../tensor/index.js';
import type { ModelInputs, ModelOutput } from '../models/outputs.js';
import { BlockPool, type KVLayout } from './kv-pool.js';
import { Scheduler, type SchedulerOptions } from './scheduler.js';
import { Sequence, type FinishReason, type SequenceSink } from './sequence.js';
import { Sampler, type TokenLogprob } from './sampler.js';
import { StepCache } from './step-cache.js';
import { TextStream, type Detokenizer } from './text-stream.js';
import type { SamplingParams } from './sampling-params.js';
import { Metrics } from './metrics.js';
import { chunkEmbeddings, type VirtualPrefix } from './virtual-prefix.js';
import type { PretrainedModel } from '../models/index.js';

/** A model the engine runs rows through: the base, or a PeftModel (rows routed by adapterNames). */
export interface Runner {
  forward(inputs: ModelInputs & { adapterNames?: readonly (string | null)[] }): ModelOutput;
}

export interface EngineRequest {
  prompt: readonly number[];
  params: SamplingParams;
  /** Adapter name, or null for the base model. */
  adapter: string | null;
  /** The adapter's content hash (prefix-cache keys); '' for the base. */
  adapterHash: string;
  /** What computes this row, and whether it takes adapterNames. */
  runner: Runner;
  routed: boolean;
  /** Rows with the same group run in one forward (default: the runner). */
  group?: object;
  /** Called before a forward of this row's group (adapters that cannot be routed per row are made active). */
  activate?: (() => void) | null;
  /** Name for /metrics (the model field of the request). */
  model: string;
  /** A prompt-learning adapter's virtual tokens (the runner is then the base model). */
  virtual?: VirtualPrefix | null;
}

export interface EngineOptions extends SchedulerOptions {
  blockSize: number;
  kvCacheBytes: number;
  eosTokenIds: readonly number[];
}

export class Engine {
  readonly pool: BlockPool;
  readonly scheduler: Scheduler;
  readonly metrics = new Metrics();
  private nextId = 1;
  private looping = false;
  private readonly requests = new Map<Sequence, EngineRequest>();
  /** Called when a sequence leaves the engine (the adapter registry unpins its adapter). */
  onRelease: (request: EngineRequest) => void = () => {};

  constructor(layout: KVLayout, private readonly tokenizer: Detokenizer | null, readonly options: EngineOptions) {
    this.pool = new BlockPool(layout, options.blockSize, options.kvCacheBytes);
    this.scheduler = new Scheduler(this.pool, options);
  }

  /** Queues a request; throws ServeError 429 when the queue is full. */
  submit(request: EngineRequest, sink: SequenceSink): Sequence {
    const { params } = request;
    const seed = params.seed ?? randomInt(2 ** 31);
    const text = new TextStream(this.tokenizer, params.stop);
    const seq = new Sequence(this.nextId++, request.adapter, request.adapterHash, request.prompt, params, new Sampler(params, seed), text, sink, request.virtual ?? null);
    this.scheduler.add(seq);
    this.requests.set(seq, request);
    this.wake();
    return seq;
  }

  /** Stops a sequence now (the client went away): its blocks are freed before this returns. */
  cancel(seq: Sequence): void {
    if (seq.state === 'finished') return;
    seq.cancelled = true;
    this.finish(seq, 'abort');
  }

  /** Runs one step; false when there was nothing to do. Exposed for tests; the loop calls it. */
  step(): boolean {
    if (!this.scheduler.hasWork) return false;
    const plan = this.scheduler.schedule();
    const decode = new Batches();
    for (const seq of plan.decode) decode.add(this.groupOf(seq), 1, seq);
    for (const [n, rows] of decode.entries()) this.forwardRows(rows, n);
    // Prompt chunks of the same length and group run in one forward (16 arriving prompts cost one
    // 16-row forward per layer, not 16 one-row forwards): the weights are read once for all of them.
    const prefill = new Batches();
    for (const { seq, n } of plan.prefill) {
      if (seq.state !== 'running') continue;
      const rest = this.writeVirtualKeys(seq, n);
      if (rest === 0) continue;
      // Prompt tuning's virtual embeddings are built for one row at a time.
      if (seq.computed < seq.offset && seq.virtual?.embeds) this.forwardRows([seq], rest);
      else prefill.add(this.groupOf(seq), rest, seq);
    }
    for (const [n, rows] of prefill.entries()) this.forwardRows(rows, n);
    return true;
  }

  private groupOf(seq: Sequence): object {
    const request = this.requests.get(seq)!;
    return request.group ?? request.runner;
  }

  /** Prefix tuning's virtual positions of a prompt chunk are written into the blocks, not computed; returns the positions left. */
  private writeVirtualKeys(seq: Sequence, n: number): number {
    const keysValues = seq.virtual?.keysValues;
    if (!keysValues || seq.computed >= seq.offset) return n;
    const count = Math.min(n, seq.offset - seq.computed);
    const start = seq.computed;
    noGrad(() => tidy(() => {
      const cache = new StepCache(this.pool, [{ blocks: seq.blocks, cached: start }], count);
      keysValues.forEach(([k, v], layer) => cache.update(layer, k.narrow(2, start, count), v.narrow(2, start, count)));
    }));
    seq.computed += count;
    this.scheduler.publishFull(seq);
    return n - count;
  }

  /** Computes the next n positions of each row (one forward), then samples where a row is complete. */
  private forwardRows(rows: Sequence[], n: number): void {
    const request = this.requests.get(rows[0]!)!;
    let logits: Float32Array;
    try {
      request.activate?.();
      logits = noGrad(() => tidy(() => {
        const cache = new StepCache(this.pool, rows.map((s) => ({ blocks: s.blocks, cached: s.computed })), n);
        const positionIds = tensor(rows.flatMap((s) => Array.from({ length: n }, (_, i) => s.computed + i)), [rows.length, n], 'int64');
        const first = rows[0]!;
        // Prompt tuning's virtual positions enter as embeddings (a prefill chunk has one row).
        const tokens = first.computed < first.offset && first.virtual?.embeds
          ? { inputsEmbeds: chunkEmbeddings(request.runner as PretrainedModel, first.virtual, first.tokens, first.computed, n) }
          : { inputIds: tensor(rows.flatMap((s) => s.tokens.slice(s.computed - s.offset, s.computed - s.offset + n)), [rows.length, n], 'int64') };
        const inputs = { ...tokens, positionIds, attentionMask: cache.attentionMask(), pastKeyValues: cache, logitsToKeep: 1 };
        const out = request.runner.forward(request.routed ? { ...inputs, adapterNames: rows.map((s) => s.adapter) } : inputs);
        return out.logits.select(1, out.logits.shape[1]! - 1).to('float32').data() as Float32Array;
      }));
    } catch (error) {
      // One bad group must not stop the others: its rows end with an error.
      for (const seq of rows) {
        this.metrics.requestDone(this.requests.get(seq)?.model ?? '?', 'error');
        seq.sink.onFinish('abort');
        this.finish(seq, 'abort', false);
      }
      console.error(`peft serve: a forward failed: ${(error as Error).stack ?? String(error)}`);
      return;
    }
    const vocab = logits.length / rows.length;
    rows.forEach((seq, r) => {
      seq.computed += n;
      this.scheduler.publishFull(seq);
      if (seq.pending === 0) this.emit(seq, logits.subarray(r * vocab, (r + 1) * vocab));
    });
  }

  private emit(seq: Sequence, logits: Float32Array): void {
    const { token, logprob } = seq.sampler.next(logits, seq.tokens);
    seq.tokens.push(token);
    const now = performance.now();
    if (seq.firstTokenAt === null) {
      seq.firstTokenAt = now;
      this.metrics.ttft.observe((now - seq.arrival) / 1000);
    } else {
      this.metrics.itl.observe((now - seq.lastTokenAt!) / 1000);
    }
    seq.lastTokenAt = now;
    const { params } = seq;
    const eos = !params.ignoreEos && this.options.eosTokenIds.includes(token);
    const stopToken = eos || params.stopTokenIds.includes(token);
    const { delta, stopped } = stopToken ? { delta: '', stopped: false } : seq.text.push(token);
    const logprobs: TokenLogprob[] = logprob ? [logprob] : [];
    const reason: FinishReason | null = stopToken || stopped ? 'stop' : seq.outputLength >= params.maxTokens ? 'length' : null;
    seq.sink.onOutput([token], reason !== null && !stopped ? delta + seq.text.flush() : delta, logprobs);
    if (reason !== null) this.finish(seq, reason);
  }

  private finish(seq: Sequence, reason: FinishReason, notify = true): void {
    if (seq.state === 'finished') return;
    this.scheduler.remove(seq);
    seq.state = 'finished';
    const request = this.requests.get(seq);
    this.requests.delete(seq);
    if (request) {
      this.metrics.tokens(request.model, seq.promptLength, seq.outputLength);
      if (notify) this.metrics.requestDone(request.model, reason);
      this.onRelease(request);
    }
    if (notify && !seq.cancelled) seq.sink.onFinish(reason);
  }

  /** Starts the step loop if it is not running. */
  private wake(): void {
    if (this.looping) return;
    this.looping = true;
    setImmediate(() => this.loop());
  }

  private loop(): void {
    if (!this.step()) {
      this.looping = false;
      return;
    }
    setImmediate(() => this.loop());
  }
}

/** Rows that can share one forward: the same group (model variant) and the same number of new positions. */
class Batches {
  private readonly byGroup = new Map<object, Map<number, Sequence[]>>();

  add(group: object, n: number, seq: Sequence): void {
    let byLength = this.byGroup.get(group);
    if (!byLength) this.byGroup.set(group, (byLength = new Map()));
    const rows = byLength.get(n);
    if (rows) rows.push(seq);
    else byLength.set(n, [seq]);
  }

  *entries(): Generator<[number, Sequence[]]> {
    for (const byLength of this.byGroup.values()) yield* byLength.entries();
  }
}
