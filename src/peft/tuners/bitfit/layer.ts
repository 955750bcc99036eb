// A layer whose bias BitFit tunes: each adapter holds its own copy of the bias
// (bitfit_bias.<adapter>, saved under the layer's own `bias` name), used in the base bias's place.
import type { Tensor } from '../../../tensor/index.js';
import { ParameterDict, Parameter } from '../../../nn/index.js';
import type { BaseLayer } from '../tuner-layer.js';
import { ReplacingLayer } from '../ln_tuning/replacing-layer.js';

/** A layer that adds its bias along the last dimension of its output (Linear, Conv1D, LayerNorm). */
export type BiasedLayer = BaseLayer & { bias: Parameter };

export class BitfitLayer extends ReplacingLayer {
  bitfit_bias = new ParameterDict();

  constructor(base: BiasedLayer, name: string) {
    super(base);
    this.updateLayer(name);
  }

  /** Adds adapter `name`: a copy of the base bias, so the adapter starts as the identity change. */
  updateLayer(name: string): void {
    this.bitfit_bias.set(name, new Parameter(this.baseBias.detach().clone(), false));
    if (this.activeAdapters.length === 0) this.activeAdapters = [name];
  }

  private get baseBias(): Parameter {
    return this.base_layer.bias!;
  }

  adapterNames(): string[] {
    return this.bitfit_bias.keys();
  }

  protected removeAdapterWeights(name: string): void {
    this.bitfit_bias.get(name)!.dispose();
    this.bitfit_bias.delete(name);
  }

  protected replacedTensors(): Parameter[] {
    return [this.baseBias];
  }

  protected replacementsOf(name: string): Parameter[] {
    return [this.bitfit_bias.get(name)!];
  }

  /** The base output with the adapter's bias in place of the base one: y + (b_adapter − b_base). */
  protected override applyAdapter(_x: Tensor, result: Tensor, name: string): Tensor {
    return result.add(this.bitfit_bias.get(name)!.sub(this.baseBias));
  }
}
