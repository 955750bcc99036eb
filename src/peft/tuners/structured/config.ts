// StructuredMaskConfig: which blocks of which weights train (HF PEFT has none; peftjs writes
// peft_type STRUCTURED_MASK). Either whole layers (layers_to_transform, every targeted weight of
// those layers) or attention heads (heads_to_transform: {layer: [head, ...]}, the heads' slices of
// the targeted projections: output rows of q/k/v, input columns of the output projection).
import { Fields, extraFields, readBase, writeBase, type Json } from '../../config/base.js';
import { readTargeting, writeTargeting } from '../../config/targeting.js';
import type { PeftConfig } from '../../config/peft-config.js';
import { PeftConfigError } from '../../errors.js';
import { readModulesToSave } from '../ln_tuning/config.js';

export interface StructuredMaskConfig extends PeftConfig {
  peftType: 'STRUCTURED_MASK';
  /** Per layer index, the attention heads whose slices train; null: whole weights (of layers_to_transform). */
  headsToTransform: Record<number, number[]> | null;
  /** Targets whose input (not output) is the heads' concatenation: attention output projections. */
  headInputModules: string[];
}

export type StructuredMaskOptions = Partial<Omit<StructuredMaskConfig, 'peftType' | 'extra'>> & { peftType?: 'STRUCTURED_MASK' };

const KNOWN = ['target_modules', 'exclude_modules', 'layers_to_transform', 'layers_pattern', 'modules_to_save', 'heads_to_transform', 'head_input_modules'];

const DEFAULT_HEAD_INPUT_MODULES = ['o_proj', 'out_proj', 'attn.c_proj', 'attention.output.dense', 'SelfAttention.o', 'EncDecAttention.o'];

function readHeads(f: Fields): Record<number, number[]> | null {
  const value = f.raw.heads_to_transform;
  if (value === undefined || value === null) return null;
  const entries = typeof value === 'object' && !Array.isArray(value) ? Object.entries(value) : null;
  const valid = entries?.every(([layer, heads]) => /^\d+$/.test(layer) && Array.isArray(heads) && heads.length > 0 && heads.every((h) => Number.isInteger(h) && h >= 0));
  if (!valid || entries!.length === 0) {
    return f.fail('heads_to_transform', 'an object of layer index → non-empty list of head indices (e.g. {"0": [1, 3]})', value);
  }
  return Object.fromEntries(entries!.map(([layer, heads]) => [Number(layer), [...new Set(heads as number[])].sort((a, b) => a - b)]));
}

export function parseStructuredMaskConfig(raw: Json, path = 'adapter_config.json'): StructuredMaskConfig {
  const f = new Fields(raw, path);
  const targeting = readTargeting(f);
  const headsToTransform = readHeads(f);
  if (headsToTransform !== null && targeting.layersToTransform !== null) {
    throw new PeftConfigError(`${path}: give either layers_to_transform (whole layers train) or heads_to_transform (heads of layers train), not both; heads_to_transform names its layers itself`);
  }
  return {
    ...readBase(f, 'STRUCTURED_MASK'),
    peftType: 'STRUCTURED_MASK',
    ...targeting,
    modulesToSave: readModulesToSave(f),
    headsToTransform,
    headInputModules: raw.head_input_modules === undefined || raw.head_input_modules === null ? DEFAULT_HEAD_INPUT_MODULES : f.strings('head_input_modules', []),
    extra: extraFields(raw, KNOWN),
  };
}

export function writeStructuredMaskConfig(c: StructuredMaskConfig): Record<string, unknown> {
  return {
    ...c.extra,
    ...writeBase(c),
    ...writeTargeting(c),
    modules_to_save: c.modulesToSave,
    heads_to_transform: c.headsToTransform,
    head_input_modules: c.headInputModules,
  };
}
