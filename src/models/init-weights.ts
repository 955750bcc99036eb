// A model built from a config (no checkpoint) starts as HF's `_init_weights` sets it: weights of
// linear layers and embeddings from normal(0, initializer_range), biases zero, norms one/zero, plus
// each architecture's own rules (GPT-2's scaled c_proj). Building happens with init skipped (no
// torch-default draws that would be overwritten), then every parameter is drawn once from the
// native generator (normalFill_): Llama-3.2-1B's 1.2 B parameters take seconds, not minutes.
// Loading a checkpoint skips all of this (fromPretrained builds under withoutInit).
import { noGrad, normalFill_, PeftError } from '../tensor/index.js';
import { Conv1D, Embedding, LayerNorm, Linear, RMSNorm, isInitSkipped, withoutInit, type Module, type Parameter } from '../nn/index.js';

/** How one parameter starts: normal(0, std), or every value `fill`. */
export type ParamInit = { std: number } | { fill: number };

/**
 * An architecture's rule: the start of the parameter `name` of the module at `path` (`owner`), or
 * undefined for the common rule (linear and embedding weights normal(0, std), biases zero, norms 1/0).
 */
export type InitOverride = (path: string, name: string, owner: Module) => ParamInit | undefined;

/**
 * Builds a model's modules with init skipped and, unless the caller itself skipped init (a
 * checkpoint is about to be loaded), then sets every parameter by HF's rules. Used by each
 * registered class's constructor: `buildWithHfInit(this, () => { this.x = new X(...) }, std, override)`.
 */
export function buildWithHfInit(model: Module, build: () => void, std: number, override?: InitOverride): void {
  const initialise = !isInitSkipped();
  withoutInit(build);
  if (initialise) initWeights(model, std, override);
}

/** Sets every parameter of `model` as HF's `_init_weights` would (tied parameters once). */
export function initWeights(model: Module, std: number, override?: InitOverride): void {
  const done = new Set<Parameter>();
  noGrad(() => {
    for (const [path, owner] of model.namedModules()) {
      for (const [name, param] of owner.ownParameters()) {
        if (done.has(param)) continue;
        done.add(param);
        const how = override?.(path, name, owner) ?? commonRule(name, owner, std);
        if (how === undefined) {
          throw new PeftError('E_INTERNAL', `${path ? `${path}.` : ''}${name} has no _init_weights rule; add one to its architecture's init override`);
        }
        if ('std' in how) normalFill_(param, { std: how.std });
        else param.fill_(how.fill);
      }
      if (owner instanceof Embedding && owner.paddingIdx !== null) owner.weight.select(0, owner.paddingIdx).fill_(0);
    }
  });
}

function commonRule(name: string, owner: Module, std: number): ParamInit | undefined {
  if (owner instanceof Linear || owner instanceof Conv1D || owner instanceof Embedding) return name === 'bias' ? { fill: 0 } : { std };
  if (owner instanceof LayerNorm || owner instanceof RMSNorm) return { fill: name === 'bias' ? 0 : 1 };
  return undefined;
}
