// A sublayer with bottleneck adapters. Sequential (Houlsby, Pfeiffer) on a sublayer's output
// projection: h ↦ [ln_after](residual + s·up(act(down([ln_before](h))))), the residual taken
// before or after ln_before. Parallel (He et al.) on the feed-forward block:
// x ↦ ffn(x) + s·up(act(down([ln_before](x)))); on a post-norm output that also adds the residual
// (BERT's BertOutput) that term joins the residual sum: LN(ffn(x) + s·f(x) + x). AdapterFusion attends over several adapters'
// outputs (see fusion-attention.ts). Names: bottleneck_<part>.<adapter>.
import { ValueError, isFloating, type DType, type Tensor } from '../../../tensor/index.js';
import { LayerNorm, Linear, ModuleDict, getActivation, type Activation, type Module } from '../../../nn/index.js';
import { AdapterNameError, PeftConfigError } from '../../errors.js';
import type { BottleneckInit, NonLinearity } from './config.js';
import { ModuleTunerLayer, isResidualOutput, type ResidualOutputModule, type WrappedModule } from './module-layer.js';
import { fusedOutput } from './fusion-attention.js';
import { fusionProjections, bottleneckProjections } from './init.js';

/** The options of one adapter on one layer. */
/** The dtype of the module's first floating-point parameter (a 4-bit base's packed weight is not one). */
export function floatingDType(module: Module): DType {
  return module.parameters().find((p) => isFloating(p.dtype))?.dtype ?? 'float32';
}

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
  /** The wrapped module adds the residual itself (parallel adapters then adapt that residual). */
  private readonly addsResidual: boolean;

  /**
   * `features`: the hidden size the adapters read and write. `parallel`: the layer wraps a
   * feed-forward block (or its residual-adding output) and its adapters read the block's input.
   */
  constructor(
    base: WrappedModule | ResidualOutputModule,
    readonly features: number,
    readonly parallel: boolean,
  ) {
    super(base);
    this.dtype = floatingDType(base);
    this.addsResidual = isResidualOutput(base);
    if (this.addsResidual && !parallel) {
      throw new ValueError(`a ${base.constructor.name} adds the residual and normalises; only a parallel adapter goes there (sequential ones wrap its dense projection)`);
    }
  }

  /**
   * `residual` is given when the wrapped module adds the residual (BertOutput's forward(h,
   * residual)): the adapters run on the residual (the feed-forward block's input) and their sum
   * with it goes into the module, so TunerLayer's machinery (active adapters, disabling, mixed
   * batches) works on x ↦ x + Σ s·f(x).
   */
  override forward(x: Tensor, residual?: Tensor): Tensor {
    if (!this.addsResidual) return super.forward(x);
    if (residual === undefined) throw new ValueError(`${this.base_layer.constructor.name} with adapters needs its residual input: forward(h, residual)`);
    return (this.base_layer as unknown as ResidualOutputModule).forward(x, super.forward(residual));
  }

  /** Around a residual-adding output, the adapters add to the residual itself. */
  protected override baseForward(x: Tensor): Tensor {
    return this.addsResidual ? x : super.baseForward(x);
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
