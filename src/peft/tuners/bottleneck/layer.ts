// A sublayer with bottleneck adapters. Sequential (Houlsby, Pfeiffer) on a sublayer's output
// projection: h ↦ [ln_after](residual + s·up(act(down([ln_before](h))))), the residual taken
// before or after ln_before. Parallel (He et al.) on the feed-forward block:
// x ↦ ffn(x) + s·up(act(down([ln_before](x)))). AdapterFusion attends over several adapters'
// outputs (see fusion-attention.ts). Names: bottleneck_<part>.<adapter>.
import { type DType, type Tensor } from '../../../tensor/index.js';
import { LayerNorm, Linear, ModuleDict, getActivation, type Activation } from '../../../nn/index.js';
import { AdapterNameError, PeftConfigError } from '../../errors.js';
import type { BottleneckInit, NonLinearity } from './config.js';
import { ModuleTunerLayer, type WrappedModule } from './module-layer.js';
import { fusedOutput } from './fusion-attention.js';
import { fusionProjections, bottleneckProjections } from './init.js';

/** The options of one adapter on one layer. */
export interface BottleneckAdapterOptions {
  reductionFactor: number;
  nonLinearity: NonLinearity;
  scaling: number;
  residualBeforeLn: boolean;
  lnBefore: boolean;
  lnAfter: boolean;
  initWeights: BottleneckInit;
}

interface AdapterMath {
  act: Activation;
  scaling: number;
  residualBeforeLn: boolean;
}

export class BottleneckLayer extends ModuleTunerLayer {
  bottleneck_ln_before = new ModuleDict<LayerNorm>();
  bottleneck_down = new ModuleDict<Linear>();
  bottleneck_up = new ModuleDict<Linear>();
  bottleneck_ln_after = new ModuleDict<LayerNorm>();
  bottleneck_fusion_query = new ModuleDict<Linear>();
  bottleneck_fusion_key = new ModuleDict<Linear>();
  bottleneck_fusion_value = new ModuleDict<Linear>();
  private readonly math = new Map<string, AdapterMath>();
  /** Fusion name → the adapters it attends over. */
  private readonly fusions = new Map<string, string[]>();
  private readonly dtype: DType;

  /**
   * `features`: the hidden size the adapters read and write. `parallel`: the layer wraps a
   * feed-forward block and its adapters read the block's input, not its output.
   */
  constructor(
    base: WrappedModule,
    readonly features: number,
    readonly parallel: boolean,
  ) {
    super(base);
    this.dtype = base.parameters()[0]?.dtype ?? 'float32';
  }

  /** Adds adapter `name` (the bottleneck is floor(features / reductionFactor) wide). */
  addAdapter(name: string, o: BottleneckAdapterOptions, path: string): void {
    const width = Math.floor(this.features / o.reductionFactor);
    if (width < 1) {
      throw new PeftConfigError(`reduction_factor ${o.reductionFactor} leaves no bottleneck at '${path}' (hidden size ${this.features}); use at most ${this.features}`);
    }
    const { down, up } = bottleneckProjections(this.features, width, o.initWeights, this.dtype);
    this.bottleneck_down.set(name, down);
    this.bottleneck_up.set(name, up);
    if (o.lnBefore) this.bottleneck_ln_before.set(name, new LayerNorm(this.features, 1e-5, { dtype: this.dtype }));
    if (o.lnAfter) this.bottleneck_ln_after.set(name, new LayerNorm(this.features, 1e-5, { dtype: this.dtype }));
    this.math.set(name, { act: getActivation(o.nonLinearity), scaling: o.scaling, residualBeforeLn: o.residualBeforeLn });
    if (this.activeAdapters.length === 0) this.activeAdapters = [name];
  }

  /** Adds fusion `name` over `adapters` (which this layer must have). */
  addFusion(name: string, adapters: readonly string[], initWeights: BottleneckInit, path: string): void {
    const missing = adapters.filter((a) => !this.math.has(a));
    if (missing.length > 0) throw new AdapterNameError(`'${path}' has no bottleneck adapter ${missing.map((a) => `'${a}'`).join(', ')} for fusion '${name}' to attend over`);
    const { query, key, value } = fusionProjections(this.features, initWeights, this.dtype);
    this.bottleneck_fusion_query.set(name, query);
    this.bottleneck_fusion_key.set(name, key);
    this.bottleneck_fusion_value.set(name, value);
    this.fusions.set(name, [...adapters]);
  }

  adapterNames(): string[] {
    return [...this.math.keys(), ...this.fusions.keys()];
  }

  protected removeAdapterWeights(name: string): void {
    const users = [...this.fusions].filter(([, adapters]) => adapters.includes(name)).map(([fusion]) => fusion);
    if (users.length > 0) throw new AdapterNameError(`adapter '${name}' is fused by ${users.map((u) => `'${u}'`).join(', ')}; delete the fusion first`);
    for (const dict of this.dicts()) {
      const m = dict.get(name);
      if (m === undefined) continue;
      for (const p of m.parameters()) p.dispose();
      dict.delete(name);
    }
    this.math.delete(name);
    this.fusions.delete(name);
  }

  private dicts(): ModuleDict<Linear | LayerNorm>[] {
    return [
      this.bottleneck_ln_before, this.bottleneck_down, this.bottleneck_up, this.bottleneck_ln_after,
      this.bottleneck_fusion_query, this.bottleneck_fusion_key, this.bottleneck_fusion_value,
    ];
  }

  /** `x` is the wrapped module's input, `result` its output (with earlier adapters applied). */
  protected override applyAdapter(x: Tensor, result: Tensor, name: string): Tensor {
    const fused = this.fusions.get(name);
    if (fused === undefined) return this.adapterOutput(x, result, name);
    const outputs = fused.map((a) => this.adapterOutput(x, result, a));
    return fusedOutput(result, outputs, this.bottleneck_fusion_query.get(name)!, this.bottleneck_fusion_key.get(name)!, this.bottleneck_fusion_value.get(name)!);
  }

  /** The sublayer's output with adapter `name`: sequential on `h`, or beside the block on `x`. */
  private adapterOutput(x: Tensor, h: Tensor, name: string): Tensor {
    const { act, scaling, residualBeforeLn } = this.math.get(name)!;
    const lnBefore = this.bottleneck_ln_before.get(name);
    const input = this.parallel ? x : h;
    const normed = lnBefore === undefined ? input : lnBefore.forward(input);
    const delta = this.bottleneck_up.get(name)!.forward(act(this.bottleneck_down.get(name)!.forward(normed)));
    const scaled = scaling === 1 ? delta : delta.mul(scaling);
    if (this.parallel) return h.add(scaled);
    const out = (residualBeforeLn ? h : normed).add(scaled);
    const lnAfter = this.bottleneck_ln_after.get(name);
    return lnAfter === undefined ? out : lnAfter.forward(out);
  }
}
