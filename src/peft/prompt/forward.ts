// The forward pass of a prompt-learning PeftModel (HF's PeftModelForCausalLM / ...ForSequence
// Classification / ...ForTokenClassification / ...ForSeq2SeqLM, prompt-learning branches):
// embeddings methods prepend the virtual tokens to the input embeddings (attention mask extended
// with ones, causal labels with -100); prefixes enter as a KV cache of virtual keys and values
// (attention mask extended). As in HF, position ids are ignored: positions follow the virtual tokens.
import { Tensor, concat, full, ones, zeros, ValueError } from '../../tensor/index.js';
import type { ModelInputs, ModelOutput } from '../../models/index.js';
import type { ResolvedPromptConfig } from './config.js';
import { wordEmbeddings } from './model-checks.js';
import { decoderEntries, layerEntries, seedPrefixCache } from './prefix-tuning/past-key-values.js';
import { KVCache } from '../../models/index.js';
import type { PromptTunerModel } from './tuner-model.js';
import type { PromptEncoderModule } from './method.js';

/** [batch, tokens] of `value` in `t`'s dtype, before `t` along dim 1. */
export function prependColumns(t: Tensor, tokens: number, value: number): Tensor {
  const batch = t.shape[0]!;
  const filler = value === 1 ? ones([batch, tokens], t.dtype) : value === 0 ? zeros([batch, tokens], t.dtype) : full([batch, tokens], value, t.dtype);
  return concat([filler, t], 1);
}

function batchOf(inputs: ModelInputs): number {
  const source = inputs.inputIds ?? inputs.inputsEmbeds;
  if (source === undefined) throw new ValueError('forward needs inputIds (or inputsEmbeds)');
  return source.shape[0]!;
}

/** An encoder's (the active adapter's) virtual-token embeddings [batch, tokens, token_dim] (the first `tokens` rows). */
export function promptEmbeddings(encoder: PromptEncoderModule, batch: number, tokens: number): Tensor {
  const prompts = encoder.prompts();
  const rows = tokens === prompts.shape[0] ? prompts : prompts.narrow(0, 0, tokens);
  return rows.unsqueeze(0).expand([batch, tokens, rows.shape[1]!]);
}

/** A cache holding the active adapter's prefixes (decoder self-attention only for encoder-decoder models). */
export function seedPrefixes(tuner: PromptTunerModel, cache: KVCache, batch: number): KVCache {
  const config = tuner.activeConfig();
  const entries = config.numTransformerSubmodules === 2 ? decoderEntries(config.numLayers) : layerEntries;
  return seedPrefixCache(cache, tuner.activeEncoder().prompts(), config, batch, entries);
}

/** inputsEmbeds with the virtual tokens in front. */
function withPromptEmbeds(tuner: PromptTunerModel, inputs: ModelInputs, batch: number, tokens: number): Tensor {
  const embeds = inputs.inputsEmbeds ?? wordEmbeddings(tuner.pretrained).forward(inputs.inputIds!);
  return concat([promptEmbeddings(tuner.activeEncoder(), batch, tokens).to(embeds.dtype), embeds], 1);
}

export function promptForward(tuner: PromptTunerModel, inputs: ModelInputs): ModelOutput {
  const model = tuner.pretrained;
  if (tuner.promptsDisabled) return model.forward(inputs);
  const config: ResolvedPromptConfig = tuner.activeConfig();
  const tokens = config.numVirtualTokens;
  const batch = batchOf(inputs);
  const keysValues = tuner.promptMethod.promptLearning.injects === 'keys-values';
  const { positionIds: _ignored, ...rest } = inputs;
  if (config.taskType === 'SEQ_2_SEQ_LM') {
    if (keysValues) {
      const decoderAttentionMask = rest.decoderAttentionMask && prependColumns(rest.decoderAttentionMask, tokens, 1);
      return model.forward({ ...rest, decoderAttentionMask, pastKeyValues: seedPrefixes(tuner, new KVCache({ scoped: true }), batch) });
    }
    const attentionMask = rest.attentionMask && prependColumns(rest.attentionMask, tokens, 1);
    return model.forward({ ...rest, inputIds: undefined, inputsEmbeds: withPromptEmbeds(tuner, rest, batch, tokens), attentionMask });
  }
  const attentionMask = rest.attentionMask && prependColumns(rest.attentionMask, tokens, 1);
  if (keysValues) {
    // HF drops token_type_ids for causal LMs and keeps them for classification.
    const tokenTypeIds = config.taskType === 'CAUSAL_LM' ? undefined : rest.tokenTypeIds;
    return model.forward({ ...rest, attentionMask, tokenTypeIds, pastKeyValues: seedPrefixes(tuner, new KVCache({ scoped: true }), batch) });
  }
  const inputsEmbeds = withPromptEmbeds(tuner, rest, batch, tokens);
  if (config.taskType === 'SEQ_CLS') {
    const tokenTypeIds = rest.tokenTypeIds && prependColumns(rest.tokenTypeIds, tokens, 0);
    return model.forward({ ...rest, inputIds: undefined, inputsEmbeds, attentionMask, tokenTypeIds });
  }
  // CAUSAL_LM (and TOKEN_CLS, whose outputs also gain the virtual positions): labels skip the virtual tokens.
  const labels = rest.labels && prependColumns(rest.labels, tokens, -100);
  const tokenTypeIds = config.taskType === 'TOKEN_CLS' && rest.tokenTypeIds ? prependColumns(rest.tokenTypeIds, tokens, 0) : undefined;
  return model.forward({ ...rest, inputIds: undefined, inputsEmbeds, attentionMask, labels, tokenTypeIds });
}
