// The Auto classes: pick the model class from config.json, as transformers' Auto* do.
import type { ModelTask, PretrainedModel } from './registry.js';
import { loadPretrained, type FromPretrainedOptions } from './pretrained.js';

function autoClass(task: ModelTask | undefined) {
  return {
    /** Loads a Hugging Face model folder (config.json + safetensors weights). */
    fromPretrained(dir: string, options: FromPretrainedOptions = {}): Promise<PretrainedModel> {
      return loadPretrained(dir, task, options);
    },
  };
}

export const AutoModelForCausalLM = autoClass('causal-lm');
export const AutoModelForSeq2SeqLM = autoClass('seq2seq-lm');
export const AutoModelForSequenceClassification = autoClass('sequence-classification');
export const AutoModelForTokenClassification = autoClass('token-classification');
export const AutoModelForImageClassification = autoClass('image-classification');
/** Whatever architecture config.json names. */
export const AutoModel = autoClass(undefined);
