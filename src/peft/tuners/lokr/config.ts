// LoKrConfig: HF PEFT 0.21's LoKr options, names and defaults.
import { Fields, extraFields, type Json } from '../../config/base.js';
import { PeftConfigError } from '../../errors.js';
import { LYCORIS_KEYS, readLycoris, writeLycoris, type LycorisConfig } from '../lycoris/config.js';

/**
 * HF's init_weights: true (w1 zero, so ΔW = 0), false (every factor random: for tests),
 * 'lycoris' (w2, or w2_b, zero instead: LyCORIS's own init, also ΔW = 0).
 */
export type LoKrInit = boolean | 'lycoris';

export interface LoKrConfig extends LycorisConfig {
  peftType: 'LOKR';
  initWeights: LoKrInit;
  /** Factor the left Kronecker factor w1 into w1_a·w1_b too (when r is small enough). */
  decomposeBoth: boolean;
  /** The size one Kronecker factor aims at (-1: near the square root of each dimension). */
  decomposeFactor: number;
  /** Whether rank dropout rescales the kept rows by 1/their share. */
  rankDropoutScale: boolean;
}

export type LoKrOptions = Partial<Omit<LoKrConfig, 'peftType' | 'extra'>> & { peftType?: 'LOKR' };

const KNOWN = [...LYCORIS_KEYS, 'init_weights', 'decompose_both', 'decompose_factor', 'rank_dropout_scale'];

export function parseLoKrConfig(raw: Json, path = 'adapter_config.json'): LoKrConfig {
  const f = new Fields(raw, path);
  const init = raw.init_weights ?? true;
  if (!(typeof init === 'boolean' || init === 'lycoris')) {
    throw new PeftConfigError(`${path}: init_weights ${JSON.stringify(init)} is not supported; use true, false or 'lycoris'`);
  }
  return {
    ...readLycoris(f, 'LOKR'),
    initWeights: init,
    decomposeBoth: f.bool('decompose_both', false),
    decomposeFactor: f.int('decompose_factor', -1, -1),
    rankDropoutScale: f.bool('rank_dropout_scale', false),
    extra: extraFields(raw, KNOWN),
  };
}

export function writeLoKrConfig(c: LoKrConfig): Record<string, unknown> {
  return {
    ...writeLycoris(c),
    init_weights: c.initWeights,
    decompose_both: c.decomposeBoth,
    decompose_factor: c.decomposeFactor,
    rank_dropout_scale: c.rankDropoutScale,
  };
}
