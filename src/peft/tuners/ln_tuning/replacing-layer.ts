// The base of methods whose adapters are trainable copies of some of a layer's own tensors (LN
// tuning: the whole norm; BitFit: the bias). Merging writes the active copy over the base tensors
// and keeps the originals to put back on unmerge (HF's LNTuningLayer swaps the modules); two
// adapters cannot be merged together, since each replaces the same tensors.
import { Tensor, keep, noGrad, ValueError } from '../../../tensor/index.js';
import type { Parameter } from '../../../nn/index.js';
import { TunerLayer, allFinite } from '../tuner-layer.js';

export abstract class ReplacingLayer extends TunerLayer {
  /** The base tensors merging replaced, as they were (null while nothing is merged). */
  private originals: Tensor[] | null = null;

  /** The base layer's tensors an adapter replaces, in the order of replacementsOf. */
  protected abstract replacedTensors(): Parameter[];

  /** Adapter `name`'s copies of replacedTensors(). */
  protected abstract replacementsOf(name: string): Parameter[];

  override checkMergeIsFinite(names: readonly string[], path: string): void {
    for (const name of names.filter((n) => this.hasAdapter(n))) {
      if (!this.replacementsOf(name).every(allFinite)) {
        throw new ValueError(`safe merge of adapter '${name}' refused: its copy of '${path}' holds NaN or Inf; the base weights are unchanged`);
      }
    }
  }

  override merge(adapterNames: readonly string[] = this.activeAdapters): void {
    const names = adapterNames.filter((n) => this.hasAdapter(n) && !this.mergedAdapters.includes(n));
    if (names.length === 0) return;
    if (names.length > 1) {
      throw new ValueError(`adapters ${names.join(', ')} replace the same tensors, so only one can be merged at a time; merge one of them`);
    }
    // As HF: a layer with another adapter merged takes it out first.
    this.unmerge();
    const name = names[0]!;
    noGrad(() => {
      const base = this.replacedTensors();
      this.originals = base.map((t) => keep(t.clone()));
      this.replacementsOf(name).forEach((copy, i) => base[i]!.copy_(copy));
    });
    this.mergedAdapters.push(name);
  }

  override unmerge(): void {
    if (this.originals === null) return;
    const originals = this.originals;
    noGrad(() => this.replacedTensors().forEach((t, i) => t.copy_(originals[i]!)));
    for (const t of originals) t.dispose();
    this.originals = null;
    this.mergedAdapters = [];
  }

  // TunerLayer's weight-only merge hooks, for completeness: what merging makes of the weight.
  protected mergedWeight(weight: Tensor, name: string): Tensor {
    const i = this.replacedTensors().indexOf(weight as Parameter);
    return (i < 0 ? weight : this.replacementsOf(name)[i]!).clone();
  }

  protected unmergedWeight(weight: Tensor): Tensor {
    const i = this.replacedTensors().indexOf(weight as Parameter);
    return (i < 0 || this.originals === null ? weight : this.originals[i]!).clone();
  }
}
