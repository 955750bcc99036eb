// The options LoHa and LoKr share (HF PEFT's LycorisConfig and the fields both configs declare),
// with HF's names and defaults.
import { numberMap, readBase, writeBase, type Fields } from '../../config/base.js';
import { readTargeting, writeTargeting } from '../../config/targeting.js';
import type { PeftConfig } from '../../config/peft-config.js';

export interface LycorisConfig extends PeftConfig {
  r: number;
  /** scaling = alpha / r. */
  alpha: number;
  /** Training only: the probability of zeroing each output row of ΔW. */
  rankDropout: number;
  /** Training only: the probability of skipping the whole adapter in a forward pass. */
  moduleDropout: number;
  /**
   * HF's option for Conv2d layers with kernels larger than 1×1. peftjs adapts only linear layers,
   * on which HF ignores it too, so any value is accepted and written back unchanged.
   */
  useEffectiveConv2d: boolean;
  modulesToSave: string[] | null;
  /** Per-module r and alpha, keyed by a regex matched against the module path's end. */
  rankPattern: Record<string, number>;
  alphaPattern: Record<string, number>;
}

/** The adapter_config.json keys `readLycoris` reads (the rest of a file is kept in `extra`). */
export const LYCORIS_KEYS = [
  'r', 'alpha', 'rank_dropout', 'module_dropout', 'use_effective_conv2d', 'modules_to_save', 'rank_pattern', 'alpha_pattern',
  'target_modules', 'exclude_modules', 'layers_to_transform', 'layers_pattern',
];

export function readLycoris<T extends string>(f: Fields, peftType: T): Omit<LycorisConfig, 'extra' | 'peftType'> & { peftType: T } {
  const raw = f.raw;
  return {
    ...readBase(f, peftType),
    peftType,
    ...readTargeting(f),
    r: f.int('r', 8, 1),
    alpha: f.number('alpha', 8),
    rankDropout: f.probability('rank_dropout', 0),
    moduleDropout: f.probability('module_dropout', 0),
    useEffectiveConv2d: f.bool('use_effective_conv2d', false),
    modulesToSave: raw.modules_to_save === null || raw.modules_to_save === undefined ? null : f.strings('modules_to_save', []),
    rankPattern: numberMap(f, 'rank_pattern'),
    alphaPattern: numberMap(f, 'alpha_pattern'),
  };
}

export function writeLycoris(c: LycorisConfig): Record<string, unknown> {
  return {
    ...c.extra,
    ...writeBase(c),
    ...writeTargeting(c),
    r: c.r,
    alpha: c.alpha,
    rank_dropout: c.rankDropout,
    module_dropout: c.moduleDropout,
    use_effective_conv2d: c.useEffectiveConv2d,
    modules_to_save: c.modulesToSave,
    rank_pattern: c.rankPattern,
    alpha_pattern: c.alphaPattern,
  };
}
