// What LoHa and LoKr layers share (HF PEFT's LycorisLayer): both build a full update ΔW [out, in]
// from their factors and add x·ΔWᵀ to the base output, as HF does (so gradients flow through ΔW).
// Rank dropout zeroes random output rows of ΔW and module dropout skips the adapter, in training only.
import { Tensor, bernoulli, isGradEnabled, keep, linear, noGrad, rand } from '../../../tensor/index.js';
import { DTYPES } from '../../../tensor/dtype.js';
import type { ParameterDict } from '../../../nn/index.js';
import { PeftConfigError } from '../../errors.js';
import { AdditiveTunerLayer } from '../additive-layer.js';

/** The options every LyCORIS adapter has on one layer (rank_pattern / alpha_pattern already applied). */
export interface LycorisLayerOptions {
  r: number;
  alpha: number;
  rankDropout: number;
  moduleDropout: number;
}

export abstract class LycorisLayer extends AdditiveTunerLayer {
  readonly ranks = new Map<string, number>();
  readonly alphas = new Map<string, number>();
  /** Per adapter: alpha / r. */
  readonly scaling = new Map<string, number>();
  readonly rankDropout = new Map<string, number>();
  readonly moduleDropout = new Map<string, number>();
  /** ΔW per adapter, kept by keepDeltas (served adapters, whose weights never change once loaded). */
  private readonly deltas = new Map<string, Tensor>();

  /** The dicts that hold adapter weights (HF's adapter_layer_names). */
  protected abstract adapterDicts(): ParameterDict[];

  /** The scaled update ΔW as [out, in], without rank dropout (HF's get_delta_weight in eval mode). */
  abstract override deltaOutIn(name: string): Tensor;

  /** Whether rank dropout divides the kept rows by their share, as dropout does. */
  protected abstract rankDropoutRescales(name: string): boolean;

  /** Records the options of adapter `name`; call before creating its weights. */
  protected setOptions(name: string, o: LycorisLayerOptions, method: string): void {
    if (!Number.isInteger(o.r) || o.r <= 0) {
      throw new PeftConfigError(`${method}: r must be a positive integer, not ${o.r} (check r and rank_pattern)`);
    }
    this.ranks.set(name, o.r);
    this.alphas.set(name, o.alpha);
    this.scaling.set(name, o.alpha / o.r);
    this.rankDropout.set(name, o.rankDropout);
    this.moduleDropout.set(name, o.moduleDropout);
  }

  /** Makes the first adapter of a fresh layer active (later ones are activated by the tuner). */
  protected activateFirst(name: string): void {
    if (this.activeAdapters.length === 0) this.activeAdapters = [name];
  }

  adapterNames(): string[] {
    return [...new Set(this.adapterDicts().flatMap((d) => d.keys()))];
  }

  protected removeAdapterWeights(name: string): void {
    for (const dict of this.adapterDicts()) {
      const p = dict.get(name);
      if (p === undefined) continue;
      p.dispose();
      dict.delete(name);
    }
    for (const map of [this.ranks, this.alphas, this.scaling, this.rankDropout, this.moduleDropout]) map.delete(name);
    this.deltas.get(name)?.dispose();
    this.deltas.delete(name);
  }

  /**
   * Builds every adapter's ΔW once and keeps it for inference forwards (HF rebuilds it in each:
   * for LoHa two rank-r products and an elementwise product per layer, which in a served decode
   * step costs more than the layer's own GEMM). Returns the bytes kept, for the server's budget.
   */
  keepDeltas(): number {
    let bytes = 0;
    for (const name of this.adapterNames()) {
      if (!this.deltas.has(name)) this.deltas.set(name, keep(noGrad(() => this.deltaOutIn(name))));
      const delta = this.deltas.get(name)!;
      bytes += delta.size * DTYPES[delta.dtype].bytes;
    }
    return bytes;
  }

  protected override applyAdapter(x: Tensor, result: Tensor, name: string): Tensor {
    // HF draws one number per forward and keeps the adapter when it exceeds module_dropout.
    if (this.training && this.moduleDropout.get(name)! > 0 && rand([1]).item() <= this.moduleDropout.get(name)!) return result;
    const kept = this.training || isGradEnabled() ? undefined : this.deltas.get(name);
    let delta = kept ?? this.deltaOutIn(name);
    const p = this.rankDropout.get(name)!;
    if (this.training && p > 0) delta = delta.mul(this.rowMask(delta.shape[0]!, p, this.rankDropoutRescales(name)));
    return result.add(linear(x, delta));
  }

  /** [rows, 1]: each row kept with probability 1 − p, the kept ones scaled by rows/kept when `rescale`. */
  private rowMask(rows: number, p: number, rescale: boolean): Tensor {
    const mask = bernoulli([rows, 1], 1 - p);
    const kept = mask.sum().item();
    // HF divides by the mask's mean unguarded; with every row dropped ΔW is zero either way.
    return rescale && kept > 0 ? mask.mul(rows / kept) : mask;
  }
}
