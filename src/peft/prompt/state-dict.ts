// A prompt-learning adapter's saved tensors, as HF PEFT saves them: `prompt_embeddings` (the
// encoder's output for every virtual token while training, its table for an inference adapter)
// and each classification head's copy under base_model.<path> (the model is base_model here).
import { noGrad, type Tensor } from '../../tensor/index.js';
import type { PromptTunerModel } from './tuner-model.js';

export const PROMPT_EMBEDDINGS = 'prompt_embeddings';

/** The live tensors by saved name: files load into these (prompt_embeddings into the encoder's table, as in HF). */
export function promptStateDict(tuner: PromptTunerModel, name: string): Map<string, Tensor> {
  tuner.requireAdapter(name);
  const out = new Map<string, Tensor>([[PROMPT_EMBEDDINGS, tuner.encoders.get(name)!.embedding.weight]]);
  const copyPart = `modules_to_save.${name}.`;
  for (const [path, p] of tuner.model.namedParameters()) {
    if (path.includes(copyPart)) out.set(`base_model.${path.replace(copyPart, '')}`, p);
  }
  return out;
}

/** What savePretrained writes: the live tensors, with prompt_embeddings computed by a reparameterising encoder. */
export function promptSavedTensors(tuner: PromptTunerModel, name: string, live: Map<string, Tensor>): Map<string, Tensor> {
  const encoder = tuner.encoders.get(name)!;
  const prompts = noGrad(() => encoder.prompts());
  if (prompts === encoder.embedding.weight) return live;
  return new Map([...live, [PROMPT_EMBEDDINGS, prompts.contiguous()]]);
}
