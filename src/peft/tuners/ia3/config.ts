// IA3Config: (IA)³'s options, with HF PEFT's field names and defaults. HF's IA3Config has no
// layers_to_transform / layers_pattern and no bias option, so neither is read or written.
import { Fields, extraFields, readBase, writeBase, type Json } from '../../config/base.js';
import { readTargeting } from '../../config/targeting.js';
import type { PeftConfig } from '../../config/peft-config.js';
import { PeftConfigError } from '../../errors.js';

export interface Ia3Config extends PeftConfig {
  peftType: 'IA3';
  /**
   * The targets whose input (not output) is scaled: names matched against the end of the module
   * path (HF's plain endswith), or a regex for the whole path. Must be a subset of target_modules.
   * null: HF's default for the model's architecture, filled when the adapter is added.
   */
  feedforwardModules: string[] | string | null;
  fanInFanOut: boolean;
  /** true: the vectors start at one (the adapter starts as the identity); false: random (for tests). */
  initIa3Weights: boolean;
  modulesToSave: string[] | null;
}

export type Ia3Options = Partial<Omit<Ia3Config, 'peftType' | 'extra'>> & { peftType?: 'IA3' };

const KNOWN = ['target_modules', 'exclude_modules', 'feedforward_modules', 'fan_in_fan_out', 'init_ia3_weights', 'modules_to_save'];

export function parseIa3Config(raw: Json, path = 'adapter_config.json'): Ia3Config {
  const f = new Fields(raw, path);
  const { targetModules, excludeModules } = readTargeting(f);
  const feedforwardModules = readFeedforward(f);
  if (Array.isArray(targetModules) && Array.isArray(feedforwardModules)) {
    const outside = feedforwardModules.filter((m) => !targetModules.includes(m));
    if (outside.length > 0) {
      throw new PeftConfigError(
        `${path}: feedforward_modules ${JSON.stringify(outside)} are not in target_modules ${JSON.stringify(targetModules)}; ` +
          'feedforward_modules must be a subset of target_modules (add them there or remove them here)',
      );
    }
  }
  return {
    ...readBase(f, 'IA3'),
    peftType: 'IA3',
    targetModules,
    excludeModules,
    layersToTransform: null,
    layersPattern: null,
    feedforwardModules,
    fanInFanOut: f.bool('fan_in_fan_out', false),
    initIa3Weights: f.bool('init_ia3_weights', true),
    modulesToSave: raw.modules_to_save === null || raw.modules_to_save === undefined ? null : f.strings('modules_to_save', []),
    extra: extraFields(raw, KNOWN),
  };
}

function readFeedforward(f: Fields): string[] | string | null {
  const value = f.raw.feedforward_modules;
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value : f.strings('feedforward_modules', []);
}

export function writeIa3Config(c: Ia3Config): Record<string, unknown> {
  return {
    ...c.extra,
    ...writeBase(c),
    target_modules: c.targetModules,
    exclude_modules: c.excludeModules,
    feedforward_modules: c.feedforwardModules,
    fan_in_fan_out: c.fanInFanOut,
    init_ia3_weights: c.initIa3Weights,
    modules_to_save: c.modulesToSave,
  };
}

/** HF's rule for whether the target at `path` scales its input. */
export function isFeedforward(config: Ia3Config, path: string): boolean {
  const ff = config.feedforwardModules;
  // TunerModel fills a null one from the architecture's defaults before any target is injected.
  if (ff === null) throw new PeftConfigError(`feedforward_modules is not set for '${path}'; name the targets whose input IA3 scales, or [] for none`);
  if (typeof ff === 'string') return new RegExp(`^(?:${ff})$`).test(path);
  return ff.some((name) => path.endsWith(name));
}
