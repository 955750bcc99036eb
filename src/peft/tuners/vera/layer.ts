// A linear layer with VeRA adapters (HF PEFT's VeRA Linear): y = W·x + b + λ_b ⊙ (B·(λ_d ⊙ (A·x)))
// with the adapter's shared frozen projections A [r, in] and B [out, r] (the top-left slices of
// vera_A / vera_B) and trained vectors vera_lambda_b.<adapter> [out], vera_lambda_d.<adapter> [r].
import { Tensor, linear, ones, randn, zeros, full } from '../../../tensor/index.js';
import { Dropout, ModuleDict, Parameter, ParameterDict } from '../../../nn/index.js';
import { AdditiveTunerLayer } from '../additive-layer.js';
import type { BaseLayer } from '../tuner-layer.js';
import type { Projections } from './projections.js';

export interface VeraLayerOptions {
  r: number;
  veraDropout: number;
  dInitial: number;
  initWeights: boolean;
}

export class VeraLinear extends AdditiveTunerLayer {
  vera_lambda_b = new ParameterDict();
  vera_lambda_d = new ParameterDict();
  vera_dropout = new ModuleDict<Dropout>();
  /** Per adapter: the shared projections (the tuner's buffers, referenced here, not owned). */
  private readonly projections = new Map<string, Projections>();

  constructor(base: BaseLayer, name: string, projections: Projections, options: VeraLayerOptions) {
    super(base);
    this.updateLayer(name, projections, options);
  }

  /** Adds adapter `name` (HF's update_layer): λ_b = 0 and λ_d = d_initial, so it starts as the identity. */
  updateLayer(name: string, projections: Projections, o: VeraLayerOptions): void {
    this.projections.set(name, projections);
    this.vera_lambda_b.set(name, new Parameter(o.initWeights ? zeros([this.outFeatures]) : ones([this.outFeatures])));
    this.vera_lambda_d.set(name, new Parameter(o.initWeights ? full([o.r], o.dInitial) : randn([o.r])));
    this.vera_dropout.set(name, new Dropout(o.veraDropout));
    if (this.activeAdapters.length === 0) this.activeAdapters = [name];
  }

  adapterNames(): string[] {
    return this.vera_lambda_d.keys();
  }

  protected removeAdapterWeights(name: string): void {
    for (const dict of [this.vera_lambda_b, this.vera_lambda_d]) {
      dict.get(name)!.dispose();
      dict.delete(name);
    }
    this.vera_dropout.delete(name);
    this.projections.delete(name);
  }

  /** The parts of the shared projections this layer uses: A [r, in] and B [out, r]. */
  private slices(name: string): { a: Tensor; b: Tensor } {
    const { a, b } = this.projections.get(name)!;
    return { a: a.narrow(1, 0, this.inFeatures), b: b.narrow(0, 0, this.outFeatures) };
  }

  protected override applyAdapter(x: Tensor, result: Tensor, name: string): Tensor {
    const { a, b } = this.slices(name);
    const hidden = linear(this.vera_dropout.get(name)!.forward(x), a).mul(this.vera_lambda_d.get(name)!);
    return result.add(linear(hidden, b).mul(this.vera_lambda_b.get(name)!));
  }

  /** (λ_b ⊙ B)·(λ_d ⊙ A) as [out, in]. */
  override deltaOutIn(name: string): Tensor {
    const { a, b } = this.slices(name);
    return b.mul(this.vera_lambda_b.get(name)!.unsqueeze(1)).matmul(a.mul(this.vera_lambda_d.get(name)!.unsqueeze(1)));
  }
}
