// Gradient checkpointing: run a segment without keeping its activations, and recompute it
// (with the same random numbers) when backward reaches it. Trades compute for memory.
import { AutogradError } from './errors.js';
import { enableGrad, isGradEnabled, noGrad } from './grad-mode.js';
import { defaultGenerator } from './random.js';
import { tidy } from './scope.js';
import { Tensor } from './tensor.js';

/**
 * Returns fn(...inputs), keeping only the inputs for backward. Parameters that fn closes over
 * receive their gradients when the segment is recomputed, so a segment whose inputs are frozen
 * (hidden states below a LoRA layer, say) still trains what is inside it.
 */
export function checkpoint(fn: (...inputs: Tensor[]) => Tensor, ...inputs: Tensor[]): Tensor {
  if (!isGradEnabled()) return fn(...inputs);
  const rngState = defaultGenerator.getState();
  const contexts = contextCaptures.map((capture) => capture()).filter((c) => c !== null);
  const inContext = <T>(run: () => T): T => contexts.reduce<() => T>((inner, context) => () => context(inner), run)();
  // The segment's intermediates are freed as soon as it has run (its own scope): only its output stays.
  const out = tidy(() => noGrad(() => fn(...inputs)));
  out.setGradFn({
    name: 'checkpoint',
    inputs,
    saved: [],
    backward: (g) => {
      const resumeState = defaultGenerator.getState();
      defaultGenerator.setState(rngState);
      try {
        // The recomputed activations are freed when the segment's backward ends (its own scope):
        // left to the step's scope, every segment's would pile up and checkpointing save nothing.
        return tidy(() => {
          const detached = inputs.map((x) => (x.requiresGrad ? x.detach().requiresGrad_() : x.detach()));
          const recomputed = inContext(() => enableGrad(() => fn(...detached)));
          if (recomputed.shape.join() !== out.shape.join()) {
            throw new AutogradError('checkpoint: the recomputed segment returned a different shape; fn must be deterministic');
          }
          if (recomputed.requiresGrad) recomputed.backward(g);
          return detached.map((d) => d.grad);
        });
      } finally {
        defaultGenerator.setState(resumeState);
      }
    },
  });
  return out;
}

/** Runs a recomputation inside the state its forward ran in. */
export type CheckpointContext = <T>(recompute: () => T) => T;

const contextCaptures: (() => CheckpointContext | null)[] = [];

/**
 * Registers state beyond the default random stream that a checkpointed segment's forward depends
 * on (mixed-adapter routing and its per-adapter random streams): `capture` runs when a segment is
 * checkpointed and returns how to put that state back around the segment's recomputation, or null
 * when there is none.
 */
export function registerCheckpointContext(capture: () => CheckpointContext | null): void {
  contextCaptures.push(capture);
}
