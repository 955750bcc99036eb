// PeftModel: a Hugging Face model with adapters. Its tree is HF PEFT's (base_model.model.<HF
// path>), so parameter names and saved files are exactly HF PEFT's.
import type { Tensor } from '../tensor/index.js';
import { ValueError } from '../tensor/index.js';
import { Module, withoutInit, type ModuleDict } from '../nn/index.js';
import type { GenerateOptions, ModelInputs, ModelOutput, PretrainedModel } from '../models/index.js';
import type { PeftConfig } from './config/peft-config.js';
import { configFromJson, makeConfig, type ConfigInput } from './config/make-config.js';
import { AdapterNameError, PeftConfigError } from './errors.js';
import { adapterFolder, CONFIG_FILE, readAdapterConfig, readAdapterWeights, writeAdapterFolder } from './files.js';
import { sinkFor, sourceFor, type FileSink, type FileSource } from '../io/index.js';
import { withAdapterNames } from './mixed-batch.js';
import { adapterStateDict, loadAdapterStateDict } from './state-dict.js';
import { TunerModel, type MergeOptions } from './tuner-model.js';
import { checkAdapterName } from './adapter-name.js';
import { modernizeAdapter } from './legacy-names.js';
import './tuners/all.js';
import { addWeightedLoraAdapter, type CombinationType, type WeightedAdapterOptions } from './tuners/lora/weighted.js';
import type { MethodTrainingState } from './tuners/registry.js';
import { isPromptLearning, type PromptEncoderModule } from './prompt/method.js';
import { PromptTunerModel } from './prompt/tuner-model.js';
import { promptForward } from './prompt/forward.js';
import { promptGenerate } from './prompt/generation.js';
import { promptSavedTensors, promptStateDict } from './prompt/state-dict.js';

/** Inputs of PeftModel.forward: the model's, plus one adapter name per batch row (null: the base). */
export type PeftInputs = ModelInputs & { adapterNames?: readonly (string | null)[] };

type MaybeGenerating = PretrainedModel & { generate?(inputIds: Tensor, options?: GenerateOptions): Tensor };

/** Heads HF PEFT trains in full for classification tasks (added to modules_to_save). */
const CLASSIFIER_HEADS = ['classifier', 'score'];

export class PeftModel extends Module {
  base_model: TunerModel;
  /**
   * Prompt-learning methods (prompt tuning, prefix tuning, P-tuning): the prompt encoder of each
   * adapter, beside the model (HF's prompt_encoder.<adapter>); absent for layer methods.
   */
  prompt_encoder?: ModuleDict<PromptEncoderModule>;

  constructor(model: PretrainedModel, config: ConfigInput, adapterName = 'default') {
    super();
    const { method, config: parsed } = makeConfig(config);
    if (isPromptLearning(method)) {
      const tuner = new PromptTunerModel(model, method);
      this.base_model = tuner;
      this.prompt_encoder = tuner.encoders;
    } else {
      this.base_model = new TunerModel(model, method);
    }
    this.addConfiguredAdapter(adapterName, parsed);
  }

  /** The prompt-learning tuner, or null for layer methods. */
  private get promptTuner(): PromptTunerModel | null {
    return this.base_model instanceof PromptTunerModel ? this.base_model : null;
  }

  /** The wrapped HF model (with adapter layers in place). */
  get model(): PretrainedModel {
    return this.base_model.model as PretrainedModel;
  }

  get peftConfig(): ReadonlyMap<string, PeftConfig> {
    return this.base_model.configs;
  }

  get activeAdapter(): string {
    return this.base_model.activeAdapter;
  }

  forward({ adapterNames, ...inputs }: PeftInputs): ModelOutput {
    const prompt = this.promptTuner;
    if (prompt !== null) {
      if (adapterNames !== undefined) throw new PeftConfigError(`${prompt.method.peftType} adapters cannot be mixed in one batch; run one adapter per batch`);
      return promptForward(prompt, inputs);
    }
    if (adapterNames === undefined) return this.withExtraLoss(this.model.forward(inputs));
    this.checkRowAdapters(adapterNames, inputs.inputIds ?? inputs.inputsEmbeds);
    return this.withExtraLoss(withAdapterNames(adapterNames, () => this.model.forward(inputs)));
  }

