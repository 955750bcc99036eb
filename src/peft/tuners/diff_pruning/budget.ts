// Diff pruning's sparsity budget: the L0 penalty added to the loss while training, and finalize,
// the paper's magnitude projection of δ onto the target density at the end of training.
import { Tensor, concat, noGrad, tidy, topk, zeros } from '../../../tensor/index.js';
import type { TunerModel } from '../../tuner-model.js';
import type { PeftModel } from '../../peft-model.js';
import type { DiffPruningConfig } from './config.js';
import { DiffPruningLayer } from './layer.js';

function adapterLayers(tuner: TunerModel, name: string): DiffPruningLayer[] {
  return tuner.tunerLayers().map(([, l]) => l).filter((l): l is DiffPruningLayer => l instanceof DiffPruningLayer && l.hasAdapter(name));
}

/**
 * λ · E[‖z‖₀] / n: the expected fraction of open gates of the active adapter over its n entries,
 * weighted by l0_penalty (the paper sums; dividing by n keeps λ independent of the model's size).
 * Null when not training, in inference mode, or once finalized.
 */
export function l0Penalty(tuner: TunerModel): Tensor | null {
  const config = tuner.configs.get(tuner.activeAdapter) as DiffPruningConfig | undefined;
  if (!tuner.training || config === undefined || config.inferenceMode || config.finalized || config.l0Penalty === 0) return null;
  let open: Tensor | null = null;
  let entries = 0;
  for (const layer of adapterLayers(tuner, tuner.activeAdapter)) {
    const layerOpen = layer.expectedOpenGates(tuner.activeAdapter)!;
    open = open === null ? layerOpen : open.add(layerOpen);
    entries += layer.outFeatures * layer.inFeatures;
  }
  return open === null ? null : open.mul(config.l0Penalty / entries);
}

/** The fraction of the adapter's difference entries that are not zero at evaluation. */
export function diffDensity(peft: PeftModel, name = peft.activeAdapter): number {
  const layers = adapterLayers(peft.base_model, name);
  return tidy(() => noGrad(() => {
    let nonzero = 0;
    let entries = 0;
    for (const layer of layers) {
      const wasTraining = layer.training;
      layer.training = false;
      const delta = layer.delta(name);
      layer.training = wasTraining;
      nonzero += Number(delta.ne(0).sum().item());
      entries += delta.size;
    }
    return nonzero / entries;
  }));
}

/**
 * Projects adapter `name`'s δ = z ⊙ w (gates at evaluation) onto its budget: the
 * round(target_density · n) entries of largest |δ| over all its layers keep their value, the rest
 * become zero; the gates are dropped and the config records finalized, so further training moves
 * only the kept entries and the adapter saves and loads as finalized.
 */
export function finalizeDiffPruning(peft: PeftModel, name = peft.activeAdapter): void {
  const tuner = peft.base_model;
  const config = tuner.requireAdapter(name) as DiffPruningConfig;
  const layers = adapterLayers(tuner, name);
  // tidy: the deltas, the mask and the projections are temporaries (finalize copies into w).
  tidy(() => noGrad(() => {
    const wasTraining = layers.map((l) => l.training);
    for (const l of layers) l.training = false;
    const deltas = layers.map((l) => l.delta(name));
    layers.forEach((l, i) => (l.training = wasTraining[i]!));
    const flat = concat(deltas.map((d) => d.reshape([-1])));
    const keep = Math.round(config.targetDensity * flat.size);
    const mask = zeros([flat.size]);
    const kept = keep === 0 ? mask : mask.scatter(0, topk(flat.abs(), keep).indices, 1);
    let offset = 0;
    layers.forEach((layer, i) => {
      const d = deltas[i]!;
      layer.finalize(name, d.mul(kept.narrow(0, offset, d.size).reshape(d.shape)));
      offset += d.size;
    });
    return null;
  }));
  tuner.configs.set(name, { ...config, finalized: true } as DiffPruningConfig);
  tuner.markTrainable();
}
