// The one AdaLoRA adapter that trains (HF's trainable_adapter_name): the active adapter, unless it
// was loaded for inference.
import type { TunerModel } from '../../tuner-model.js';
import { PeftConfigError } from '../../errors.js';
import type { AdaLoraConfig } from './config.js';
import { AdaLoraLinear } from './layer.js';

export interface TrainableAdapter {
  name: string;
  config: AdaLoraConfig;
  /** The AdaLoRA layers holding it, with their paths inside the HF model. */
  layers: [string, AdaLoraLinear][];
}

/** The trainable AdaLoRA adapter, or null when the active adapter is not one or is frozen. */
export function trainableAdapter(tuner: TunerModel): TrainableAdapter | null {
  const name = tuner.activeAdapter;
  const config = tuner.configs.get(name);
  if (config === undefined || config.peftType !== 'ADALORA' || config.inferenceMode) return null;
  const layers = tuner.tunerLayers().filter((e): e is [string, AdaLoraLinear] => e[1] instanceof AdaLoraLinear && e[1].hasAdapter(name));
  return { name, config: config as AdaLoraConfig, layers };
}

export function requireTrainableAdapter(tuner: TunerModel, what: string): TrainableAdapter {
  const adapter = trainableAdapter(tuner);
  if (adapter === null) {
    throw new PeftConfigError(
      `${what} needs a trainable AdaLoRA adapter, but the active adapter '${tuner.activeAdapter}' is not one (or was loaded for inference: load it with isTrainable: true)`,
    );
  }
  return adapter;
}

/** The rank_pattern key of a module: `<module path>.lora_E` (HF's, with the adapter name removed as HF saves it). */
export function patternKey(path: string): string {
  return `${path}.lora_E`;
}
