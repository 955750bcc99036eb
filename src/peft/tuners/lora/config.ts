// LoraConfig: the options of LoRA and its variants (rsLoRA, DoRA, PiSSA init), with HF PEFT's
// field names and defaults.
import { Fields, extraFields, numberMap, readBase, rejectUnsupported, writeBase, type Json } from '../../config/base.js';
import { readTargeting, writeTargeting } from '../../config/targeting.js';
import type { PeftConfig } from '../../config/peft-config.js';
import { PeftConfigError } from '../../errors.js';
import type { LoftqConfig } from './loftq.js';
import { snakeCase } from '../../config/keys.js';

/** HF's init_lora_weights: true (A kaiming, B zero), false (random B too), 'gaussian', 'pissa' / 'pissa_niter_N', 'loftq'. */
export type LoraInit = boolean | 'gaussian' | 'pissa' | `pissa_niter_${number}` | 'loftq';

export interface LoraConfig extends PeftConfig {
  peftType: 'LORA';
  r: number;
  loraAlpha: number;
  loraDropout: number;
  fanInFanOut: boolean;
  /** Which biases train: none, all biases of the model, or those of adapted layers. */
  bias: 'none' | 'all' | 'lora_only';
  /** A trainable bias on lora_B. */
  loraBias: boolean;
  /** scaling = alpha / √r instead of alpha / r. */
  useRslora: boolean;
  useDora: boolean;
  initLoraWeights: LoraInit;
  /** HF's loftq_config: {} unless init_lora_weights is 'loftq'. */
  loftqConfig: LoftqConfig | null;
  /** Module names (suffixes) whose own copies train and are saved in full (classification heads). */
  modulesToSave: string[] | null;
  /** Per-module r and alpha, keyed by a regex matched against the module path's end. */
  rankPattern: Record<string, number>;
  alphaPattern: Record<string, number>;
}

export type LoraOptions = Partial<Omit<LoraConfig, 'peftType' | 'extra'>> & { peftType?: 'LORA' };

const KNOWN = [
  'r', 'lora_alpha', 'lora_dropout', 'fan_in_fan_out', 'bias', 'lora_bias', 'use_rslora', 'use_dora', 'init_lora_weights',
  'modules_to_save', 'rank_pattern', 'alpha_pattern', 'loftq_config', 'target_modules', 'exclude_modules', 'layers_to_transform', 'layers_pattern',
];

/** HF LoraConfig fields peftjs does not implement, at the values that switch them off. */
const NEUTRAL: Record<string, unknown> = {
  use_qalora: false,
  layer_replication: null,
  megatron_config: null,
  trainable_token_indices: null,
  target_parameters: null,
  alora_invocation_tokens: null,
  use_bdlora: null,
};

export function parseLoraConfig(raw: Json, path = 'adapter_config.json'): LoraConfig {
  const f = new Fields(raw, path);
  rejectUnsupported(raw, NEUTRAL, path);
  const r = f.int('r', 8, 1);
  const init = raw.init_lora_weights ?? true;
  if (!(typeof init === 'boolean' || init === 'gaussian' || init === 'pissa' || init === 'loftq' || (typeof init === 'string' && /^pissa_niter_\d+$/.test(init)))) {
    throw new PeftConfigError(`${path}: init_lora_weights ${JSON.stringify(init)} is not supported; use true, false, 'gaussian', 'pissa', 'pissa_niter_N' or 'loftq'`);
  }
  // loftq_config as HF writes it, or as options ({ loftqBits, loftqIter }).
  const loftqRaw = raw.loftq_config;
  const loftq = loftqRaw !== null && typeof loftqRaw === 'object' && !Array.isArray(loftqRaw) && Object.keys(loftqRaw).length > 0
    ? new Fields(Object.fromEntries(Object.entries(loftqRaw).map(([k, v]) => [snakeCase(k), v])) as Json, `${path}: loftq_config`)
    : null;
  if (loftqRaw !== undefined && loftqRaw !== null && loftq === null && (typeof loftqRaw !== 'object' || Array.isArray(loftqRaw))) {
    throw new PeftConfigError(`${path}: loftq_config must be an object like {"loftq_bits": 4, "loftq_iter": 1}`);
  }
  const loftqConfig = loftq === null ? null : { loftqBits: loftq.int('loftq_bits', 4, 1), loftqIter: loftq.int('loftq_iter', 1, 1) };
  if (init === 'loftq' && loftqConfig === null) throw new PeftConfigError(`${path}: loftq_config must be given when init_lora_weights is 'loftq' (e.g. {"loftq_bits": 4, "loftq_iter": 1})`);
  return {
    ...readBase(f, 'LORA'),
    peftType: 'LORA',
    ...readTargeting(f),
    r,
    loraAlpha: f.number('lora_alpha', 8),
    loraDropout: f.probability('lora_dropout', 0),
    fanInFanOut: f.bool('fan_in_fan_out', false),
    bias: f.oneOf('bias', ['none', 'all', 'lora_only'] as const, 'none'),
    loraBias: f.bool('lora_bias', false),
    useRslora: f.bool('use_rslora', false),
    useDora: f.bool('use_dora', false),
    initLoraWeights: init as LoraInit,
    loftqConfig,
    modulesToSave: raw.modules_to_save === null || raw.modules_to_save === undefined ? null : f.strings('modules_to_save', []),
    rankPattern: numberMap(f, 'rank_pattern'),
    alphaPattern: numberMap(f, 'alpha_pattern'),
    extra: extraFields(raw, KNOWN),
  } as LoraConfig;
}


/** Fields HF PEFT 0.21 writes that do not change what peftjs computes, at HF's defaults. */
const WRITTEN_DEFAULTS: Record<string, unknown> = {
  arrow_config: null,
  corda_config: null,
  ensure_weight_tying: false,
  eva_config: null,
  kasa_config: null,
  lora_ga_config: null,
  megatron_core: 'megatron.core',
  monteclora_config: null,
  qalora_group_size: 16,
  velora_config: null,
};

export function writeLoraConfig(c: LoraConfig): Record<string, unknown> {
  return {
    ...WRITTEN_DEFAULTS,
    ...NEUTRAL,
    ...c.extra,
    ...writeBase(c),
    ...writeTargeting(c),
    r: c.r,
    lora_alpha: c.loraAlpha,
    lora_dropout: c.loraDropout,
    fan_in_fan_out: c.fanInFanOut,
    bias: c.bias,
    lora_bias: c.loraBias,
    use_rslora: c.useRslora,
    use_dora: c.useDora,
    init_lora_weights: c.initLoraWeights,
    loftq_config: c.loftqConfig === null ? {} : { loftq_bits: c.loftqConfig.loftqBits, loftq_iter: c.loftqConfig.loftqIter },
    modules_to_save: c.modulesToSave,
    rank_pattern: c.rankPattern,
    alpha_pattern: c.alphaPattern,
  };
}
