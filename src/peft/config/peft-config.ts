// What the PEFT core needs of every method's config.
import type { BaseConfig } from './base.js';
import type { Targeting } from './targeting.js';

export interface PeftConfig extends BaseConfig, Targeting {
  /** Module names whose trainable copies are saved in full (classification heads). */
  modulesToSave: string[] | null;
  /** Which biases train ('none' for methods without the option); `<method>_only`: those of adapted layers. */
  bias?: 'none' | 'all' | `${string}_only`;
}
