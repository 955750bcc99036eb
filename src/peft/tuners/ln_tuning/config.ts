// LNTuningConfig: LayerNorm tuning's options, with HF PEFT's field names. HF's LNTuningConfig has
// only target_modules, exclude_modules and modules_to_save beside the common fields.
import { Fields, extraFields, readBase, writeBase, type Json } from '../../config/base.js';
import { readTargeting } from '../../config/targeting.js';
import type { PeftConfig } from '../../config/peft-config.js';

export interface LnTuningConfig extends PeftConfig {
  peftType: 'LN_TUNING';
}

export type LnTuningOptions = Partial<Omit<LnTuningConfig, 'peftType' | 'extra'>> & { peftType?: 'LN_TUNING' };

const KNOWN = ['target_modules', 'exclude_modules', 'modules_to_save'];

/** modules_to_save as HF writes it: null or a list of module names. */
export function readModulesToSave(f: Fields): string[] | null {
  const value = f.raw.modules_to_save;
  return value === null || value === undefined ? null : f.strings('modules_to_save', []);
}

export function parseLnTuningConfig(raw: Json, path = 'adapter_config.json'): LnTuningConfig {
  const f = new Fields(raw, path);
  const { targetModules, excludeModules } = readTargeting(f);
  return {
    ...readBase(f, 'LN_TUNING'),
    peftType: 'LN_TUNING',
    targetModules,
    excludeModules,
    layersToTransform: null,
    layersPattern: null,
    modulesToSave: readModulesToSave(f),
    extra: extraFields(raw, KNOWN),
  };
}

export function writeLnTuningConfig(c: LnTuningConfig): Record<string, unknown> {
  return {
    ...c.extra,
    ...writeBase(c),
    target_modules: c.targetModules,
    exclude_modules: c.excludeModules,
    modules_to_save: c.modulesToSave,
  };
}
