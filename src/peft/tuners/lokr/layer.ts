// A linear layer with LoKr adapters: ΔW = kron(w1, w2) · alpha/r, where out = a·c and in = b·d
// are split by `factorization`, w1 is [a, b] and w2 [c, d]; each factor is a full matrix or, when
// r is small against it, a rank-r product (w1 only with decompose_both). Names are HF PEFT's:
// lokr_w1.<adapter> or lokr_w1_a / lokr_w1_b, lokr_w2.<adapter> or lokr_w2_a / lokr_w2_b.
import type { Tensor } from '../../../tensor/index.js';
import { ParameterDict, type Parameter } from '../../../nn/index.js';
import type { BaseLayer } from '../tuner-layer.js';
import { LycorisLayer, type LycorisLayerOptions } from '../lycoris/layer.js';
import { kaimingParameter, zeroParameter } from '../lycoris/init.js';
import { factorization } from './factorization.js';
import type { LoKrInit } from './config.js';

export interface LoKrLayerOptions extends LycorisLayerOptions {
  initWeights: LoKrInit;
  decomposeBoth: boolean;
  decomposeFactor: number;
  rankDropoutScale: boolean;
}

/**
 * Which part of a Kronecker factor starts at zero (so that ΔW = 0): 'a' or 'b' of a rank-r
 * product a·b, or the whole matrix when the factor is full; null: random.
 */
type ZeroPart = 'a' | 'b' | null;

export class LoKrLinear extends LycorisLayer {
  lokr_w1 = new ParameterDict();
  lokr_w1_a = new ParameterDict();
  lokr_w1_b = new ParameterDict();
  lokr_w2 = new ParameterDict();
  lokr_w2_a = new ParameterDict();
  lokr_w2_b = new ParameterDict();
  private readonly rescalesRankDropout = new Map<string, boolean>();

  constructor(base: BaseLayer, name: string, options: LoKrLayerOptions) {
    super(base);
    this.updateLayer(name, options);
  }

  /** Adds adapter `name` (HF's update_layer and its three initialisations). */
  updateLayer(name: string, o: LoKrLayerOptions): void {
    this.setOptions(name, o, 'LoKr');
    this.rescalesRankDropout.set(name, o.rankDropoutScale);
    const [inM, inN] = factorization(this.inFeatures, o.decomposeFactor);
    const [outL, outK] = factorization(this.outFeatures, o.decomposeFactor);
    // init true zeroes w1 (or w1_a), 'lycoris' w2 (or w2_b), false nothing.
    const zeroW1: ZeroPart = o.initWeights === true ? 'a' : null;
    const zeroW2: ZeroPart = o.initWeights === 'lycoris' ? 'b' : null;
    // HF keeps a factor full unless r is under half its larger side (w1 only with decompose_both).
    const fullW1 = !(o.decomposeBoth && o.r < Math.max(outL, inM) / 2);
    const fullW2 = !(o.r < Math.max(outK, inN) / 2);
    this.addFactor(name, this.lokr_w1, this.lokr_w1_a, this.lokr_w1_b, [outL, inM], o.r, fullW1, zeroW1);
    this.addFactor(name, this.lokr_w2, this.lokr_w2_a, this.lokr_w2_b, [outK, inN], o.r, fullW2, zeroW2);
    this.activateFirst(name);
  }

  /** One Kronecker factor [rows, cols]: full, or a·b with a [rows, r], b [r, cols]; the rest kaiming-uniform. */
  private addFactor(
    name: string,
    full: ParameterDict,
    a: ParameterDict,
    b: ParameterDict,
    [rows, cols]: [number, number],
    r: number,
    isFull: boolean,
    zero: ZeroPart,
  ): void {
    if (isFull) {
      full.set(name, zero !== null ? zeroParameter(rows, cols) : kaimingParameter(rows, cols));
      return;
    }
    a.set(name, zero === 'a' ? zeroParameter(rows, r) : kaimingParameter(rows, r));
    b.set(name, zero === 'b' ? zeroParameter(r, cols) : kaimingParameter(r, cols));
  }

  protected adapterDicts(): ParameterDict[] {
    return [this.lokr_w1, this.lokr_w1_a, this.lokr_w1_b, this.lokr_w2, this.lokr_w2_a, this.lokr_w2_b];
  }

  protected override removeAdapterWeights(name: string): void {
    super.removeAdapterWeights(name);
    this.rescalesRankDropout.delete(name);
  }

  deltaOutIn(name: string): Tensor {
    const w1 = factor(this.lokr_w1.get(name), this.lokr_w1_a.get(name), this.lokr_w1_b.get(name));
    const w2 = factor(this.lokr_w2.get(name), this.lokr_w2_a.get(name), this.lokr_w2_b.get(name));
    return w1.kron(w2).mul(this.scaling.get(name)!);
  }

  protected rankDropoutRescales(name: string): boolean {
    return this.rescalesRankDropout.get(name)!;
  }
}

function factor(full: Parameter | undefined, a: Parameter | undefined, b: Parameter | undefined): Tensor {
  return full ?? a!.matmul(b!);
}