  /** Adds the method's own loss term (TunerMethod.extraLoss) to a loss computed from labels, as HF's tuners do. */
  private withExtraLoss(out: ModelOutput): ModelOutput {
    if (out.loss === undefined) return out;
    const extra = this.base_model.method.extraLoss?.(this.base_model) ?? null;
    return extra === null ? out : { ...out, loss: out.loss.add(extra) };
  }

  /** The model's generate, with the active adapter or (adapterNames) one adapter per row. */
  generate(inputIds: Tensor, options: GenerateOptions & { adapterNames?: readonly (string | null)[] } = {}): Tensor {
    const model = this.model as MaybeGenerating;
    if (typeof model.generate !== 'function') throw new ValueError(`${this.model.constructor.name} cannot generate text`);
    const { adapterNames, ...rest } = options;
    const prompt = this.promptTuner;
    if (prompt !== null && !prompt.promptsDisabled) {
      if (adapterNames !== undefined) throw new PeftConfigError(`${prompt.method.peftType} adapters cannot be mixed in one batch; generate with one adapter at a time`);
      return promptGenerate(prompt, inputIds, rest);
    }
    if (adapterNames === undefined) return model.generate(inputIds, rest);
    this.checkRowAdapters(adapterNames, inputIds);
    return withAdapterNames(adapterNames, () => model.generate!(inputIds, rest));
  }

  private checkRowAdapters(names: readonly (string | null)[], batch: Tensor | undefined): void {
    if (batch !== undefined && names.length !== batch.shape[0]) {
      throw new ValueError(`adapterNames has ${names.length} entries but the batch has ${batch.shape[0]} rows; give one name (or null) per row`);
    }
    for (const name of names) if (name !== null) this.base_model.requireAdapter(name);
  }

  /** Adds a new adapter (not active: call setAdapter to use and train it). */
  addAdapter(name: string, config: ConfigInput): void {
    const { method, config: parsed } = makeConfig(config);
    if (method !== this.base_model.method) {
      throw new PeftConfigError(`this model's adapters are ${this.base_model.method.peftType}; a ${method.peftType} adapter cannot join them (build another PeftModel)`);
    }
    this.addConfiguredAdapter(name, parsed);
  }

  private addConfiguredAdapter(name: string, config: PeftConfig): void {
    checkAdapterName(name);
    if (this.base_model.configs.has(name)) throw new AdapterNameError(`an adapter named '${name}' exists already; delete it first or pick another name`);
    if (config.bias !== undefined && config.bias !== 'none' && this.base_model.configs.size > 0) {
      throw new PeftConfigError(`only one adapter may train biases (bias '${config.bias}'); set bias 'none' for adapter '${name}'`);
    }
    const withHeads = config.taskType === 'SEQ_CLS' || config.taskType === 'TOKEN_CLS' ? withClassifierHeads(config) : config;
    this.base_model.injectAdapter(name, withHeads);
  }

  /**
   * For training loops: call after each optimizer step, before zeroing the gradients, with the
   * 0-based step. Methods that adapt during training act here (AdaLoRA's rank allocation).
   */
  afterOptimizerStep(globalStep: number): void {
    this.base_model.method.afterOptimizerStep?.(this.base_model, globalStep);
  }

  /** The method's state between training steps besides parameters (for checkpoints), or null. */
  trainingState(): MethodTrainingState | null {
    return this.base_model.method.trainingState?.(this.base_model) ?? null;
  }

  /** Puts back what trainingState gave (a checkpoint's). */
  loadTrainingState(state: MethodTrainingState): void {
    const { method } = this.base_model;
    if (method.loadTrainingState === undefined) throw new PeftConfigError(`the checkpoint holds training state of a method that keeps some, but ${method.peftType} keeps none; resume with the same method`);
    method.loadTrainingState(this.base_model, state);
  }

