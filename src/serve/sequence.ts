// One request inside the engine: its tokens (prompt, then output), its place in the paged cache,
// its sampler, and where its results go.
import type { SamplingParams } from './sampling-params.js';
import type { Sampler, TokenLogprob } from './sampler.js';
import type { TextStream } from './text-stream.js';
import type { VirtualPrefix } from './virtual-prefix.js';

export type FinishReason = 'stop' | 'length' | 'abort';

/** What the engine tells whoever submitted a request. */
export interface SequenceSink {
  /** New output: token ids, the text they complete (held back while it may begin a stop string), logprobs. */
  onOutput(tokens: number[], text: string, logprobs: TokenLogprob[]): void;
  onFinish(reason: FinishReason): void;
}

export type SequenceState = 'waiting' | 'running' | 'finished';

export class Sequence {
  state: SequenceState = 'waiting';
  /** Prompt followed by every token produced so far. */
  readonly tokens: number[];
  /**
   * Positions whose keys and values are in `blocks` (the rest are computed by later steps). A
   * row's positions are its adapter's virtual tokens (prompt learning), then `tokens`.
   */
  computed = 0;
  /** Block table: block i holds positions [i·blockSize, (i+1)·blockSize). */
  blocks: number[] = [];
  /** Prefix-cache hash of each full block, in order (a chain over tokens and the adapter). */
  blockHashes: string[] = [];
  /** Preempted sequences restart their prefill; counted for /metrics. */
  preemptions = 0;
  cancelled = false;
  readonly arrival: number;
  firstTokenAt: number | null = null;
  lastTokenAt: number | null = null;

  constructor(
    readonly id: number,
    readonly adapter: string | null,
    /** The adapter's content hash ('' for the base): part of every prefix-cache key. */
    readonly adapterHash: string,
    prompt: readonly number[],
    readonly params: SamplingParams,
    readonly sampler: Sampler,
    readonly text: TextStream,
    readonly sink: SequenceSink,
    /** A prompt-learning adapter's virtual tokens, in front of the prompt. */
    readonly virtual: VirtualPrefix | null = null,
  ) {
    this.tokens = [...prompt];
    this.promptLength = prompt.length;
    this.arrival = performance.now();
  }

  readonly promptLength: number;

  get outputLength(): number {
    return this.tokens.length - this.promptLength;
  }

  /** Virtual positions before the first token. */
  get offset(): number {
    return this.virtual?.tokens ?? 0;
  }

  /** Positions in all: virtual tokens, prompt and output. */
  get length(): number {
    return this.offset + this.tokens.length;
  }

  /** What position p holds, for prefix-cache keys: a token id, or -1 - i for virtual token i. */
  at(p: number): number {
    return p < this.offset ? -1 - p : this.tokens[p - this.offset]!;
  }

  /** Positions still to compute before the next token can be sampled. */
  get pending(): number {
    return this.length - this.computed;
  }
}
