// AdaLoraConfig: LoRA's options plus AdaLoRA's rank budget schedule, with HF PEFT's field names
// and defaults. It is read through LoRA's parser (AdaLoraConfig extends LoraConfig in HF too), then
// AdaLoRA's own fields are added; rank_pattern means something else here (a kept-triplet mask).
import { Fields, type Json } from '../../config/base.js';
import { PeftConfigError } from '../../errors.js';
import { parseLoraConfig, writeLoraConfig, type LoraConfig } from '../lora/config.js';

/** Per module (`model.layers.0.self_attn.q_proj.lora_E`): which of its init_r triplets are kept. */
export type RankMasks = Record<string, boolean[]>;

export interface AdaLoraConfig extends Omit<LoraConfig, 'peftType' | 'rankPattern' | 'initLoraWeights'> {
  peftType: 'ADALORA';
  /** The average rank per module the budget ends at. */
  targetR: number;
  /** The rank every module starts with (`r` is unused, as in HF). */
  initR: number;
  /** Warm-up steps before any triplet is masked. */
  tinit: number;
  /** Final steps trained with the rank pattern fixed. */
  tfinal: number;
  /** Steps between two budget allocations. */
  deltaT: number;
  /** EMA factor of the sensitivity |w·grad|. */
  beta1: number;
  /** EMA factor of its uncertainty. */
  beta2: number;
  /** Weight of the orthogonality regulariser added to the loss. */
  orthRegWeight: number;
  /** The number of training steps the budget schedule spans. */
  totalStep: number;
  /** Set by the rank allocator (and saved): the triplets kept; null before any allocation. */
  rankPattern: RankMasks | null;
  /** true: E zero and A, B ~ N(0, 0.02) (the adapter starts as the identity); false: all N(0, 1). */
  initLoraWeights: boolean;
}

export type AdaLoraOptions = Partial<Omit<AdaLoraConfig, 'peftType' | 'extra'>> & { peftType?: 'ADALORA' };

const OWN_FIELDS = ['target_r', 'init_r', 'tinit', 'tfinal', 'deltaT', 'delta_t', 'beta1', 'beta2', 'orth_reg_weight', 'total_step'];

export function parseAdaLoraConfig(raw: Json, path = 'adapter_config.json'): AdaLoraConfig {
  if (raw.use_dora === true) throw new PeftConfigError(`${path}: AdaLoRA does not support DoRA; set use_dora to false`);
  const init = raw.init_lora_weights ?? true;
  if (typeof init !== 'boolean') {
    throw new PeftConfigError(`${path}: AdaLoRA's init_lora_weights is true or false, not ${JSON.stringify(init)}`);
  }
  // rank_pattern is checked here: LoRA's parser reads it as ranks per module.
  const { peftType: _lora, rankPattern: _ranks, initLoraWeights: _init, extra, ...lora } = parseLoraConfig({ ...raw, rank_pattern: null }, path);
  const f = new Fields(raw, path);
  const totalStep = raw.total_step ?? null;
  if (typeof totalStep !== 'number' || !Number.isInteger(totalStep) || totalStep <= 0) {
    throw new PeftConfigError(`${path}: AdaLoRA needs total_step, the number of training steps (an integer > 0), not ${JSON.stringify(totalStep)}`);
  }
  const tinit = f.int('tinit', 0, 0);
  const tfinal = f.int('tfinal', 0, 0);
  if (tinit >= totalStep - tfinal) {
    throw new PeftConfigError(
      `${path}: tinit ${tinit} and tfinal ${tfinal} leave no budgeting phase in total_step ${totalStep}; decrease tfinal or tinit, or increase total_step`,
    );
  }
  return {
    ...lora,
    peftType: 'ADALORA',
    initLoraWeights: init,
    targetR: f.int('target_r', 8),
    initR: f.int('init_r', 12),
    tinit,
    tfinal,
    // Options written as `deltaT` reach here as `delta_t` (the camelCase → snake_case rule); HF's key is `deltaT`.
    deltaT: f.int(f.has('deltaT') ? 'deltaT' : 'delta_t', 1),
    beta1: openUnit(f, 'beta1'),
    beta2: openUnit(f, 'beta2'),
    orthRegWeight: f.number('orth_reg_weight', 0.5),
    totalStep,
    rankPattern: rankMasks(f),
    extra: Object.fromEntries(Object.entries(extra).filter(([k]) => !OWN_FIELDS.includes(k))),
  };
}

/** An EMA factor: strictly between 0 and 1 (HF's RankAllocator asserts it). */
function openUnit(f: Fields, name: string): number {
  const v = f.number(name, 0.85);
  if (v <= 0 || v >= 1) f.fail(name, 'a number in (0, 1)', v);
  return v;
}

function rankMasks(f: Fields): RankMasks | null {
  const value = f.raw.rank_pattern;
  if (value === undefined || value === null) return null;
  const isMasks =
    typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((m) => Array.isArray(m) && m.every((b) => typeof b === 'boolean'));
  if (!isMasks) f.fail('rank_pattern', 'an object of true/false lists (AdaLoRA keeps a mask of triplets per module)', value);
  return Object.fromEntries(Object.entries(value as RankMasks).map(([k, m]) => [k, [...m]]));
}

export function writeAdaLoraConfig(c: AdaLoraConfig): Record<string, unknown> {
  const asLora = { ...c, peftType: 'ADALORA', rankPattern: {} } as unknown as LoraConfig;
  return {
    ...writeLoraConfig(asLora),
    target_r: c.targetR,
    init_r: c.initR,
    tinit: c.tinit,
    tfinal: c.tfinal,
    deltaT: c.deltaT,
    beta1: c.beta1,
    beta2: c.beta2,
    orth_reg_weight: c.orthRegWeight,
    total_step: c.totalStep,
    rank_pattern: c.rankPattern,
  };
}
