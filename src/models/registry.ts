// Which class builds each Hugging Face architecture, and how its checkpoint keys map to our
// module paths. A model file adds its architectures here.
import type { DType } from '../tensor/index.js';
import type { ModelConfig } from '../io/index.js';
import type { Module } from '../nn/index.js';
import type { BaseModelOutput, ModelInputs, ModelOutput } from './outputs.js';

/** What every loadable model is: a module tree with HF's names, its config and a forward. */
export interface PretrainedModel<Output = ModelOutput> extends Module {
  readonly config: ModelConfig;
  forward(inputs: ModelInputs): Output;
  /** Writes the model as transformers' save_pretrained does (config.json + model.safetensors). */
  savePretrained(dir: string): Promise<void>;
}

export type ModelTask = 'causal-lm' | 'seq2seq-lm' | 'sequence-classification' | 'token-classification' | 'image-classification' | 'base';

/** What a model of `task` returns: base models give hidden states, every other task logits. */
export type TaskOutput<T extends ModelTask> = T extends 'base' ? BaseModelOutput : ModelOutput;

/**
 * Parameters a checkpoint may lack, which the loader then initialises as HF's _init_weights does
 * for nn.Linear (weights from normal(0, std), biases zero) and reports: a task head loaded over
 * a checkpoint saved with another head or none, a pooler the checkpoint's class did not have.
 */
export interface FreshParameters {
  /** Our parameter paths (after key mapping), e.g. /^classifier\./. */
  paths: RegExp;
  /** The weights' standard deviation: HF's config.initializer_range. */
  std(config: ModelConfig): number;
}

export interface ArchitectureEntry {
  task: ModelTask;
  build(config: ModelConfig, dtype: DType): PretrainedModel<ModelOutput | BaseModelOutput>;
  /** The attribute holding the base model (`transformer`, `model`, `bert`, ...): checkpoints saved
   * from the base model alone lack it, checkpoints of a task model have it (a base model's entry
   * names it too: it is stripped from task checkpoints' keys). */
  basePrefix: string;
  /** Maps a checkpoint key to our module path (older HF names to current ones), if they differ. */
  renameKey?(key: string): string;
  /** Checkpoint keys that are safe to ignore (buffers older versions saved, other classes' heads). */
  ignoredKeys?: RegExp;
  /** Parameters a checkpoint may lack; every other missing parameter is an error. */
  freshParameters?: FreshParameters;
  /** Older HF module names → current ones (`query` → `q_proj`), for adapters' target_modules. */
  legacyModuleNames?: Readonly<Record<string, string>>;
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
