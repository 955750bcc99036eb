// Prompt-learning adapters in a mixed batch: their virtual tokens are the first positions of the
// row's sequence. Prompt tuning and P-tuning give embeddings for those positions (run through the
// base model like any prompt chunk, so their keys and values land in the row's blocks and are
// prefix-cached per adapter); prefix tuning gives each layer's keys and values, written into the
// row's first blocks directly. Positions then count the virtual tokens, as HF's generation does
// (peft/peft_model.py, PeftModelForCausalLM.prepare_inputs_for_generation). Either way the row
// is a base-model row afterwards and decodes in the base model's group.
import { Tensor, keep, noGrad, concat } from '../tensor/index.js';
import { KVCache } from '../models/cache.js';
import type { PretrainedModel } from '../models/index.js';
import type { PromptTunerModel } from '../peft/prompt/tuner-model.js';
import { wordEmbeddings } from '../peft/prompt/model-checks.js';
import { layerEntries, seedPrefixCache } from '../peft/prompt/prefix-tuning/past-key-values.js';
import type { ResolvedPromptConfig } from '../peft/prompt/config.js';

export interface VirtualPrefix {
  tokens: number;
  /** Prompt tuning, P-tuning: [tokens, hidden] in the model's dtype. */
  embeds: Tensor | null;
  /** Prefix tuning: per layer, keys and values [1, kvHeads, tokens, headDim]. */
  keysValues: [Tensor, Tensor][] | null;
}

class CaptureCache extends KVCache {
  readonly captured: [Tensor, Tensor][] = [];

  override update(layer: number, k: Tensor, v: Tensor): [Tensor, Tensor] {
    this.captured[layer] = [keep(k.contiguous()), keep(v.contiguous())];
    return this.captured[layer];
  }
}

/** Adapter `name`'s virtual tokens, computed once (the encoders are fixed at inference). */
export function virtualPrefix(tuner: PromptTunerModel, name: string, dtype: Tensor['dtype']): VirtualPrefix {
  const config = tuner.configs.get(name) as ResolvedPromptConfig;
  const tokens = config.numVirtualTokens;
  return noGrad(() => {
    const prompts = tuner.encoders.get(name)!.prompts();
    if (tuner.promptMethod.promptLearning.injects === 'embeddings') {
      const rows = prompts.shape[0] === tokens ? prompts : prompts.narrow(0, 0, tokens);
      return { tokens, embeds: keep(rows.to(dtype).contiguous()), keysValues: null };
    }
    const capture = new CaptureCache();
    seedPrefixCache(capture, prompts.to(dtype), config, 1, layerEntries);
    return { tokens, embeds: null, keysValues: capture.captured };
  });
}

export function disposeVirtualPrefix(prefix: VirtualPrefix): void {
  prefix.embeds?.dispose();
  for (const [k, v] of prefix.keysValues ?? []) {
    k.dispose();
    v.dispose();
  }
}

/** Input embeddings [1, n, hidden] for positions [start, start + n) of a row whose first positions are virtual. */
export function chunkEmbeddings(model: PretrainedModel, prefix: VirtualPrefix, tokens: readonly number[], start: number, n: number): Tensor {
  const virtualEnd = Math.min(prefix.tokens, start + n);
  const parts: Tensor[] = [];
  if (start < virtualEnd) parts.push(prefix.embeds!.narrow(0, start, virtualEnd - start));
  const from = Math.max(start, prefix.tokens) - prefix.tokens;
  const count = start + n - Math.max(start, prefix.tokens);
  if (count > 0) parts.push(wordEmbeddings(model).forward(Tensor.fromArray(BigInt64Array.from(tokens.slice(from, from + count).map(BigInt)), [count], 'int64')));
  return concat(parts, 0).unsqueeze(0);
}
