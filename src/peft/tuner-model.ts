// The model with adapter layers in place of its targeted modules (HF PEFT's BaseTuner, whose one
// child is `model`, so parameter paths read base_model.model.<HF path>). Injection, the active
// adapter, trainability, merging and unloading live here; files and the user API in PeftModel.
import type { Parameter } from '../nn/index.js';
import { Module } from '../nn/index.js';
import type { PeftConfig } from './config/peft-config.js';
import { withDefaultTargets } from './default-targets.js';
import { AdapterNameError, TargetModulesError } from './errors.js';
import { ModulesToSaveWrapper } from './modules-to-save.js';
import { adaptableModules, findTargets, matchesModule } from './target.js';
import { TunerLayer } from './tuners/tuner-layer.js';
import type { TunerMethod } from './tuners/registry.js';

export interface MergeOptions {
  /** Adapters to merge (default: the active one). */
  adapterNames?: readonly string[];
  /** Refuse (and leave the base unchanged) if merging would write NaN or Inf. */
  safeMerge?: boolean;
}

export class TunerModel extends Module {
  readonly configs = new Map<string, PeftConfig>();
  activeAdapter = '';

  constructor(
    public model: Module,
    readonly method: TunerMethod,
  ) {
    super();
  }

  /** Adapter layers with their paths inside `model`. */
  tunerLayers(): [string, TunerLayer][] {
    return [...adaptableModules(this.model)].filter((e): e is [string, TunerLayer] => e[1] instanceof TunerLayer);
  }

  modulesToSaveWrappers(): [string, ModulesToSaveWrapper][] {
    return [...adaptableModules(this.model)].filter((e): e is [string, ModulesToSaveWrapper] => e[1] instanceof ModulesToSaveWrapper);
  }

  /**
   * Adds adapter `name`: wraps every module the config targets (or adds to its wrapper) and its
   * modules_to_save. Null target fields first take the method's defaults for the model's
   * architecture (defaultTargets). On any error the model is restored as it was.
   */
  injectAdapter(name: string, given: PeftConfig): void {
    const filled = withDefaultTargets(given, this.method, this.model);
    const config = this.method.prepareConfig?.(filled, this) ?? filled;
    const targets = this.method.selectTargets?.(this.model, config) ?? findTargets(this.model, config);
    const replaced: [string, Module][] = [];
    const updated: TunerLayer[] = [];
    try {
      this.method.prepareAdapter?.(this, name, config, new Map(targets.map((p) => [p, this.model.getSubmodule(p)])));
      for (const path of targets) {
        const target = this.model.getSubmodule(path);
        const result = this.method.inject(target, path, name, config, this);
        if (result === target) {
          updated.push(target as TunerLayer);
        } else {
          replaced.push([path, target]);
          this.model.setSubmodule(path, result);
        }
      }
      this.wrapModulesToSave(name, config);
    } catch (error) {
      for (const [path, original] of replaced) this.model.setSubmodule(path, original);
      for (const layer of updated) if (layer.hasAdapter(name)) layer.deleteAdapter(name);
      this.method.releaseAdapter?.(this, name);
      throw error;
    }
    this.configs.set(name, config);
    if (this.activeAdapter === '') this.activeAdapter = name;
    this.setAdapter(this.activeAdapter);
  }

  protected wrapModulesToSave(name: string, config: PeftConfig): void {
    if (config.modulesToSave === null || config.modulesToSave.length === 0) return;
    const paths = [...adaptableModules(this.model)]
      .filter(([p, m]) => p !== '' && !(m instanceof TunerLayer) && matchesModule(p, config.modulesToSave!))
      .map(([p, m]) => [p, m] as const);
    for (const [path, module] of paths) {
      if (module instanceof ModulesToSaveWrapper) {
        module.addAdapter(name);
        continue;
      }
      if (typeof (module as { forward?: unknown }).forward !== 'function') {
        throw new TargetModulesError(`modules_to_save names '${path}', a ${module.constructor.name} without forward; name a layer or head`);
      }
      const wrapper = new ModulesToSaveWrapper(module as ModulesToSaveWrapper['original_module']);
      wrapper.addAdapter(name);
      this.model.setSubmodule(path, wrapper);
    }
  }

  /** Makes `name` the active adapter: the one forward uses and the one that trains. */
  setAdapter(name: string): void {
    this.requireAdapter(name);
    for (const [, layer] of this.tunerLayers()) {
      if (layer.merged) layer.unmerge();
      layer.setActiveAdapters([name]);
    }
    for (const [, wrapper] of this.modulesToSaveWrappers()) wrapper.activeAdapter = wrapper.modules_to_save.has(name) ? name : null;
    this.activeAdapter = name;
    this.markTrainable();
  }

  requireAdapter(name: string): PeftConfig {
    const config = this.configs.get(name);
    if (config === undefined) {
      throw new AdapterNameError(`no adapter named '${name}'; the adapters are: ${[...this.configs.keys()].join(', ') || '(none)'}`);
    }
    return config;
  }

