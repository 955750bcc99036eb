// A linear layer with diff pruning adapters: W + δ with δ = z ⊙ w, w a dense difference
// (diff_weight.<adapter>, [out, in], zero at the start so the output is the base's) and z the
// hard-concrete gates (diff_log_alpha.<adapter>). After finalize the gates are gone and δ = w on
// the entries finalize kept: the gradient is masked to them, so the zeros stay zero.
import { Tensor, linear, noGrad, zeros } from '../../../tensor/index.js';
import { Parameter, ParameterDict } from '../../../nn/index.js';
import { TunerLayer, type BaseLayer } from '../tuner-layer.js';
import { hardConcrete, openProbability, type GateShape } from './gate.js';

export interface DiffPruningLayerOptions {
  gate: GateShape;
  initLogAlpha: number;
  finalized: boolean;
}

export class DiffPruningLayer extends TunerLayer {
  diff_weight = new ParameterDict();
  diff_log_alpha = new ParameterDict();
  readonly gates = new Map<string, GateShape>();

  constructor(base: BaseLayer, name: string, options: DiffPruningLayerOptions) {
    super(base);
    this.updateLayer(name, options);
  }

  updateLayer(name: string, { gate, initLogAlpha, finalized }: DiffPruningLayerOptions): void {
    const shape = [this.outFeatures, this.inFeatures];
    this.diff_weight.set(name, new Parameter(zeros(shape), false));
    if (!finalized) this.diff_log_alpha.set(name, new Parameter(zeros(shape).add(initLogAlpha), false));
    this.gates.set(name, gate);
    if (this.activeAdapters.length === 0) this.activeAdapters = [name];
  }

  adapterNames(): string[] {
    return this.diff_weight.keys();
  }

  protected removeAdapterWeights(name: string): void {
    for (const dict of [this.diff_weight, this.diff_log_alpha]) {
      dict.get(name)?.dispose();
      dict.delete(name);
    }
    this.gates.delete(name);
  }

  isFinalized(name: string): boolean {
    return this.diff_log_alpha.get(name) === undefined;
  }

  /** δ = z ⊙ w as [out, in] (gates sampled while training), or w on its kept entries once finalized. */
  delta(name: string): Tensor {
    const w = this.diff_weight.get(name)!;
    const logAlpha = this.diff_log_alpha.get(name);
    if (logAlpha === undefined) return w.mul(noGrad(() => w.ne(0).to(w.dtype)));
    return w.mul(hardConcrete(logAlpha, this.gates.get(name)!, this.training));
  }

  /** Σ P(gate open) over the entries (0 once finalized: there are no gates left to close). */
  expectedOpenGates(name: string): Tensor | null {
    const logAlpha = this.diff_log_alpha.get(name);
    return logAlpha === undefined ? null : openProbability(logAlpha, this.gates.get(name)!).sum();
  }

  /** Replaces the adapter's difference by `projected` ([out, in], zero outside the budget) and drops its gates. */
  finalize(name: string, projected: Tensor): void {
    noGrad(() => this.diff_weight.get(name)!.copy_(projected));
    this.diff_log_alpha.get(name)?.dispose();
    this.diff_log_alpha.delete(name);
  }

  protected override applyAdapter(x: Tensor, result: Tensor, name: string): Tensor {
    return result.add(linear(x, this.delta(name)));
  }

  /** δ at evaluation, in base_layer.weight's layout. */
  private deltaInWeightLayout(name: string): Tensor {
    const wasTraining = this.training;
    this.training = false;
    try {
      const delta = this.delta(name);
      return this.weightIsTransposed ? delta.T.contiguous() : delta;
    } finally {
      this.training = wasTraining;
    }
  }

  protected mergedWeight(weight: Tensor, name: string): Tensor {
    return weight.add(this.deltaInWeightLayout(name));
  }

  protected unmergedWeight(weight: Tensor, name: string): Tensor {
    return weight.sub(this.deltaInWeightLayout(name));
  }
}
