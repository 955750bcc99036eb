// Autoregressive generation with a KV cache: greedy or sampled (temperature, top-k, top-p,
// repetition penalty), stop tokens, left-padded batches and a streaming callback.
import {
  Tensor, tensor, noGrad, tidy, softmax, defaultGenerator, ValueError, ShapeError, IndexError, formatShape,
  type Generator,
} from '../tensor/index.js';
import { KVCache } from './cache.js';
import type { ModelInputs, ModelOutput } from './outputs.js';

export interface GenerateOptions {
  /** 1 for real tokens, 0 for (left) padding, [batch, prompt]. */
  attentionMask?: Tensor;
  /** New tokens to produce at most (default 20). */
  maxNewTokens?: number;
  /** Sample instead of taking the most likely token. */
  doSample?: boolean;
  temperature?: number;
  /** Keep only the k most likely tokens when sampling (0 = all). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p when sampling (1 = all). */
  topP?: number;
  /** > 1 discourages tokens already present (CTRL's penalty, as HF applies it). */
  repetitionPenalty?: number;
  /** Tokens that end a sequence (default: the config's eos_token_id). */
  eosTokenId?: number | number[];
  /** Fills finished rows (default: the config's pad token, else the first eos token). */
  padTokenId?: number;
  generator?: Generator;
  /** Called after every step with the new token of each row (rows already finished get the pad id). */
  onToken?: (tokens: number[], step: number) => void;
}

/** The model side of generation: one forward step over new tokens with a cache. */
export interface CausalStepModel {
  forward(inputs: ModelInputs): ModelOutput;
  readonly config: { vocab_size?: number; eos_token_id: number | number[] | null; pad_token_id: number | null };
}

/** Prompt [batch, prompt] → prompt followed by up to maxNewTokens new tokens per row, int64. */
export function generate(model: CausalStepModel, inputIds: Tensor, options: GenerateOptions = {}): Tensor {
  if (inputIds.ndim !== 2) throw new ShapeError(`generate: inputIds must be [batch, seq], not ${formatShape(inputIds.shape)}`);
  const [batch, promptLen] = inputIds.shape as [number, number];
  const maxNew = options.maxNewTokens ?? 20;
  if (!Number.isInteger(maxNew) || maxNew < 0) throw new ValueError(`generate: maxNewTokens must be a non-negative integer, not ${maxNew}`);
  const eos = new Set(toList(options.eosTokenId ?? model.config.eos_token_id));
  const pad = options.padTokenId ?? model.config.pad_token_id ?? [...eos][0] ?? 0;
  const vocab = model.config.vocab_size;
  const ids = inputIds.toFlatArray();
  if (vocab !== undefined) {
    const bad = ids.findIndex((t) => !Number.isInteger(t) || t < 0 || t >= vocab);
    if (bad >= 0) throw new IndexError(`generate: token id ${ids[bad]} at position ${bad} is outside the vocabulary [0, ${vocab})`);
  }
  const mask = (options.attentionMask ?? tensor(new Array(batch * promptLen).fill(1), [batch, promptLen], 'int64')).toFlatArray();
  const rows = Array.from({ length: batch }, (_, b) => ids.slice(b * promptLen, (b + 1) * promptLen));
  const masks = Array.from({ length: batch }, (_, b) => mask.slice(b * promptLen, (b + 1) * promptLen));
  // Positions count real tokens only, so left padding does not shift them (HF's cumsum - 1).
  const nextPosition = masks.map((m) => m.reduce((s, v) => s + v, 0));
  const promptPositions = masks.map((m) => {
    let p = -1;
    return m.map((v) => (v ? ++p : 1));
  });
  const finished = new Array<boolean>(batch).fill(false);
  const cache = new KVCache();
  const generatorRng = options.generator ?? defaultGenerator;
  try {
    noGrad(() => {
      let stepIds = inputIds;
      let stepPositions = tensor(promptPositions.flat(), [batch, promptLen], 'int64');
      for (let step = 0; step < maxNew && !finished.every(Boolean); step++) {
        const next = tidy(() => {
          const attentionMask = tensor(masks.flat(), [batch, masks[0]!.length], 'int64');
          const out = model.forward({ inputIds: stepIds, attentionMask, positionIds: stepPositions, pastKeyValues: cache, logitsToKeep: 1 });
          const last = out.logits.select(1, out.logits.shape[1]! - 1).to('float32');
          return pickTokens(last, rows, options, generatorRng);
        });
        const emitted = next.map((t, b) => (finished[b] ? pad : t));
        emitted.forEach((t, b) => {
          rows[b]!.push(t);
          masks[b]!.push(1);
          if (eos.has(t)) finished[b] = true;
        });
        options.onToken?.(emitted, step);
        stepIds = tensor(emitted, [batch, 1], 'int64');
        stepPositions = tensor(nextPosition.map((p) => p + step), [batch, 1], 'int64');
      }
    });
  } finally {
    cache.dispose();
  }
  const width = Math.max(...rows.map((r) => r.length));
  return tensor(rows.flatMap((r) => [...r, ...new Array<number>(width - r.length).fill(pad)]), [batch, width], 'int64');
}

function toList(v: number | number[] | null | undefined): number[] {
  return v === null || v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** The next token of each row from its last logits [batch, vocab]. */
export function pickTokens(logits: Tensor, rows: number[][], options: GenerateOptions, rng: Generator): number[] {
  const [batch, vocab] = logits.shape as [number, number];
  const values = logits.data() as Float32Array;
  const penalty = options.repetitionPenalty ?? 1;
  const out: number[] = [];
  for (let b = 0; b < batch; b++) {
    const row = values.subarray(b * vocab, (b + 1) * vocab);
    if (penalty !== 1) {
      for (const t of new Set(rows[b])) row[t] = row[t]! > 0 ? row[t]! / penalty : row[t]! * penalty;
    }
    out.push(options.doSample ? sample(row, options, rng) : argmaxOf(row));
  }
  return out;
}

function argmaxOf(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** Samples from softmax(row / temperature) restricted to top-k and the top-p nucleus. */
function sample(row: Float32Array, options: GenerateOptions, rng: Generator): number {
  const temperature = options.temperature ?? 1;
  if (!(temperature > 0)) throw new ValueError(`generate: temperature must be > 0 when sampling, not ${temperature}`);
  const topK = options.topK ?? 0;
  const topP = options.topP ?? 1;
  let order = Array.from(row.keys()).sort((a, b) => row[b]! - row[a]! || a - b);
  if (topK > 0) order = order.slice(0, topK);
  const probs = softmax(tensor(order.map((i) => row[i]! / temperature)), -1).toFlatArray();
  let keep = probs.length;
  if (topP < 1) {
    let cumulative = 0;
    keep = probs.findIndex((p) => (cumulative += p) >= topP) + 1 || probs.length;
  }
  const total = probs.slice(0, keep).reduce((s, p) => s + p, 0);
  let u = rng.uniform() * total;
  for (let i = 0; i < keep; i++) {
    u -= probs[i]!;
    if (u <= 0) return order[i]!;
  }
  return order[keep - 1]!;
}