  setAdapter(name: string): void {
    this.base_model.setAdapter(name);
  }

  deleteAdapter(name: string): void {
    this.base_model.deleteAdapter(name);
  }

  /** Runs `fn` with every adapter off (the base model's outputs); async functions are awaited. */
  disableAdapter<T>(fn: () => T): T {
    this.base_model.setAdaptersDisabled(true);
    let result: T;
    try {
      result = fn();
    } catch (error) {
      this.base_model.setAdaptersDisabled(false);
      throw error;
    }
    if (result instanceof Promise) {
      return result.finally(() => this.base_model.setAdaptersDisabled(false)) as T;
    }
    this.base_model.setAdaptersDisabled(false);
    return result;
  }

  /** Trainable and total parameter counts, as HF PEFT's get_nb_trainable_parameters. */
  trainableParameters(): { trainable: number; total: number } {
    const params = this.parameters();
    return {
      trainable: params.filter((p) => p.requiresGrad).reduce((n, p) => n + p.size, 0),
      total: params.reduce((n, p) => n + p.size, 0),
    };
  }

  /** Prints HF PEFT's line: trainable params: 4,096 || all params: 43,168 || trainable%: 9.4886 */
  printTrainableParameters(log: (line: string) => void = console.log): void {
    const { trainable, total } = this.trainableParameters();
    const fmt = (n: number) => n.toLocaleString('en-US');
    log(`trainable params: ${fmt(trainable)} || all params: ${fmt(total)} || trainable%: ${((100 * trainable) / total).toFixed(4)}`);
  }

  mergeAdapter(options: MergeOptions = {}): void {
    this.base_model.mergeAdapter(options);
  }

  unmergeAdapter(): void {
    this.base_model.unmergeAdapter();
  }

  /** Merges the adapter into the base weights and returns the plain HF model. */
  mergeAndUnload(options: MergeOptions = {}): PretrainedModel {
    return this.base_model.unload(true, options) as PretrainedModel;
  }

  /** Removes every adapter without merging and returns the plain HF model. */
  unload(): PretrainedModel {
    return this.base_model.unload(false) as PretrainedModel;
  }

  /**
   * Adds adapter `name` combining `adapters` with `weights` (LoRA; HF PEFT's add_weighted_adapter):
   * 'cat' (ranks stacked, exact), 'linear', 'svd', 'ties', 'dare_linear', 'dare_ties',
   * 'magnitude_prune' and their '_svd' forms. The new adapter is not active: setAdapter(name).
   */
  addWeightedAdapter(
    adapters: readonly string[],
    weights: readonly number[],
    name: string,
    combinationType: CombinationType = 'svd',
    options: WeightedAdapterOptions = {},
  ): void {
    if (this.base_model.method.peftType !== 'LORA') {
      throw new PeftConfigError(`addWeightedAdapter combines LoRA adapters; this model's adapters are ${this.base_model.method.peftType}`);
    }
    checkAdapterName(name);
    addWeightedLoraAdapter(this.base_model, adapters, weights, name, combinationType, options);
  }

  /** The adapter's tensors under their saved names (the live parameters). */
  adapterStateDict(name = this.activeAdapter): Map<string, Tensor> {
    const prompt = this.promptTuner;
    return prompt !== null ? promptStateDict(prompt, name) : adapterStateDict(this.base_model, name);
  }

  /**
   * Writes adapter_config.json + adapter_model.safetensors per adapter ('default' in dir, others in
   * dir/<name>); `dir` is a folder path, or a FileSink (a page saves into a BlobSink).
   */
  async savePretrained(dir: string | FileSink, { selectedAdapters }: { selectedAdapters?: readonly string[] } = {}): Promise<void> {
    const sink = sinkFor(dir);
    const names = selectedAdapters ?? [...this.peftConfig.keys()];
    for (const name of names) {
      const config = this.base_model.requireAdapter(name);
      const json = this.base_model.method.writeConfig({ ...config, inferenceMode: true, autoMapping: config.autoMapping ?? this.autoMapping(config) });
      const live = this.adapterStateDict(name);
      const prompt = this.promptTuner;
      const tensors = prompt !== null ? promptSavedTensors(prompt, name, live) : (this.base_model.method.savedTensors?.(live, config, name) ?? live);
      try {
        await writeAdapterFolder(adapterFolder(sink, name), json, tensors);
      } finally {
        for (const [key, t] of tensors) if (live.get(key) !== t) t.dispose();
      }
    }
  }

