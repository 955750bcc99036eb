// Which class builds each Hugging Face architecture, and how its checkpoint keys map to our
// module paths. A model file adds its architectures here.
import type { DType } from '../tensor/index.js';
import type { ModelConfig } from '../io/index.js';
import type { Module } from '../nn/index.js';
import type { ModelInputs, ModelOutput } from './outputs.js';

/** What every loadable model is: a module tree with HF's names, its config and a forward. */
export interface PretrainedModel extends Module {
  readonly config: ModelConfig;
  forward(inputs: ModelInputs): ModelOutput;
}

export type ModelTask = 'causal-lm' | 'seq2seq-lm' | 'sequence-classification' | 'token-classification' | 'image-classification' | 'base';

export interface ArchitectureEntry {
  task: ModelTask;
  build(config: ModelConfig, dtype: DType): PretrainedModel;
  /** The attribute holding the base model (`transformer`, `model`, `bert`, ...): checkpoints saved
   * from the base model alone lack it, checkpoints of a task model have it. */
  basePrefix: string;
  /** Maps a checkpoint key to our module path (older HF names to current ones), if they differ. */
  renameKey?(key: string): string;
  /** Checkpoint keys that are safe to ignore (buffers older versions saved). */
  ignoredKeys?: RegExp;
}

const architectures = new Map<string, ArchitectureEntry>();

export function registerArchitecture(name: string, entry: ArchitectureEntry): void {
  architectures.set(name, entry);
}

export function getArchitecture(name: string): ArchitectureEntry | undefined {
  return architectures.get(name);
}

export function architectureNames(task?: ModelTask): string[] {
  return [...architectures].filter(([, e]) => task === undefined || e.task === task).map(([n]) => n);
}
