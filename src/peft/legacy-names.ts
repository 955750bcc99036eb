// Adapters saved against an architecture's older module names (ViT's `attention.attention.query`
// before transformers 5 called it `attention.q_proj`): their tensor names and target_modules are
// translated with the architecture's own key mapping, so both generations load.
import { getArchitecture, type PretrainedModel } from '../models/index.js';
import type { Tensor } from '../tensor/index.js';
import type { PeftConfig } from './config/peft-config.js';
import { SAVED_PREFIX } from './state-dict.js';

export function modernizeAdapter(
  model: PretrainedModel,
  config: PeftConfig,
  tensors: Map<string, Tensor>,
): { config: PeftConfig; tensors: Map<string, Tensor> } {
  const entry = model.config.architectures.map(getArchitecture).find((e) => e !== undefined);
  if (entry?.renameKey === undefined) return { config, tensors };
  const rename = entry.renameKey;
  const renamed = new Map([...tensors].map(([k, t]) => [k.startsWith(SAVED_PREFIX) ? SAVED_PREFIX + rename(k.slice(SAVED_PREFIX.length)) : k, t] as const));
  const names = entry.legacyModuleNames ?? {};
  const modern = (list: string[] | string | null) => (Array.isArray(list) ? [...new Set(list.map((n) => names[n] ?? n))] : list);
  return { config: { ...config, targetModules: modern(config.targetModules), excludeModules: modern(config.excludeModules) }, tensors: renamed };
}
