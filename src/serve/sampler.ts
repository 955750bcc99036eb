// Picks each request's next token from its logits, with its own settings and its own random
// generator (so a seeded request draws the same numbers whether it runs alone or in a batch).
// Order as vLLM's sampler (vllm/v1/sample/sampler.py): log-probabilities of the raw logits, then
// penalties, temperature, top-k, top-p, and a draw.
import { Generator } from '../tensor/index.js';
import type { SamplingParams } from './sampling-params.js';

export interface TokenLogprob {
  token: number;
  logprob: number;
  /** The most likely tokens at this step (n = the request's logprobs), best first. */
  top: { token: number; logprob: number }[];
}

export class Sampler {
  private readonly rng: Generator;
  /** How often each token occurs in the output so far (presence and frequency penalties). */
  private readonly counts = new Map<number, number>();

  constructor(private readonly params: SamplingParams, seed: number) {
    this.rng = new Generator(seed);
  }

  /** Chooses the next token from `logits` (overwritten); `context` is prompt plus output so far. */
  next(logits: Float32Array, context: readonly number[]): { token: number; logprob: TokenLogprob | null } {
    const p = this.params;
    const lse = p.logprobs === null ? 0 : logSumExp(logits);
    const alternatives = p.logprobs === null ? [] : topIndices(logits, p.logprobs).map((t) => ({ token: t, logprob: logits[t]! - lse }));
    const raw = (t: number) => logits[t]! - lse;
    this.applyPenalties(logits, context);
    const token = p.temperature === 0 ? argmax(logits) : this.draw(logits);
    this.counts.set(token, (this.counts.get(token) ?? 0) + 1);
    return { token, logprob: p.logprobs === null ? null : { token, logprob: raw(token), top: alternatives } };
  }

  private applyPenalties(logits: Float32Array, context: readonly number[]): void {
    const { repetitionPenalty: rep, presencePenalty: presence, frequencyPenalty: frequency } = this.params;
    if (rep !== 1) {
      for (const t of new Set(context)) logits[t] = logits[t]! > 0 ? logits[t]! / rep : logits[t]! * rep;
    }
    if (presence !== 0 || frequency !== 0) {
      for (const [t, n] of this.counts) logits[t] = logits[t]! - presence - frequency * n;
    }
  }

  /** A draw from softmax(logits / temperature) within top-k and the top-p nucleus. */
  private draw(logits: Float32Array): number {
    const { temperature, topK, topP } = this.params;
    const restrict = topK > 0 || topP < 1;
    const order = restrict ? topIndices(logits, topK > 0 ? Math.min(topK, logits.length) : logits.length) : null;
    const candidates = order ?? Array.from(logits.keys());
    const max = order !== null ? logits[order[0]!]! : maxOf(logits);
    const weights = candidates.map((t) => Math.exp((logits[t]! - max) / temperature));
    let keep = weights.length;
    if (topP < 1) {
      const total = weights.reduce((s, w) => s + w, 0);
      let cumulative = 0;
      keep = weights.findIndex((w) => (cumulative += w / total) >= topP) + 1 || weights.length;
    }
    const total = weights.slice(0, keep).reduce((s, w) => s + w, 0);
    let u = this.rng.uniform() * total;
    for (let i = 0; i < keep; i++) {
      u -= weights[i]!;
      if (u <= 0) return candidates[i]!;
    }
    return candidates[keep - 1]!;
  }
}

/** The first index of the largest value (as PeftModel.generate's greedy choice). */
export function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

function maxOf(row: Float32Array): number {
  let m = -Infinity;
  for (const v of row) if (v > m) m = v;
  return m;
}

function logSumExp(row: Float32Array): number {
  const m = maxOf(row);
  let s = 0;
  for (const v of row) s += Math.exp(v - m);
  return m + Math.log(s);
}

/** The indices of the n largest values, largest first (ties: lower index first). */
function topIndices(row: Float32Array, n: number): number[] {
  if (n <= 0) return [];
  if (n >= row.length) return Array.from(row.keys()).sort((a, b) => row[b]! - row[a]! || a - b);
  // Keep a sorted list of the best n seen so far; the vocabulary is scanned once.
  const best: number[] = [];
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!;
    if (best.length === n && v <= row[best[n - 1]!]!) continue;
    let at = best.length;
    while (at > 0 && row[best[at - 1]!]! < v) at--;
    best.splice(at, 0, i);
    if (best.length > n) best.pop();
  }
  return best;
}
