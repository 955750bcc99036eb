// A linear layer with (IA)³ adapters (HF PEFT's IA3 Linear): a learned vector ia3_l.<adapter>
// scales the output, y = l ⊙ (W·x + b), with l [out, 1], or for feed-forward targets the input,
// y = W·(l ⊙ x) + b, with l [1, in]. Merging multiplies W's rows (and b) or columns by l.
import { Tensor, ones, randn } from '../../../tensor/index.js';
import { Parameter, ParameterDict } from '../../../nn/index.js';
import { TunerLayer, type BaseLayer } from '../tuner-layer.js';

/** HF adds this to l before dividing, so that unmerging a zero entry gives no Inf. */
const UNMERGE_EPS = 1e-8;

export class Ia3Linear extends TunerLayer {
  ia3_l = new ParameterDict();

  constructor(
    base: BaseLayer,
    /** True when this layer scales its input (feedforward_modules), false for its output. */
    readonly isFeedforward: boolean,
    name: string,
    initIa3Weights: boolean,
  ) {
    super(base);
    this.updateLayer(name, initIa3Weights);
  }

  /** Adds adapter `name` (HF's update_layer): ones, or random values for init_ia3_weights false. */
  updateLayer(name: string, initIa3Weights: boolean): void {
    const shape = this.isFeedforward ? [1, this.inFeatures] : [this.outFeatures, 1];
    this.ia3_l.set(name, new Parameter(initIa3Weights ? ones(shape) : randn(shape)));
    if (this.activeAdapters.length === 0) this.activeAdapters = [name];
  }

  adapterNames(): string[] {
    return this.ia3_l.keys();
  }

  protected removeAdapterWeights(name: string): void {
    this.ia3_l.get(name)!.dispose();
    this.ia3_l.delete(name);
  }

  /**
   * Output scaling: l ⊙ (W·x + b). Input scaling (feed-forward targets): W·(l ⊙ x) + b, computed as
   * the base output plus W·((l − 1) ⊙ x), so that TunerLayer's routing (disabled, merged,
   * mixed-adapter batches) applies unchanged.
   */
  /** Attention targets scale the output (bias included, as HF). */
  protected override applyAdapter(_x: Tensor, result: Tensor, name: string): Tensor {
    return this.isFeedforward ? result : result.mul(this.ia3_l.get(name)!.flatten());
  }

  /** Feed-forward targets scale the input. */
  protected override adaptInput(x: Tensor, name: string): Tensor {
    return this.isFeedforward ? x.mul(this.ia3_l.get(name)!.flatten()) : x;
  }

  protected override get transformsInput(): boolean {
    return this.isFeedforward;
  }

  /** l shaped to multiply base_layer.weight in its own layout ([out, in], or [in, out] for Conv1D). */
  private vectorLikeWeight(name: string): Tensor {
    const l = this.ia3_l.get(name)!;
    return this.weightIsTransposed ? l.T : l;
  }

  protected mergedWeight(weight: Tensor, name: string): Tensor {
    return weight.mul(this.vectorLikeWeight(name));
  }

  protected unmergedWeight(weight: Tensor, name: string): Tensor {
    return weight.div(this.vectorLikeWeight(name).add(UNMERGE_EPS));
  }

  /** Output scaling scales the bias too (HF's merge does the same). */
  protected override mergeExtras(name: string, sign: 1 | -1): void {
    const bias = this.base_layer.bias;
    if (this.isFeedforward || bias === null) return;
    const l = this.ia3_l.get(name)!.reshape(bias.shape);
    bias.copy_(sign === 1 ? bias.mul(l) : bias.div(l.add(UNMERGE_EPS)));
  }

  override extraRepr(): string {
    return `adapters=${this.adapterNames().join(',')}, feedforward=${this.isFeedforward}`;
  }
}
