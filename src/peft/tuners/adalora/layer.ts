// A linear layer with AdaLoRA adapters (HF's SVDLinear): ΔW = B·(A ⊙ E)·s / (ranknum + 1e-5), an
// SVD-like form whose singular values E the rank allocator masks. Names are HF PEFT's: the
// parameters lora_A.<adapter> [r, in], lora_B.<adapter> [out, r], lora_E.<adapter> [r, 1], and
// ranknum.<adapter>, the initial rank, a frozen parameter that is never saved.
import { Tensor, linear, noGrad, randn, tensor, tidy, zeros, full } from '../../../tensor/index.js';
import { Dropout, ModuleDict, Parameter, ParameterDict } from '../../../nn/index.js';
import { PeftConfigError } from '../../errors.js';
import { AdditiveTunerLayer } from '../additive-layer.js';
import type { BaseLayer } from '../tuner-layer.js';

/** The options of one adapter on one layer. */
export interface AdaLoraLayerOptions {
  /** Rows of A (init_r, or fewer when a saved rank_pattern dropped some). */
  r: number;
  /** The rank the scaling divides by: init_r, also after rank_pattern resized the layer (as HF). */
  ranknum: number;
  loraAlpha: number;
  loraDropout: number;
  initLoraWeights: boolean;
}

/** HF's guard against dividing by a zero rank. */
const RANKNUM_EPS = 1e-5;

export class AdaLoraLinear extends AdditiveTunerLayer {
  lora_A = new ParameterDict();
  lora_B = new ParameterDict();
  lora_E = new ParameterDict();
  ranknum = new ParameterDict();
  lora_dropout = new ModuleDict<Dropout>();
  /** Per adapter: lora_alpha (HF uses alpha itself, not alpha / r; r when alpha is 0). */
  readonly scaling = new Map<string, number>();

  constructor(base: BaseLayer, name: string, options: AdaLoraLayerOptions) {
    super(base);
    this.updateLayer(name, options);
  }

  /** Adds adapter `name` to this layer (HF's update_layer). */
  updateLayer(name: string, o: AdaLoraLayerOptions): void {
    // 0 is allowed (as HF): a saved rank_pattern may keep no triplet of a module.
    if (!Number.isInteger(o.r) || o.r < 0) {
      throw new PeftConfigError(`AdaLoRA's rank must be an integer >= 0, not ${o.r}; set init_r (usually 8 to 16)`);
    }
    const std = o.initLoraWeights ? 0.02 : 1;
    this.lora_A.set(name, new Parameter(randn([o.r, this.inFeatures], { std })));
    this.lora_B.set(name, new Parameter(randn([this.outFeatures, o.r], { std })));
    this.lora_E.set(name, new Parameter(o.initLoraWeights ? zeros([o.r, 1]) : randn([o.r, 1])));
    this.ranknum.set(name, new Parameter(full([1], o.ranknum), false));
    this.lora_dropout.set(name, new Dropout(o.loraDropout));
    this.scaling.set(name, o.loraAlpha > 0 ? o.loraAlpha : o.ranknum);
    if (this.activeAdapters.length === 0) this.activeAdapters = [name];
  }

  adapterNames(): string[] {
    return this.lora_A.keys();
  }

  protected removeAdapterWeights(name: string): void {
    for (const dict of [this.lora_A, this.lora_B, this.lora_E, this.ranknum]) {
      dict.get(name)?.dispose();
      dict.delete(name);
    }
    this.lora_dropout.delete(name);
    this.scaling.delete(name);
  }

  /** The trainable weights: ranknum is a parameter but stays frozen. */
  override adapterParameters(name: string): Parameter[] {
    return [this.lora_A, this.lora_B, this.lora_E].map((dict) => dict.get(name)!).filter((p) => p !== undefined);
  }

  /** s / (ranknum + 1e-5), as a tensor [1] (ranknum is a tensor in HF too). */
  private factor(name: string): Tensor {
    return this.ranknum.get(name)!.add(RANKNUM_EPS).reciprocal().mul(this.scaling.get(name)!);
  }

  protected override applyAdapter(x: Tensor, result: Tensor, name: string): Tensor {
    const a = this.lora_A.get(name)!;
    const input = this.lora_dropout.get(name)!.forward(x);
    const update = linear(linear(input, a.mul(this.lora_E.get(name)!)), this.lora_B.get(name)!);
    return result.add(update.mul(this.factor(name)));
  }

  /** B·(A ⊙ E)·s / (ranknum + 1e-5) as [out, in]. */
  override deltaOutIn(name: string): Tensor {
    const a = this.lora_A.get(name)!;
    return this.lora_B.get(name)!.matmul(a.mul(this.lora_E.get(name)!)).mul(this.factor(name));
  }

  /** Zeroes the singular values whose `keep` entry is false (the triplets the allocator dropped). */
  maskTriplets(name: string, keep: readonly boolean[]): void {
    const e = this.lora_E.get(name)!;
    if (keep.length !== e.shape[0]) {
      throw new PeftConfigError(`a rank mask of ${keep.length} entries does not fit lora_E.${name} of rank ${e.shape[0]}`);
    }
    tidy(() => noGrad(() => e.copy_(e.maskedFill(tensor(keep.map((k) => [!k])), 0))));
  }

  override extraRepr(): string {
    return `adalora adapters=${this.adapterNames().join(',')}`;
  }
}
