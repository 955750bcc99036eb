// Adapters of several methods on one frozen base (concurrent training, as mLoRA/ASPEN): each
// adapter is injected by its own method's tuner into the same model, so layers of different
// methods nest around the one base layer (LoRA inside IA3 inside a Houlsby adapter), and a forward
// routes each batch row through its own adapter only (mixed-batch routing). Prompt methods prepend
// their virtual tokens to their own rows (see forward.ts).
import { Module, Parameter } from '../../nn/index.js';
import { getArchitecture, type ModelInputs, type PretrainedModel } from '../../models/index.js';
import type { Tensor } from '../../tensor/index.js';
import type { PeftConfig } from '../config/peft-config.js';
import { makeConfig, type ConfigInput } from '../config/make-config.js';
import { AdapterNameError, PeftConfigError } from '../errors.js';
import { writeAdapterFolder } from '../files.js';
import { checkAdapterName } from '../adapter-name.js';
import { adapterStateDict } from '../state-dict.js';
import { TunerModel } from '../tuner-model.js';
import type { TunerMethod } from '../tuners/registry.js';
import { isPromptLearning, type PromptEncoderModule } from '../prompt/method.js';
import { PromptTunerModel } from '../prompt/tuner-model.js';
import { promptSavedTensors, promptStateDict } from '../prompt/state-dict.js';
import '../tuners/all.js';

/** Where an adapter lives: its method's tuner (shared by that method's adapters). */
interface Placement {
  method: TunerMethod;
  tuner: TunerModel;
}

export class MultiAdapterModel extends Module {
  private readonly tuners = new Map<string, TunerModel>();
  private readonly placements = new Map<string, Placement>();

  constructor(readonly model: PretrainedModel) {
    super();
    const head = (model as { lm_head?: unknown }).lm_head;
    if (!(head instanceof Module) || typeof (head as { forward?: unknown }).forward !== 'function') {
      throw new PeftConfigError(`${model.constructor.name} has no lm_head; concurrent training is for causal language models (GPT-2, Llama, Qwen2, Mistral)`);
    }
    for (const p of model.parameters()) p.requiresGrad = false;
  }

  /** The output head (lm_head): hidden states → logits. */
  get head(): Module & { forward(hidden: Tensor): Tensor } {
    return (this.model as unknown as { lm_head: Module & { forward(hidden: Tensor): Tensor } }).lm_head;
  }

  /**
   * The base's final hidden states for `inputs`, without the LM head: through the model's base
   * module (GPT-2's transformer, Llama's model) where its architecture names one, else the whole
   * model asked for one position of logits (an LM head over every row's last position, unused).
   */
  hiddenStates(inputs: ModelInputs): Tensor {
    const body = this.body();
    if (body !== undefined) return body.hiddenStates(inputs);
    const hidden = this.model.forward({ ...inputs, logitsToKeep: 1 }).lastHiddenState;
    if (hidden === undefined) throw new PeftConfigError(`${this.model.constructor.name} gives no hidden states; concurrent training needs a causal LM`);
    return hidden;
  }

  /** Whether hiddenStates takes sequences of different lengths packed without padding (ModelInputs.packedSequences). */
  get acceptsPackedSequences(): boolean {
    return this.body()?.acceptsPackedSequences === true;
  }

  /** The model's base module (GPT-2's transformer, Llama's model) when it gives hidden states itself. */
  private body(): { hiddenStates(inputs: ModelInputs): Tensor; acceptsPackedSequences?: boolean } | undefined {
    const prefix = getArchitecture(this.model.constructor.name)?.basePrefix;
    const body = prefix === undefined ? undefined : (this.model as unknown as Record<string, unknown>)[prefix];
    if (body instanceof Module && typeof (body as { hiddenStates?: unknown }).hiddenStates === 'function') {
      return body as unknown as { hiddenStates(inputs: ModelInputs): Tensor; acceptsPackedSequences?: boolean };
    }
    return undefined;
  }

  /** The adapters, in the order they were added. */
  get adapterNames(): string[] {
    return [...this.placements.keys()];
  }

  config(name: string): PeftConfig {
    return this.placement(name).tuner.requireAdapter(name);
  }

  method(name: string): TunerMethod {
    return this.placement(name).method;
  }

  /** The prompt encoder of a prompt-learning adapter, or null for layer methods. */
  promptEncoder(name: string): PromptEncoderModule | null {
    const { tuner } = this.placement(name);
    return tuner instanceof PromptTunerModel ? tuner.encoders.get(name)! : null;
  }

  private placement(name: string): Placement {
    const placement = this.placements.get(name);
    if (placement === undefined) throw new AdapterNameError(`no adapter named '${name}'; the adapters are: ${this.adapterNames.join(', ') || '(none)'}`);
    return placement;
  }

