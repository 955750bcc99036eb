// The Auto classes: pick the model class for a task from config.json, as transformers' Auto* do.
import type { ModelTask, PretrainedModel, TaskOutput } from './registry.js';
import { loadPretrained, type FromPretrainedOptions } from './pretrained.js';
import type { FileSource } from '../io/index.js';

function autoClass<T extends ModelTask>(task: T) {
  return {
    /**
     * Loads a Hugging Face model folder (config.json + safetensors weights) into the `task` class
     * of its family; a head the checkpoint lacks is initialised anew and reported to options.logger.
     */
    async fromPretrained(dir: string | FileSource, options: FromPretrainedOptions = {}): Promise<PretrainedModel<TaskOutput<T>>> {
      return (await loadPretrained(dir, task, options)).model;
    },
  };
}

export const AutoModelForCausalLM = autoClass('causal-lm');
export const AutoModelForSeq2SeqLM = autoClass('seq2seq-lm');
export const AutoModelForSequenceClassification = autoClass('sequence-classification');
export const AutoModelForTokenClassification = autoClass('token-classification');
export const AutoModelForImageClassification = autoClass('image-classification');
/** The base model of the checkpoint's family (BertModel, RobertaModel, ViTModel): hidden states, no head. */
export const AutoModel = autoClass('base');
