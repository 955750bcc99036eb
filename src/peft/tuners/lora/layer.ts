// A linear layer with LoRA adapters: y = W·x + b + s·B(A(dropout(x))), s = alpha/r (alpha/√r
// with rsLoRA), and the DoRA variant. Names are HF PEFT's: lora_A.<adapter>, lora_B.<adapter>,
// lora_dropout.<adapter>, lora_magnitude_vector.<adapter>.
import { Tensor, indexAdd_, isGradEnabled, keep, linear, noGrad, releaseUnread } from '../../../tensor/index.js';
import { Dropout, Linear, ModuleDict } from '../../../nn/index.js';
import { PeftConfigError } from '../../errors.js';
import type { BaseLayer } from '../tuner-layer.js';
import type { RowGroup } from '../../mixed-batch.js';
import { addLoraGroups_ } from './grouped.js';
import { AdditiveTunerLayer } from '../additive-layer.js';
import { DoraMagnitude, doraOutput, weightNorm } from './dora.js';
import { initLoraWeights } from './init.js';
import type { LoraInit } from './config.js';
import type { LoftqConfig } from './loftq.js';

/** The options of one adapter on one layer (rank_pattern / alpha_pattern already applied). */
export interface LoraLayerOptions {
  r: number;
  loraAlpha: number;
  loraDropout: number;
  useRslora: boolean;
  useDora: boolean;
  loraBias: boolean;
  initLoraWeights: LoraInit;
  loftqConfig?: LoftqConfig | null;
}

export class LoraLinear extends AdditiveTunerLayer {
  lora_A = new ModuleDict<Linear>();
  lora_B = new ModuleDict<Linear>();
  lora_dropout = new ModuleDict<Dropout>();
  lora_magnitude_vector = new ModuleDict<DoraMagnitude>();
  /** Per adapter: the factor s applied to B(A(x)). */
  readonly scaling = new Map<string, number>();
  readonly ranks = new Map<string, number>();
  readonly alphas = new Map<string, number>();
  /** Whether DoRA's weight norms may be kept between forwards (see doraNorm): only for weights that never change. */
  cacheDoraNorms = false;
  private readonly doraNorms = new Map<string, Tensor>();

  constructor(base: BaseLayer, name: string, options: LoraLayerOptions) {
    super(base);
    this.updateLayer(name, options);
  }

  /** Adds adapter `name` to this layer (HF's update_layer). */
  updateLayer(name: string, o: LoraLayerOptions): void {
    if (!Number.isInteger(o.r) || o.r <= 0) {
      throw new PeftConfigError(`r must be a positive integer, not ${o.r}; LoRA's rank is usually 4 to 64`);
    }
    const a = new Linear(this.inFeatures, o.r, { bias: false });
    const b = new Linear(o.r, this.outFeatures, { bias: o.loraBias });
    this.lora_A.set(name, a);
    this.lora_B.set(name, b);
    this.lora_dropout.set(name, new Dropout(o.loraDropout));
    this.ranks.set(name, o.r);
    this.alphas.set(name, o.loraAlpha);
    this.scaling.set(name, o.useRslora ? o.loraAlpha / Math.sqrt(o.r) : o.loraAlpha / o.r);
    initLoraWeights(this, name, o.initLoraWeights, o.loftqConfig ?? null);
    if (o.useDora) this.lora_magnitude_vector.set(name, new DoraMagnitude(noGrad(() => weightNorm(this.baseWeightOutIn(), this.deltaOutIn(name)))));
    if (!this.activeAdapters.includes(name) && this.activeAdapters.length === 0) this.activeAdapters = [name];
  }

  adapterNames(): string[] {
    return this.lora_A.keys();
  }

  /** One property lookup: serving asks this for every row group of every layer at every step. */
  override hasAdapter(name: string): boolean {
    return this.lora_A.has(name);
  }

  protected removeAdapterWeights(name: string): void {
    for (const dict of [this.lora_A, this.lora_B, this.lora_dropout, this.lora_magnitude_vector]) {
      const m = dict.get(name);
      if (m === undefined) continue;
      for (const p of m.parameters()) p.dispose();
      dict.delete(name);
    }
    for (const map of [this.scaling, this.ranks, this.alphas]) map.delete(name);
    this.doraNorms.get(name)?.dispose();
    this.doraNorms.delete(name);
  }

  usesDora(name: string): boolean {
    return this.lora_magnitude_vector.has(name);
  }

  /** B(A(x))·s: the adapter's contribution to the output. */
  loraOutput(x: Tensor, name: string): Tensor {
    const a = this.lora_A.get(name)!;
    const b = this.lora_B.get(name)!;
    const s = this.scaling.get(name)!;
    // Scale the narrow [.., r] activation rather than the wide output (B's bias, if any, is scaled too).
    if (b.bias === null) return linear(linear(x, a.weight).mul(s), b.weight);
    return linear(linear(x, a.weight), b.weight, b.bias).mul(s);
  }

  /** DoRA's update reads the base output, so it is added in place too unless dropout recomputes W·x. */
  protected override addsToBaseOutput(name: string): boolean {
    return !this.usesDora(name) || !this.dropsInput(name);
  }

