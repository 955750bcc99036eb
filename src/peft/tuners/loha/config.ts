// LoHaConfig: HF PEFT 0.21's LoHa options, names and defaults.
import { Fields, extraFields, type Json } from '../../config/base.js';
import { LYCORIS_KEYS, readLycoris, writeLycoris, type LycorisConfig } from '../lycoris/config.js';

export interface LoHaConfig extends LycorisConfig {
  peftType: 'LOHA';
  /** true: w2_b starts at zero, so ΔW = 0 (HF's default); false: every factor random (for tests). */
  initWeights: boolean;
}

export type LoHaOptions = Partial<Omit<LoHaConfig, 'peftType' | 'extra'>> & { peftType?: 'LOHA' };

const KNOWN = [...LYCORIS_KEYS, 'init_weights'];

export function parseLoHaConfig(raw: Json, path = 'adapter_config.json'): LoHaConfig {
  const f = new Fields(raw, path);
  return {
    ...readLycoris(f, 'LOHA'),
    initWeights: f.bool('init_weights', true),
    extra: extraFields(raw, KNOWN),
  };
}

export function writeLoHaConfig(c: LoHaConfig): Record<string, unknown> {
  return { ...writeLycoris(c), init_weights: c.initWeights };
}
