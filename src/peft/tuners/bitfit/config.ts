// BitfitConfig: BitFit's options (HF PEFT has no BitFit; peftjs writes peft_type BITFIT). Which
// biases train: those of every Linear, Conv1D and LayerNorm (target_modules null), or of the
// modules target_modules names, less exclude_modules and outside layers_to_transform.
import { Fields, extraFields, readBase, writeBase, type Json } from '../../config/base.js';
import { readTargeting, writeTargeting } from '../../config/targeting.js';
import type { PeftConfig } from '../../config/peft-config.js';
import { readModulesToSave } from '../ln_tuning/config.js';

export interface BitfitConfig extends PeftConfig {
  peftType: 'BITFIT';
}

export type BitfitOptions = Partial<Omit<BitfitConfig, 'peftType' | 'extra'>> & { peftType?: 'BITFIT' };

const KNOWN = ['target_modules', 'exclude_modules', 'layers_to_transform', 'layers_pattern', 'modules_to_save'];

export function parseBitfitConfig(raw: Json, path = 'adapter_config.json'): BitfitConfig {
  const f = new Fields(raw, path);
  return {
    ...readBase(f, 'BITFIT'),
    peftType: 'BITFIT',
    ...readTargeting(f),
    modulesToSave: readModulesToSave(f),
    extra: extraFields(raw, KNOWN),
  };
}

export function writeBitfitConfig(c: BitfitConfig): Record<string, unknown> {
  return { ...c.extra, ...writeBase(c), ...writeTargeting(c), modules_to_save: c.modulesToSave };
}