  /**
   * HF's rule: only the active adapter's weights train (none in inference mode), plus the biases
   * its `bias` option names and its modules_to_save copies.
   */
  markTrainable(): void {
    for (const p of this.model.parameters()) p.requiresGrad = false;
    const config = this.configs.get(this.activeAdapter);
    if (config === undefined || config.inferenceMode) return;
    const trainable: Parameter[] = [];
    for (const [, layer] of this.tunerLayers()) trainable.push(...layer.adapterParameters(this.activeAdapter));
    for (const [, wrapper] of this.modulesToSaveWrappers()) {
      const copy = wrapper.modules_to_save.get(this.activeAdapter);
      if (copy) trainable.push(...copy.parameters());
    }
    if (config.bias === 'all') {
      trainable.push(...this.model.namedParameters().filter(([n]) => n.endsWith('bias')).map(([, p]) => p));
    } else if (config.bias?.endsWith('_only')) {
      for (const [, layer] of this.tunerLayers()) if (layer.base_layer.bias) trainable.push(layer.base_layer.bias);
    }
    for (const p of trainable) p.requiresGrad = true;
  }

  deleteAdapter(name: string): void {
    this.requireAdapter(name);
    for (const [path, layer] of this.tunerLayers()) {
      if (!layer.hasAdapter(name)) continue;
      layer.deleteAdapter(name);
      if (layer.adapterNames().length === 0) this.model.setSubmodule(path, layer.base_layer);
    }
    for (const [path, wrapper] of this.modulesToSaveWrappers()) {
      wrapper.deleteAdapter(name);
      if (wrapper.modules_to_save.keys().length === 0) this.model.setSubmodule(path, wrapper.original_module);
    }
    this.method.releaseAdapter?.(this, name);
    this.configs.delete(name);
    if (this.activeAdapter === name) {
      this.activeAdapter = '';
      const next = this.configs.keys().next();
      if (!next.done) this.setAdapter(next.value);
    }
  }

  /** Turns every adapter layer off (true) or back on (false). */
  setAdaptersDisabled(disabled: boolean): void {
    for (const [, layer] of this.tunerLayers()) layer.adaptersDisabled = disabled;
    for (const [, wrapper] of this.modulesToSaveWrappers()) wrapper.adaptersDisabled = disabled;
  }

  mergeAdapter({ adapterNames, safeMerge = false }: MergeOptions = {}): void {
    const names = adapterNames ?? [this.activeAdapter];
    for (const name of names) this.requireAdapter(name);
    // Safe merging checks every layer before it writes any, so a refusal changes nothing.
    if (safeMerge) for (const [path, layer] of this.tunerLayers()) layer.checkMergeIsFinite(names, path);
    for (const [, layer] of this.tunerLayers()) layer.merge(names);
    this.reportRequantization('merging');
  }

  unmergeAdapter(): void {
    for (const [, layer] of this.tunerLayers()) layer.unmerge();
    this.reportRequantization('unmerging');
  }

  /**
   * One warning for every quantised base weight that merging or unmerging quantised again (as
   * HF PEFT warns for bitsandbytes layers), with the largest error it introduced.
   */
  private reportRequantization(what: string): void {
    let count = 0;
    let worst = { path: '', maxAbs: 0, relative: 0 };
    for (const [path, layer] of this.tunerLayers()) {
      for (const e of layer.requantizationErrors) {
        count++;
        if (e.maxAbs >= worst.maxAbs) worst = { path, ...e };
      }
      layer.requantizationErrors = [];
    }
    if (count === 0) return;
    console.warn(
      `${what} adapters into ${count} quantised weight(s) dequantised, changed and quantised them again, which is lossy: ` +
        `the largest error is ${worst.maxAbs.toPrecision(3)} (relative ${worst.relative.toPrecision(3)}) at '${worst.path}'. ` +
        'Generations may differ from the unmerged model; to keep full precision, merge into an unquantised copy (peft merge --dtype bfloat16).',
    );
  }

  /**
   * Takes every adapter layer out, leaving the plain model (merged first if `merge`); the
   * modules_to_save copies of the active adapter take the originals' places.
   */
  unload(merge: boolean, options: MergeOptions = {}): Module {
    if (merge) this.mergeAdapter(options);
    else this.unmergeAdapter();
    // Layers may hold adapter layers inside their base module (hybrids): unwrap until none is left.
    for (let layers = this.tunerLayers(); layers.length > 0; layers = this.tunerLayers()) {
      for (const [path, layer] of layers) this.model.setSubmodule(path, layer.base_layer);
    }
    for (const [path, wrapper] of this.modulesToSaveWrappers()) this.model.setSubmodule(path, wrapper.current);
    this.configs.clear();
    this.activeAdapter = '';
    return this.model;
  }
}