  /** What HF PEFT records for adapters without a task type: the base model's class and module. */
  private autoMapping(config: PeftConfig): Record<string, unknown> | null {
    if (config.taskType !== null) return null;
    const modelType = (this.model.config as { model_type?: string }).model_type ?? 'unknown';
    return { base_model_class: this.model.constructor.name, parent_library: `transformers.models.${modelType}.modeling_${modelType}` };
  }

  /**
   * Loads an adapter folder as adapter `adapterName` (frozen unless isTrainable). lowCpuMemUsage
   * (HF PEFT's low_cpu_mem_usage) builds the adapter's parameters without drawing initial values,
   * since the file overwrites every one of them (a file missing any is refused): a server's cold
   * load spends most of its time drawing random numbers otherwise.
   */
  async loadAdapter(dir: string | FileSource, adapterName: string, { isTrainable = false, lowCpuMemUsage = false }: LoadOptions = {}): Promise<void> {
    const { config, tensors, where } = await readAdapter(this.model, dir, isTrainable);
    try {
      initUnless(lowCpuMemUsage, () => this.addAdapter(adapterName, config));
      try {
        loadAdapterStateDict(this.base_model, adapterName, tensors, where, this.adapterStateDict(adapterName));
      } catch (error) {
        this.deleteAdapter(adapterName);
        throw error;
      }
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
  }

  /**
   * Wraps `model` with the adapter saved in `dir` (a folder path, a URL in the browser build, or any
   * FileSource), frozen and in eval mode unless isTrainable.
   */
  static async fromPretrained(
    model: PretrainedModel,
    dir: string | FileSource,
    { adapterName = 'default', isTrainable = false, lowCpuMemUsage = false }: LoadOptions & { adapterName?: string } = {},
  ): Promise<PeftModel> {
    const { config, tensors, where } = await readAdapter(model, dir, isTrainable);
    try {
      const peft = initUnless(lowCpuMemUsage, () => new PeftModel(model, config, adapterName));
      try {
        loadAdapterStateDict(peft.base_model, adapterName, tensors, where, peft.adapterStateDict(adapterName));
      } catch (error) {
        peft.unload();
        throw error;
      }
      if (!isTrainable) peft.eval();
      return peft;
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
  }
}

interface LoadOptions {
  isTrainable?: boolean;
  /** Skip drawing initial values for parameters the file then overwrites (see loadAdapter). */
  lowCpuMemUsage?: boolean;
}

function initUnless<T>(skip: boolean, build: () => T): T {
  return skip ? withoutInit(build) : build();
}

async function readAdapter(
  model: PretrainedModel,
  dir: string | FileSource,
  isTrainable: boolean,
): Promise<{ config: PeftConfig; tensors: Map<string, Tensor>; where: string }> {
  const source = sourceFor(dir);
  const raw = await readAdapterConfig(source);
  const { config } = configFromJson(raw, source.describe(CONFIG_FILE));
  return { ...modernizeAdapter(model, { ...config, inferenceMode: !isTrainable }, await readAdapterWeights(source)), where: source.describe() };
}

function withClassifierHeads(config: PeftConfig): PeftConfig {
  const current = config.modulesToSave ?? [];
  return { ...config, modulesToSave: [...current, ...CLASSIFIER_HEADS.filter((h) => !current.includes(h))] };
}

/** Wraps `model` with a new adapter (HF PEFT's get_peft_model). */
export function getPeftModel(model: PretrainedModel, config: ConfigInput, adapterName = 'default'): PeftModel {
  return new PeftModel(model, config, adapterName);
}
