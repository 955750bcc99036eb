// Prompt-learning methods (prompt tuning, prefix tuning, P-tuning) are not layer wrappers: they
// add a prompt encoder beside the model and change its inputs (virtual token embeddings
// prepended) or its attention (keys/values of virtual tokens in every layer). They register in
// the same registry as TunerMethods (so configs parse, write and load the same way) and say
// which kind they are with `promptLearning`.
import type { Module } from '../../nn/index.js';
import type { Tensor } from '../../tensor/index.js';
import type { PretrainedModel } from '../../models/index.js';
import { TargetModulesError } from '../errors.js';
import type { TunerMethod } from '../tuners/registry.js';
import type { PromptLearningConfig, ResolvedPromptConfig } from './config.js';

/** A prompt encoder: makes the virtual tokens' values (HF's PromptEmbedding, PrefixEncoder, PromptEncoder). */
export interface PromptEncoderModule extends Module {
  /** The trainable table every method has (HF's `embedding`); `prompt_embeddings` loads into it. */
  readonly embedding: { weight: Tensor };
  /**
   * The virtual tokens' values [tokens, width] (width: token_dim for embeddings, num_layers·2·token_dim
   * for prefixes): the encoder's output, or the table itself for an adapter loaded for inference.
   */
  prompts(): Tensor;
}

export interface PromptLearningHooks<C extends PromptLearningConfig> {
  /** 'embeddings': prepended to the input embeddings; 'keys-values': keys and values in every attention layer. */
  readonly injects: 'embeddings' | 'keys-values';
  /** Completes the config's sizes for `model` (HF's _prepare_prompt_learning_config and the method's own rules). */
  resolve(config: C, model: PretrainedModel): ResolvedPromptConfig<C>;
  /** The encoder of a new adapter; `wordEmbeddings` is the model's token table [vocab, token_dim]. */
  createEncoder(config: ResolvedPromptConfig<C>, wordEmbeddings: Tensor): PromptEncoderModule;
}

export interface PromptLearningMethod<C extends PromptLearningConfig = PromptLearningConfig> extends TunerMethod<C> {
  readonly promptLearning: PromptLearningHooks<C>;
}

export function isPromptLearning(method: TunerMethod): method is PromptLearningMethod {
  return 'promptLearning' in method && method.promptLearning !== undefined;
}

/** TunerMethod.inject for prompt-learning methods: they wrap no module, so the core never calls it. */
export function noInjection(_target: Module, path: string): never {
  throw new TargetModulesError(`prompt-learning methods wrap no module (asked to wrap '${path}'); they add a prompt encoder instead`);
}
