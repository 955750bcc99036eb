// Encoder-decoder generation (HF's generate for T5): encode the prompt once, then decode one
// token at a time from decoder_start_token_id. The decoder's self-attention keys/values grow in
// a KV cache; its cross-attention keys/values come from the encoder output and are computed once.
import { Tensor, tensor, noGrad, tidy, defaultGenerator, ShapeError, ValueError, formatShape } from '../tensor/index.js';
import { KVCache } from './cache.js';
import { pickTokens, type GenerateOptions } from './generation.js';
import type { ModelInputs } from './outputs.js';

/** The caches of a decoder with cross-attention (HF's EncoderDecoderCache): this one is self-attention's. */
export class EncoderDecoderCache extends KVCache {
  /** Per decoder layer, the keys and values of the encoder output: filled at the first step, then reused. */
  readonly crossAttention = new KVCache();

  override selectRows(rows: Tensor): void {
    super.selectRows(rows);
    this.crossAttention.selectRows(rows);
  }

  override dispose(): void {
    super.dispose();
    this.crossAttention.dispose();
  }
}

/** One decoder step: new decoder tokens against a fixed encoder output, reading and extending `cache`. */
export interface DecodeInputs {
  decoderInputIds: Tensor;
  encoderHiddenStates: Tensor;
  /** The encoder's padding mask [batch, source]. */
  encoderAttentionMask?: Tensor;
  cache?: KVCache;
}

/** The model side of encoder-decoder generation. */
export interface Seq2SeqStepModel {
  /** The encoder output [batch, source, hidden]. */
  encode(inputs: ModelInputs): Tensor;
  /** Logits [batch, new tokens, vocab]. */
  decode(inputs: DecodeInputs): Tensor;
  readonly config: { decoder_start_token_id: number; eos_token_id: number | number[] | null; pad_token_id: number | null };
}

/**
 * Prompt [batch, source] → decoder sequences [batch, 1 + up to maxNewTokens], int64, each starting
 * with decoder_start_token_id (as HF returns them). `attentionMask` marks the prompt's padding.
 */
export function generateSeq2Seq(model: Seq2SeqStepModel, inputIds: Tensor, options: GenerateOptions = {}): Tensor {
  if (inputIds.ndim !== 2) throw new ShapeError(`generate: inputIds must be [batch, seq], not ${formatShape(inputIds.shape)}`);
  const batch = inputIds.shape[0]!;
  const maxNew = options.maxNewTokens ?? 20;
  if (!Number.isInteger(maxNew) || maxNew < 0) throw new ValueError(`generate: maxNewTokens must be a non-negative integer, not ${maxNew}`);
  const eosIds = options.eosTokenId ?? model.config.eos_token_id;
  const eos = new Set(eosIds === null ? [] : Array.isArray(eosIds) ? eosIds : [eosIds]);
  const pad = options.padTokenId ?? model.config.pad_token_id ?? [...eos][0] ?? 0;
  const start = model.config.decoder_start_token_id;
  const rows = Array.from({ length: batch }, () => [start]);
  const finished = new Array<boolean>(batch).fill(false);
  const rng = options.generator ?? defaultGenerator;
  const cache = new EncoderDecoderCache();
  try {
    noGrad(() =>
      tidy(() => {
        const encoderHiddenStates = model.encode({ inputIds, attentionMask: options.attentionMask });
        let stepIds = tensor(rows.flat(), [batch, 1], 'int64');
        for (let step = 0; step < maxNew && !finished.every(Boolean); step++) {
          const next = tidy(() => {
            const logits = model.decode({ decoderInputIds: stepIds, encoderHiddenStates, encoderAttentionMask: options.attentionMask, cache });
            return pickTokens(logits.select(1, logits.shape[1]! - 1).to('float32'), rows, options, rng);
          });
          const emitted = next.map((t, b) => (finished[b] ? pad : t));
          emitted.forEach((t, b) => {
            rows[b]!.push(t);
            if (eos.has(t)) finished[b] = true;
          });
          options.onToken?.(emitted, step);
          stepIds = tensor(emitted, [batch, 1], 'int64');
        }
        return null;
      }),
    );
  } finally {
    cache.dispose();
  }
  // Every row grows by one token a step (finished rows by pad), so all have the same length.
  return tensor(rows.flat(), [batch, rows[0]?.length ?? 1], 'int64');
}
