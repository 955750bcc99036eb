// A linear layer with LoHa adapters: ΔW = (w1_a·w1_b) ⊙ (w2_a·w2_b) · alpha/r, two rank-r products
// multiplied elementwise (rank up to r²). Names are HF PEFT's: hada_w1_a.<adapter>, ... (Parameters
// held directly in ParameterDicts, so saved as `...q_proj.hada_w1_a`).
import type { Tensor } from '../../../tensor/index.js';
import { ParameterDict } from '../../../nn/index.js';
import type { BaseLayer } from '../tuner-layer.js';
import { LycorisLayer, type LycorisLayerOptions } from '../lycoris/layer.js';
import { kaimingParameter, zeroParameter } from '../lycoris/init.js';

export interface LoHaLayerOptions extends LycorisLayerOptions {
  initWeights: boolean;
}

export class LoHaLinear extends LycorisLayer {
  hada_w1_a = new ParameterDict();
  hada_w1_b = new ParameterDict();
  hada_w2_a = new ParameterDict();
  hada_w2_b = new ParameterDict();

  constructor(base: BaseLayer, name: string, options: LoHaLayerOptions) {
    super(base);
    this.updateLayer(name, options);
  }

  /** Adds adapter `name` (HF's update_layer): w1_a, w1_b, w2_a kaiming-uniform; w2_b zero unless init_weights is false. */
  updateLayer(name: string, o: LoHaLayerOptions): void {
    this.setOptions(name, o, 'LoHa');
    const [out, inp, r] = [this.outFeatures, this.inFeatures, o.r];
    this.hada_w1_a.set(name, kaimingParameter(out, r));
    this.hada_w1_b.set(name, kaimingParameter(r, inp));
    this.hada_w2_a.set(name, kaimingParameter(out, r));
    this.hada_w2_b.set(name, o.initWeights ? zeroParameter(r, inp) : kaimingParameter(r, inp));
    this.activateFirst(name);
  }

  protected adapterDicts(): ParameterDict[] {
    return [this.hada_w1_a, this.hada_w1_b, this.hada_w2_a, this.hada_w2_b];
  }

  deltaOutIn(name: string): Tensor {
    const w1 = this.hada_w1_a.get(name)!.matmul(this.hada_w1_b.get(name)!);
    const w2 = this.hada_w2_a.get(name)!.matmul(this.hada_w2_b.get(name)!);
    return w1.mul(w2).mul(this.scaling.get(name)!);
  }

  /** LoHa always rescales the rows rank dropout keeps (HF divides by the mask's mean). */
  protected rankDropoutRescales(): boolean {
    return true;
  }
}
