// DiffPruningConfig: diff pruning's options (Guo et al. 2021; HF PEFT has no diff pruning, so
// peftjs writes peft_type DIFF_PRUNING). The hard-concrete gate's stretch (l, r) and temperature
// follow the paper; the budget is a penalty weight on the expected density and a target density
// that finalize projects to.
import { Fields, extraFields, readBase, writeBase, type Json } from '../../config/base.js';
import { readTargeting, writeTargeting } from '../../config/targeting.js';
import type { PeftConfig } from '../../config/peft-config.js';
import { PeftConfigError } from '../../errors.js';
import { readModulesToSave } from '../ln_tuning/config.js';

export interface DiffPruningConfig extends PeftConfig {
  peftType: 'DIFF_PRUNING';
  /** λ: the weight of the expected L0 density (the fraction of open gates) added to the loss. */
  l0Penalty: number;
  /** The fraction of the targeted weights' entries that may differ from the base after finalize. */
  targetDensity: number;
  /** The hard-concrete gate's stretch interval (l < 0 < 1 < r) and temperature β. */
  gateLeft: number;
  gateRight: number;
  gateTemperature: number;
  /** The gates' starting log α (positive: mostly open). */
  initLogAlpha: number;
  /** True once finalize projected the difference to the budget: the gates are gone, the zeros stay zero. */
  finalized: boolean;
}

export type DiffPruningOptions = Partial<Omit<DiffPruningConfig, 'peftType' | 'extra'>> & { peftType?: 'DIFF_PRUNING' };

const KNOWN = [
  'target_modules', 'exclude_modules', 'layers_to_transform', 'layers_pattern', 'modules_to_save', 'l0_penalty', 'target_density',
  'gate_left', 'gate_right', 'gate_temperature', 'init_log_alpha', 'finalized',
];

export function parseDiffPruningConfig(raw: Json, path = 'adapter_config.json'): DiffPruningConfig {
  const f = new Fields(raw, path);
  const targetDensity = f.number('target_density', 0.005, 0);
  if (targetDensity <= 0 || targetDensity > 1) {
    throw new PeftConfigError(`${path}: target_density ${targetDensity} must be in (0, 1]; it is the fraction of weights that may change (the paper uses 0.005)`);
  }
  const gateLeft = f.number('gate_left', -1.5);
  const gateRight = f.number('gate_right', 1.5);
  if (!(gateLeft < 0 && gateRight > 1)) {
    throw new PeftConfigError(`${path}: the gate's stretch (gate_left ${gateLeft}, gate_right ${gateRight}) must satisfy gate_left < 0 < 1 < gate_right so gates can be exactly 0 and 1 (the paper uses -1.5 and 1.5)`);
  }
  return {
    ...readBase(f, 'DIFF_PRUNING'),
    peftType: 'DIFF_PRUNING',
    ...readTargeting(f),
    modulesToSave: readModulesToSave(f),
    l0Penalty: f.number('l0_penalty', 1, 0),
    targetDensity,
    gateLeft,
    gateRight,
    gateTemperature: f.number('gate_temperature', 1, Number.MIN_VALUE),
    initLogAlpha: f.number('init_log_alpha', 5),
    finalized: f.bool('finalized', false),
    extra: extraFields(raw, KNOWN),
  };
}

export function writeDiffPruningConfig(c: DiffPruningConfig): Record<string, unknown> {
  return {
    ...c.extra,
    ...writeBase(c),
    ...writeTargeting(c),
    modules_to_save: c.modulesToSave,
    l0_penalty: c.l0Penalty,
    target_density: c.targetDensity,
    gate_left: c.gateLeft,
    gate_right: c.gateRight,
    gate_temperature: c.gateTemperature,
    init_log_alpha: c.initLogAlpha,
    finalized: c.finalized,
  };
}
