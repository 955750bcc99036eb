// Hugging Face architectures with HF's module names, loading, and generation.
import './gpt2.js';
import './llama.js';
import './t5.js';
import './bert.js';
import './vit.js';

export { KVCache } from './cache.js';
export type { ModelInputs, ModelOutput, BaseModelOutput } from './outputs.js';
export { generate, type GenerateOptions } from './generation.js';
export {
  registerArchitecture, getArchitecture, architectureNames, type PretrainedModel, type ModelTask, type TaskOutput, type ArchitectureEntry, type FreshParameters,
} from './registry.js';
export { loadPretrained, type FromPretrainedOptions, type LoadedModel, type Logger } from './pretrained.js';
export {
  AutoModel, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoModelForSequenceClassification,
  AutoModelForTokenClassification, AutoModelForImageClassification,
} from './auto.js';
export { GPT2LMHeadModel, GPT2Model, GPT2Block, GPT2Attention, GPT2MLP } from './gpt2.js';
export { LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM, LlamaModel, LlamaDecoderLayer, LlamaAttention, LlamaMLP, type LlamaFamilyConfig } from './llama.js';
export {
  T5ForConditionalGeneration, T5Model, T5Stack, T5Block, T5Attention, T5LayerSelfAttention, T5LayerCrossAttention, T5LayerFF,
  T5DenseActDense, T5DenseGatedActDense, relativePositionBucket, shiftRight, type T5StackInputs,
} from './t5.js';
export { EncoderDecoderCache, generateSeq2Seq, type Seq2SeqStepModel, type DecodeInputs } from './t5-generation.js';
export {
  BertModel, RobertaModel, BertForSequenceClassification, BertForTokenClassification, RobertaForSequenceClassification,
  RobertaForTokenClassification, RobertaClassificationHead, BertEmbeddings, RobertaEmbeddings, BertEncoder, BertLayer,
  BertAttention, BertSelfAttention, BertSelfOutput, BertIntermediate, BertOutput, BertPooler,
  type BertModelOptions,
} from './bert.js';
export {
  ViTModel, ViTForImageClassification, ViTEmbeddings, ViTPatchEmbeddings, ViTLayer, ViTAttention, ViTMLP, ViTPooler,
  renameViTKey,
} from './vit.js';
export { sequenceClassificationLoss, tokenClassificationLoss, problemTypeOf, type ClassificationConfig } from './classification.js';