  /**
   * Adds adapter `name` (trainable). Refused, naming the adapter, when it cannot share the frozen
   * base with others: it would train base weights (bias, modules_to_save, PiSSA/OLoRA init), it
   * keeps training state of its own (AdaLoRA), or it is not a causal LM adapter.
   */
  addAdapter(name: string, input: ConfigInput): void {
    const { method, config } = this.checkAdapter(name, input);
    const tuner = this.tunerFor(method);
    tuner.injectAdapter(name, config);
    this.placements.set(name, { method, tuner });
    this.markTrainable();
  }

  /** Throws what addAdapter would refuse `name` and `input` for, changing nothing; returns the parsed config. */
  checkAdapter(name: string, input: ConfigInput): { method: TunerMethod; config: PeftConfig } {
    checkAdapterName(name);
    if (this.placements.has(name)) throw new AdapterNameError(`an adapter named '${name}' exists already; pick another name`);
    const { method, config: parsed } = makeConfig(input);
    const config: PeftConfig = { ...parsed, taskType: parsed.taskType ?? 'CAUSAL_LM', inferenceMode: false };
    checkShareable(name, method, config);
    return { method, config };
  }

  private tunerFor(method: TunerMethod): TunerModel {
    let tuner = this.tuners.get(method.peftType);
    if (tuner === undefined) {
      tuner = isPromptLearning(method) ? new PromptTunerModel(this.model, method) : new TunerModel(this.model, method);
      this.tuners.set(method.peftType, tuner);
    }
    return tuner;
  }

  /** Every adapter's parameters train, nothing else (a tuner's own rule trains only its active adapter). */
  private markTrainable(): void {
    for (const p of this.model.parameters()) p.requiresGrad = false;
    for (const name of this.placements.keys()) for (const [, p] of this.adapterParameters(name)) p.requiresGrad = true;
  }

  /** The adapter's parameters by path (a prompt encoder's under prompt_encoder.<name>). */
  adapterParameters(name: string): [string, Parameter][] {
    const { tuner } = this.placement(name);
    if (tuner instanceof PromptTunerModel) return tuner.encoders.get(name)!.namedParameters(`prompt_encoder.${name}`);
    return [...this.liveTensors(name)].filter((e): e is [string, Parameter] => e[1] instanceof Parameter);
  }

  /**
   * The adapter's live tensors under the names HF PEFT saves them with. Layers of other methods
   * around this adapter's layer put `base_layer.` segments into its paths; the adapter alone
   * would have none there (bias training, the only case with its own, is refused), so they go.
   */
  private liveTensors(name: string): Map<string, Tensor> {
    const { tuner } = this.placement(name);
    if (tuner instanceof PromptTunerModel) return promptStateDict(tuner, name);
    return new Map([...adapterStateDict(tuner, name)].map(([key, t]) => [key.split('.').filter((part) => part !== 'base_layer').join('.'), t]));
  }

  /** The adapter's tensors as savePretrained would write them (live ones; see liveTensors). */
  adapterStateDict(name: string): Map<string, Tensor> {
    return this.liveTensors(name);
  }

  /** Writes adapter `name` as HF PEFT does (adapter_config.json + adapter_model.safetensors) into `dir` itself. */
  async saveAdapter(name: string, dir: string): Promise<void> {
    const { method, tuner } = this.placement(name);
    const config = tuner.requireAdapter(name);
    const live = this.liveTensors(name);
    const tensors = tuner instanceof PromptTunerModel ? promptSavedTensors(tuner, name, live) : live;
    try {
      await writeAdapterFolder(dir, method.writeConfig({ ...config, inferenceMode: true }), tensors);
    } finally {
      for (const [key, t] of tensors) if (live.get(key) !== t) t.dispose();
    }
  }
}

/** The reasons an adapter cannot join others on one frozen base, or nothing. */
function checkShareable(name: string, method: TunerMethod, config: PeftConfig): void {
  const refuse = (why: string) => {
    throw new PeftConfigError(`adapter '${name}' (${method.peftType}) cannot train beside others on one base: ${why}`);
  };
  if (config.taskType !== 'CAUSAL_LM') refuse(`its task_type is ${config.taskType}; concurrent training is for causal language models (CAUSAL_LM)`);
  if (config.bias !== undefined && config.bias !== 'none') refuse(`bias '${config.bias}' trains the shared base's biases; set bias 'none'`);
  if (config.modulesToSave !== null && config.modulesToSave.length > 0) refuse('modules_to_save trains copies of base modules; leave it empty');
  if (method.extraLoss !== undefined || method.afterOptimizerStep !== undefined || method.trainingState !== undefined) {
    refuse('the method keeps training state of its own between steps; train it alone');
  }
  if (isPromptLearning(method) && method.promptLearning.injects !== 'embeddings') {
    refuse('its virtual tokens enter every attention layer as keys and values, which rows of one batch cannot have apart yet; train it alone');
  }
  const init = (config as { initLoraWeights?: unknown }).initLoraWeights;
  if (typeof init === 'string' && /^(pissa|olora|corda|eva|loftq)/.test(init)) refuse(`init_lora_weights '${init}' rewrites the base weights; use the default init`);
}
