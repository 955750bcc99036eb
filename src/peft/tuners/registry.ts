// Adapter methods are plug-ins: each folder under tuners/ registers one TunerMethod here, and the
// PEFT core (injection, trainability, saving, loading, merging) works through this interface.
import type { Module } from '../../nn/index.js';
import type { Tensor } from '../../tensor/index.js';
import type { TunerModel } from '../tuner-model.js';
import type { Json } from '../config/base.js';
import type { PeftConfig } from '../config/peft-config.js';
import { PeftConfigError } from '../errors.js';

export interface TunerMethod<C extends PeftConfig = PeftConfig> {
  /** adapter_config.json's peft_type ('LORA', 'IA3', ...). */
  readonly peftType: string;
  /** Every parameter of the method has this in its name ('lora_', 'ia3_', ...), as in HF PEFT. */
  readonly prefix: string;
  /**
   * Hybrids of several methods: every name fragment their parameters' containers have ('lora_',
   * 'bottleneck_', ...), each read as `prefix` is. Default: [prefix].
   */
  readonly partPrefixes?: readonly string[];
  /** adapter_config.json (snake_case) → a validated config with HF's defaults. */
  parseConfig(raw: Json, path: string): C;
  /** The config → adapter_config.json with every field HF PEFT writes. */
  writeConfig(config: C): Record<string, unknown>;
  /**
   * Adds adapter `name` to the module at `path`: returns the wrapper to put in its place (or
   * `target` itself when it already is one of this method's layers and was updated). `tuner` holds
   * what prepareAdapter made.
   */
  inject(target: Module, path: string, name: string, config: C, tuner: TunerModel): Module;
  /**
   * HF PEFT's per-architecture defaults (utils/constants.py's TRANSFORMERS_MODELS_TO_*_MAPPING): for
   * each config field named here (target_modules; IA3's feedforward_modules too), the module names
   * a config that leaves it null takes, by the model's model_type. Filled before prepareConfig, so
   * the adapter keeps and saves the filled values. Default: none (a null field stays null).
   */
  readonly defaultTargets?: DefaultTargets;
  /**
   * Fills what else depends on the model before targeting, after defaultTargets (HF's
   * _prepare_adapter_config: bottleneck placements by architecture, from tuner.model); the result is the config the adapter keeps and saves. Default: unchanged.
   */
  prepareConfig?(config: C, tuner: TunerModel): C;
  /**
   * Runs once per new adapter before inject, with every module it will wrap (HF's
   * _pre_injection_hook): for tensors all its layers share (VeRA's projections). They are kept as
   * buffers of `tuner` with the adapter name in their path; the persistent ones are saved and loaded
   * with the adapter, under `base_model.<path without the adapter name>` (HF's `base_model.vera_A`).
   */
  prepareAdapter?(tuner: TunerModel, name: string, config: C, targets: ReadonlyMap<string, Module>): void;
  /** Removes what prepareAdapter made (the adapter was deleted, or its injection failed). */
  releaseAdapter?(tuner: TunerModel, name: string): void;
  /**
   * The module paths (inside the HF model) the adapter wraps, for methods that choose their targets
   * by what the modules hold rather than by target_modules alone (BitFit: every layer with a bias).
   * Default: findTargets (HF's target_modules / exclude_modules / layers_to_transform rules).
   */
  selectTargets?(model: Module, config: C): string[];
  /** The saved name of an in-memory parameter path whose adapter component was removed (DoRA renames). */
  renameSaved?(key: string): string;
  /** A term PeftModel.forward adds to the loss when labels gave one (AdaLoRA's orthogonality regulariser); null: none. */
  extraLoss?(tuner: TunerModel): Tensor | null;
  /**
   * Called by training loops after each optimizer step, before the gradients are zeroed, with the
   * 0-based step (AdaLoRA's rank allocation, HF's update_and_allocate).
   */
  afterOptimizerStep?(tuner: TunerModel, globalStep: number): void;
  /**
   * What the method keeps between training steps besides parameters (AdaLoRA's importance averages
   * and rank pattern), for checkpoints that resume exactly; null: nothing yet. The tensors stay
   * the method's: the caller writes them and does not dispose them.
   */
  trainingState?(tuner: TunerModel): MethodTrainingState | null;
  /** Puts back what trainingState gave (the tensors are copied; the caller disposes them). */
  loadTrainingState?(tuner: TunerModel, state: MethodTrainingState): void;
  /**
   * The tensors savePretrained writes for adapter `name`, from its live ones by saved name (AdaLoRA
   * keeps only the ranks its rank_pattern kept). Tensors it makes anew are disposed after writing.
   */
  savedTensors?(tensors: Map<string, Tensor>, config: C, name: string): Map<string, Tensor>;
}

/** Config field (camelCase: 'targetModules') → model_type → the module names the field defaults to. */
export type DefaultTargets = Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;

/** A method's training state: JSON fields and tensors by name. */
export interface MethodTrainingState {
  json: Json;
  tensors: Map<string, Tensor>;
}

const methods = new Map<string, TunerMethod>();

export function registerTuner<C extends PeftConfig>(method: TunerMethod<C>): void {
  methods.set(method.peftType, method as unknown as TunerMethod);
}

export function getTuner(peftType: string): TunerMethod {
  const method = methods.get(peftType);
  if (method === undefined) {
    throw new PeftConfigError(`peft_type '${peftType}' is not supported; supported: ${tunerTypes().join(', ')}`);
  }
  return method;
}

export function tunerTypes(): string[] {
  return [...methods.keys()].sort();
}
