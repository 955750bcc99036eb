// The base model of a prompt-learning PeftModel. In HF PEFT the model itself is `base_model`
// (paths read base_model.<HF path>, e.g. base_model.classifier.modules_to_save.default.weight),
// and the prompt encoders sit beside it (prompt_encoder.<adapter>). This TunerModel therefore
// shows the model's children as its own, keeps one encoder per adapter, wraps the
// classification heads (modules_to_save), and injects no layer.
import { Module, ModuleDict } from '../../nn/index.js';
import type { PretrainedModel } from '../../models/index.js';
import { TunerModel, type MergeOptions } from '../tuner-model.js';
import { PeftConfigError } from '../errors.js';
import type { PeftConfig } from '../config/peft-config.js';
import type { PromptLearningConfig, ResolvedPromptConfig } from './config.js';
import type { PromptEncoderModule, PromptLearningMethod } from './method.js';
import { checkPromptFits, wordEmbeddings } from './model-checks.js';

export class PromptTunerModel extends TunerModel {
  /** One prompt encoder per adapter (PeftModel shows it as prompt_encoder). */
  readonly encoders = new ModuleDict<PromptEncoderModule>();
  /** Set inside disableAdapter: the base model's own outputs. */
  promptsDisabled = false;

  constructor(
    model: PretrainedModel,
    readonly promptMethod: PromptLearningMethod,
  ) {
    super(model, promptMethod);
  }

  get pretrained(): PretrainedModel {
    return this.model as PretrainedModel;
  }

  /** HF's base_model is the model: its children are this module's. */
  override *namedChildren(): Generator<[string, Module]> {
    yield* this.model.namedChildren();
  }

  /** The active adapter's config with the model's sizes filled in. */
  activeConfig(): ResolvedPromptConfig {
    return this.requireAdapter(this.activeAdapter) as ResolvedPromptConfig;
  }

  activeEncoder(): PromptEncoderModule {
    return this.encoders.get(this.activeAdapter)!;
  }

  /** Adds adapter `name`: its encoder and its heads' copies. On any error nothing is changed. */
  override injectAdapter(name: string, config: PeftConfig): void {
    const hooks = this.promptMethod.promptLearning;
    const resolved = hooks.resolve(config as PromptLearningConfig, this.pretrained);
    checkPromptFits(resolved, this.pretrained, hooks.injects);
    const encoder = hooks.createEncoder(resolved, wordEmbeddings(this.pretrained).weight);
    try {
      this.wrapModulesToSave(name, resolved);
    } catch (error) {
      this.removeHeadCopies(name);
      for (const p of encoder.parameters()) p.dispose();
      throw error;
    }
    this.encoders.set(name, encoder);
    this.configs.set(name, resolved);
    if (this.activeAdapter === '') this.activeAdapter = name;
    this.setAdapter(this.activeAdapter);
  }

  private removeHeadCopies(name: string): void {
    for (const [path, wrapper] of this.modulesToSaveWrappers()) {
      wrapper.deleteAdapter(name);
      if (wrapper.modules_to_save.keys().length === 0) this.model.setSubmodule(path, wrapper.original_module);
    }
  }

  /** HF's rule plus the encoders: only the active adapter's encoder trains (none in inference mode). */
  override markTrainable(): void {
    super.markTrainable();
    const config = this.configs.get(this.activeAdapter);
    for (const name of this.encoders.keys()) {
      this.encoders.get(name)!.requiresGrad_(name === this.activeAdapter && config !== undefined && !config.inferenceMode);
    }
  }

  override deleteAdapter(name: string): void {
    this.requireAdapter(name);
    const encoder = this.encoders.get(name)!;
    this.encoders.delete(name);
    for (const p of encoder.parameters()) p.dispose();
    super.deleteAdapter(name);
  }

  override setAdaptersDisabled(disabled: boolean): void {
    super.setAdaptersDisabled(disabled);
    this.promptsDisabled = disabled;
  }

  override mergeAdapter(_options: MergeOptions = {}): void {
    throw new PeftConfigError(`${this.method.peftType} adapters change the inputs, not the weights, so they cannot be merged; use unload() for the plain model`);
  }

  override unload(merge: boolean, options: MergeOptions = {}): Module {
    if (merge) this.mergeAdapter(options);
    for (const name of this.encoders.keys()) {
      for (const p of this.encoders.get(name)!.parameters()) p.dispose();
      this.encoders.delete(name);
    }
    return super.unload(false);
  }
}