  /** Plain LoRA groups through the grouped kernel; DoRA groups from their rows of the base output. */
  protected override addGroupedDeltas_(out: Tensor, x: Tensor, groups: readonly RowGroup[]): readonly RowGroup[] {
    return addLoraGroups_(this, out, x, groups).filter(({ adapter, rows }) => {
      if (adapter === null || !this.hasAdapter(adapter) || !this.usesDora(adapter)) return true;
      indexAdd_(out, 0, rows, this.doraUpdate(x.indexSelect(0, rows), out.indexSelect(0, rows), adapter));
      return false;
    });
  }

  private dropsInput(name: string): boolean {
    const dropout = this.lora_dropout.get(name)!;
    return dropout.p > 0 && dropout.training;
  }

  protected override hasOutputDelta(name: string): boolean {
    return !this.usesDora(name);
  }

  protected override outputDelta(x: Tensor, name: string): Tensor {
    return this.loraOutput(this.lora_dropout.get(name)!.forward(x), name);
  }

  protected override applyAdapter(x: Tensor, result: Tensor, name: string): Tensor {
    const update = this.usesDora(name) ? this.doraUpdate(x, result, name) : this.outputDelta(x, name);
    const out = result.add(update);
    releaseUnread([update], [out, x, result]);
    return out;
  }

  /** What DoRA adds to the base layer's output `result` for input `x`. */
  private doraUpdate(x: Tensor, result: Tensor, name: string): Tensor {
    // DoRA reuses the base output when dropout is a no-op (as HF does), else recomputes W·x on the dropped input.
    const droppedInput = this.dropsInput(name);
    const input = droppedInput ? this.lora_dropout.get(name)!.forward(x) : x;
    const bias = this.base_layer.bias;
    const baseOut = droppedInput ? linear(input, this.baseWeightOutIn()) : bias === null ? result : result.sub(bias);
    return doraOutput({
      magnitude: this.lora_magnitude_vector.get(name)!.weight,
      norm: this.doraNorm(name),
      baseOut,
      loraOut: this.loraOutput(input, name),
    });
  }

  /**
   * ‖W + s·BA‖ per output. HF recomputes it in every forward; with cacheDoraNorms (set by the
   * server, whose adapters and base never change once loaded) it is computed once per adapter at
   * inference, which in a served step otherwise costs more than all of the layer's GEMMs.
   */
  private doraNorm(name: string): Tensor {
    const cached = this.doraNorms.get(name);
    if (cached !== undefined) return cached;
    const norm = weightNorm(this.baseWeightOutIn(), noGrad(() => this.deltaOutIn(name)));
    if (this.cacheDoraNorms && !isGradEnabled() && !this.training) this.doraNorms.set(name, keep(norm));
    return norm;
  }

  /** The base weight as [out, in] (a view for GPT-2's Conv1D; dequantised for a quantised base, as HF's DoRA does). */
  baseWeightOutIn(): Tensor {
    const w = this.baseWeight();
    return this.weightIsTransposed ? w.T : w;
  }

  /** s·B·A as [out, in]. */
  override deltaOutIn(name: string): Tensor {
    return this.lora_B.get(name)!.weight.matmul(this.lora_A.get(name)!.weight).mul(this.scaling.get(name)!);
  }

  /** DoRA rescales W + ΔW per output to the learned magnitude. */
  protected override mergedWeight(weight: Tensor, name: string): Tensor {
    if (!this.usesDora(name)) return super.mergedWeight(weight, name);
    const delta = this.deltaWeight(name);
    const sum = weight.add(delta);
    const magnitude = this.lora_magnitude_vector.get(name)!;
    // The norm is taken before merging and kept: unmerging divides by the same factor.
    magnitude.mergeNorm = weightNorm(this.baseWeightOutIn(), this.weightIsTransposed ? delta.T : delta);
    return sum.mul(this.doraFactor(name));
  }

  protected override unmergedWeight(weight: Tensor, name: string): Tensor {
    if (!this.usesDora(name)) return super.unmergedWeight(weight, name);
    const unmerged = weight.div(this.doraFactor(name)).sub(this.deltaWeight(name));
    this.lora_magnitude_vector.get(name)!.mergeNorm = null;
    return unmerged;
  }

  /** m / ‖W + ΔW‖ per output (the norm saved at merge time), shaped to multiply base_layer.weight. */
  private doraFactor(name: string): Tensor {
    const magnitude = this.lora_magnitude_vector.get(name)!;
    const factor = magnitude.weight.div(magnitude.mergeNorm!);
    return this.weightIsTransposed ? factor.unsqueeze(0) : factor.unsqueeze(1);
  }

  protected override mergeExtras(name: string, sign: 1 | -1): void {
    const bias = this.lora_B.get(name)!.bias;
    if (bias === null) return;
    if (this.base_layer.bias === null) {
      throw new PeftConfigError(`adapter '${name}' has lora_bias but the base layer has no bias to merge it into`);
    }
    this.base_layer.bias.copy_(this.base_layer.bias.add(bias.mul(sign * this.scaling.get(name)!)));
  }

}
