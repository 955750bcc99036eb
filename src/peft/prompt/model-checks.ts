// What a prompt-learning adapter needs of its model: a word-embedding table, a task it knows how
// to feed, room for the virtual tokens among the model's positions, and, for prefixes, attention
// layers that read keys and values from the KV cache.
import { Embedding } from '../../nn/index.js';
import type { PretrainedModel } from '../../models/index.js';
import { PeftConfigError, TargetModulesError } from '../errors.js';
import type { ResolvedPromptConfig } from './config.js';

/** Tasks with HF's prompt-learning PeftModel classes that peftjs implements. */
const PROMPT_TASKS = ['CAUSAL_LM', 'SEQ_CLS', 'TOKEN_CLS', 'SEQ_2_SEQ_LM'];

/** Families whose every attention layer reads pastKeyValues (decoder-only, BERT-style encoders, T5's decoder). */
const KEY_VALUE_FAMILIES = ['gpt2', 'llama', 'qwen2', 'mistral', 'bert', 'roberta', 't5'];

/** HF's word_embeddings: the model's token table (the first embedding with vocab_size rows). */
export function wordEmbeddings(model: PretrainedModel): Embedding {
  const vocab = (model.config as { vocab_size?: number }).vocab_size;
  for (const [, m] of model.namedModules()) if (m instanceof Embedding && m.numEmbeddings === vocab) return m;
  throw new TargetModulesError(`${model.constructor.name} has no word-embedding table (vocab_size ${vocab}); prompt learning needs a text model`);
}

export function checkPromptFits(config: ResolvedPromptConfig, model: PretrainedModel, injects: 'embeddings' | 'keys-values'): void {
  const modelConfig = model.config as unknown as Record<string, unknown>;
  if (config.taskType === null || !PROMPT_TASKS.includes(config.taskType)) {
    throw new PeftConfigError(`${config.peftType} needs task_type, one of ${PROMPT_TASKS.join(', ')} (it is ${JSON.stringify(config.taskType)}); it decides where the virtual tokens go`);
  }
  if (config.taskType === 'SEQ_2_SEQ_LM' && typeof (model as { encode?: unknown }).encode !== 'function') {
    throw new PeftConfigError(`task_type SEQ_2_SEQ_LM needs an encoder-decoder model; ${model.constructor.name} is not one (use CAUSAL_LM, SEQ_CLS or TOKEN_CLS)`);
  }
  const limit = [modelConfig.n_positions, modelConfig.max_position_embeddings].find((v): v is number => typeof v === 'number');
  if (limit !== undefined && config.numVirtualTokens >= limit) {
    throw new PeftConfigError(
      `num_virtual_tokens ${config.numVirtualTokens} does not fit the model's ${limit} positions (n_positions / max_position_embeddings) with any input; use fewer than ${limit}`,
    );
  }
  const family = String(modelConfig.model_type ?? '');
  if (injects === 'keys-values' && !KEY_VALUE_FAMILIES.includes(family)) {
    throw new TargetModulesError(`${config.peftType} feeds keys and values through the attention cache, which ${model.constructor.name} (${family}) does not read; use prompt tuning or P-tuning`);
  }
  if (injects === 'keys-values' && config.tokenDim % config.numAttentionHeads !== 0) {
    throw new PeftConfigError(`token_dim ${config.tokenDim} is not divisible by num_attention_heads ${config.numAttentionHeads}; leave both unset to take the model's`);
  }
}
