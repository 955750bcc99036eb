// An attention module with prefix tuning (Li & Liang 2021) inside a layer method: per adapter a
// PrefixEncoder of this layer's prefix (num_virtual_tokens keys and values, optionally through the
// MLP reparameterisation), fed to the attention through its KV cache (prefixed-cache.ts). UniPELT
// gates the prefix and puts gated LoRA on the attention's projections; this layer places, keeps
// and removes those inner LoRA layers, so adapter management sees one layer per attention module.
import { concat, type Tensor } from '../../../tensor/index.js';
import { Conv1D, Linear, ModuleDict, type Module } from '../../../nn/index.js';
import { PeftConfigError } from '../../errors.js';
import { currentRouting } from '../../mixed-batch.js';
import type { Parameter } from '../../../nn/index.js';
import type { ResolvedPromptConfig } from '../../prompt/config.js';
import type { PrefixTuningConfig } from '../../prompt/prefix-tuning/config.js';
import { PrefixEncoder } from '../../prompt/prefix-tuning/encoder.js';
import { layerEntries, seedPrefixCache } from '../../prompt/prefix-tuning/past-key-values.js';
import type { BaseLayer } from '../tuner-layer.js';
import type { LoraLayerOptions } from '../lora/layer.js';
import { ModuleTunerLayer, type WrappedModule } from '../bottleneck/module-layer.js';
import { GatedLoraLinear } from './gated-lora.js';
import { gateLayer, gateValue } from './gate.js';
import { PrefixCollector, withPrefix } from './prefixed-cache.js';

/** One layer's prefix: a prefix-tuning config with the model's sizes and num_layers 1. */
export type LayerPrefixConfig = ResolvedPromptConfig<PrefixTuningConfig> & { encoderHiddenSize: number };

/** UniPELT's LoRA: the attention's projections it adapts (child names) and LoRA's options. */
export interface GatedLoraPart {
  projections: readonly string[];
  options: LoraLayerOptions;
}

type Attention = Module & { forward(...args: unknown[]): Tensor };

/** The width of what `module` reads: its first linear layer's input. */
export function inputWidth(module: Module): number {
  let width: number | null = null;
  module.apply((m) => {
    if (width === null && (m instanceof Linear || m instanceof Conv1D)) width = m.inFeatures;
  });
  return width!;
}

export class PrefixAttentionLayer extends ModuleTunerLayer {
  prefix_encoder = new ModuleDict<PrefixEncoder>();
  prefix_gate = new ModuleDict<Linear>();
  private readonly prefixes = new Map<string, LayerPrefixConfig>();
  /** The gated LoRA layers this layer put on its attention's projections, by child name. */
  private readonly projections = new Map<string, GatedLoraLinear>();
  private readonly features: number;

  constructor(attention: Module) {
    super(attention as unknown as WrappedModule);
    this.features = inputWidth(attention);
  }

  /** Adds adapter `name`: its prefix (gated or not) and, for UniPELT, gated LoRA on the projections. */
  addAdapter(name: string, prefix: LayerPrefixConfig, gated: boolean, lora: GatedLoraPart | null): void {
    this.prefix_encoder.set(name, new PrefixEncoder(prefix));
    if (gated) this.prefix_gate.set(name, gateLayer(this.features));
    for (const child of lora?.projections ?? []) this.addLora(child, name, lora!.options);
    this.prefixes.set(name, prefix);
    if (this.activeAdapters.length === 0) this.activeAdapters = [name];
  }

  private addLora(child: string, name: string, options: LoraLayerOptions): void {
    const existing = this.projections.get(child);
    if (existing !== undefined) {
      existing.updateLayer(name, options);
      existing.addGate(name);
      return;
    }
    const layer = new GatedLoraLinear(this.base_layer.getSubmodule(child) as BaseLayer, name, options);
    layer.addGate(name);
    this.base_layer.setSubmodule(child, layer);
    this.projections.set(child, layer);
  }

  adapterNames(): string[] {
    return [...this.prefixes.keys()];
  }

  protected removeAdapterWeights(name: string): void {
    for (const dict of [this.prefix_encoder, this.prefix_gate] as ModuleDict<Module>[]) {
      const m = dict.get(name);
      if (m === undefined) continue;
      for (const p of m.parameters()) p.dispose();
      dict.delete(name);
    }
    for (const [child, layer] of this.projections) {
      if (!layer.hasAdapter(name)) continue;
      layer.deleteAdapter(name);
      if (layer.adapterNames().length > 0) continue;
      this.base_layer.setSubmodule(child, layer.base_layer);
      this.projections.delete(child);
    }
    this.prefixes.delete(name);
  }

  override setActiveAdapters(names: readonly string[]): void {
    super.setActiveAdapters(names);
    for (const layer of this.projections.values()) layer.setActiveAdapters(names);
  }

  /** The prefix's parameters and those of the LoRA layers inside the attention. */
  override adapterParameters(name: string): Parameter[] {
    return [...super.adapterParameters(name), ...[...this.projections.values()].flatMap((layer) => layer.adapterParameters(name))];
  }

  override forward(x: Tensor, ...rest: unknown[]): Tensor {
    const attention = this.base_layer as unknown as Attention;
    for (const layer of this.projections.values()) layer.adaptersDisabled = this.adaptersDisabled;
    const names = this.adaptersDisabled ? [] : this.activeAdapters.filter((n) => this.prefixes.has(n));
    if (names.length === 0) return attention.forward(x, ...rest);
    if (currentRouting() !== null) {
      throw new PeftConfigError(`adapters with prefixes (${names.join(', ')}) cannot be mixed in one batch: every row would need its own prefix length; run one adapter per batch`);
    }
    const [keys, values] = this.prefixKeysValues(names, x);
    return attention.forward(...withPrefix([x, ...rest], keys, values));
  }

  /** The active adapters' prefixes for `x`'s batch, [batch, kvHeads, tokens, headDim] each. */
  private prefixKeysValues(names: readonly string[], x: Tensor): [Tensor, Tensor] {
    const batch = x.shape[0]!;
    const parts = names.map((name): [Tensor, Tensor] => {
      const collector = new PrefixCollector();
      seedPrefixCache(collector, this.prefix_encoder.get(name)!.prompts(), this.prefixes.get(name)!, batch, layerEntries);
      const [k, v] = collector.collected!;
      const gate = this.prefix_gate.get(name);
      if (gate === undefined) return [k.to(x.dtype), v.to(x.dtype)];
      // Every position reads the same prefix, so the gate is one per sequence: the mean of its
      // positions' gates (as UniPELT's implementation does).
      const g = gateValue(gate, x).mean(1).reshape([batch, 1, 1, 1]);
      return [k.mul(g).to(x.dtype), v.mul(g).to(x.dtype)];
    });
    if (parts.length === 1) return parts[0]!;
    return [concat(parts.map(([k]) => k), 2), concat(parts.map(([, v]) => v), 2)];
  }
}
