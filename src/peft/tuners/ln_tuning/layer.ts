// A normalisation layer with LN tuning adapters: each adapter is a trainable copy of the whole norm
// (HF's LNTuningLayer, named ln_tuning_layers.<adapter>), which runs in the base norm's place.
import { ValueError, type Tensor } from '../../../tensor/index.js';
import { LayerNorm, ModuleDict, RMSNorm, cloneModule, type Parameter } from '../../../nn/index.js';
import { currentRouting } from '../../mixed-batch.js';
import type { BaseLayer } from '../tuner-layer.js';
import { ReplacingLayer } from './replacing-layer.js';

export type NormLayer = LayerNorm | RMSNorm;

export class LnTuningLayer extends ReplacingLayer {
  ln_tuning_layers = new ModuleDict<NormLayer>();

  constructor(base: NormLayer, name: string) {
    super(base as unknown as BaseLayer);
    this.updateLayer(name);
  }

  /** Adds adapter `name`: a copy of the base norm, so the adapter starts as the identity change. */
  updateLayer(name: string): void {
    const copy = cloneModule(this.base_layer as unknown as NormLayer);
    copy.requiresGrad_(false);
    this.ln_tuning_layers.set(name, copy);
    if (this.activeAdapters.length === 0) this.activeAdapters = [name];
  }

  adapterNames(): string[] {
    return this.ln_tuning_layers.keys();
  }

  protected removeAdapterWeights(name: string): void {
    for (const p of this.ln_tuning_layers.get(name)!.parameters()) p.dispose();
    this.ln_tuning_layers.delete(name);
  }

  protected replacedTensors(): Parameter[] {
    return this.base_layer.parameters();
  }

  protected replacementsOf(name: string): Parameter[] {
    return this.ln_tuning_layers.get(name)!.parameters();
  }

  /** Runs the active adapter's norm instead of the base one (disabled, merged and mixed batches as every layer). */
  override forward(x: Tensor): Tensor {
    const active = this.activeAdapters.filter((n) => this.hasAdapter(n));
    if (this.adaptersDisabled || this.merged || currentRouting() !== null || active.length === 0) return super.forward(x);
    if (active.length > 1) throw new ValueError(`LN tuning runs one adapter at a time, not ${active.join(', ')}; set one active adapter`);
    return this.ln_tuning_layers.get(active[0]!)!.forward(x);
  }

  /** For mixed batches: the adapter's norm in place of the base output. */
  protected override applyAdapter(x: Tensor, _result: Tensor, name: string): Tensor {
    return this.ln_tuning_layers.get(name)!.forward(x);
  }
}
