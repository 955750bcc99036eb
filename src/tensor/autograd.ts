// Reverse-mode automatic differentiation over the graph that ops record with `record()`.
import { AutogradError, DTypeError, ShapeError, formatShape } from './errors.js';
import { isGradEnabled, noGrad } from './grad-mode.js';
import { isFloating } from './dtype.js';
import { keep, tidy } from './scope.js';
import { sameShape } from './shape.js';
import { Tensor, peekNextTensorId, type GradNode } from './tensor.js';
import { add } from './ops/arith.js';
import { addInPlace } from './ops/elementwise-kernels.js';
import { cloneTensor, fullLike } from './ops/create-ops.js';

/**
 * Maps an output's gradient to one gradient per input. `gradIsOwned`: nothing but this call holds
 * `grad` (this backward made it, no view or leaf keeps it, no other input has it pending), so the
 * rule may overwrite it and hand it on instead of copying it.
 */
export type BackwardFn = (grad: Tensor, gradIsOwned: boolean) => (Tensor | null | undefined)[];

/**
 * Records that `out` was computed from `inputs`. `backward` maps out's gradient to one gradient
 * per input; it may read the tensors listed in `reads` (all of `inputs` when absent) and in `saved`
 * (and nothing else that a scope could free): their storage is marked as read by a backward, and
 * everything else may be freed before backward runs (releaseUnread). Nothing is recorded when no
 * input requires a gradient or under noGrad.
 */
export function record(out: Tensor, name: string, inputs: Tensor[], backward: BackwardFn, saved: Tensor[] = [], reads?: readonly Tensor[]): Tensor {
  if (!isGradEnabled() || !inputs.some((t) => t.requiresGrad)) return out;
  if (!isFloating(out.dtype)) return out;
  const node: GradNode = { name, inputs, saved, backward };
  for (const t of [...(reads ?? inputs), ...saved]) if (!t.disposed) t.storage.readByBackward = true;
  out.setGradFn(node);
  return out;
}

/**
 * Frees the memory of intermediates that no recorded backward reads, keeping their place in the
 * graph: what PyTorch does when the last Python reference to an activation goes, here at points a
 * model names (a layer's locals once its output exists). The memory goes with every view of it
 * (the groups' rows an adapter cut, q/k/v of a fused projection), so no view of it may be used
 * again: the caller names only its own tensors, once their consumers have run. Skipped: tensors
 * outside a graph (leaves, the caller's data, anything made under noGrad), memory a backward reads,
 * and the memory of `keep` (the layer's output, which an identity op may have passed through, and
 * its input when the list may hold the input itself).
 */
export function releaseUnread(tensors: readonly (Tensor | null | undefined)[], keep: Tensor | readonly Tensor[]): void {
  const kept = new Set((Array.isArray(keep) ? keep : [keep]).filter((k) => !k.disposed).map((k) => k.storage));
  for (const t of tensors) {
    if (!t || t.disposed || t.gradFn === null) continue;
    const storage = t.storage;
    if (!storage.readByBackward && !kept.has(storage)) storage.releaseAll();
  }
}

const consumables = new WeakSet<Tensor>();

/**
 * Hands `t` to the layer it is passed to next: the caller will not read it again, so that layer may
 * write into it (an adapter scaling some rows of its input) instead of copying it, where no backward
 * reads it (PyTorch's `inplace=True`, decided by the owner of the tensor). Returns t.
 */
export function consumable(t: Tensor): Tensor {
  consumables.add(t);
  return t;
}

/** Whether the caller handed `t` over (consumable()). */
export function isConsumable(t: Tensor): boolean {
  return consumables.has(t);
}

/** True if gradient must flow to inputs[i] of an op being recorded (skip work otherwise). */
export function needsGrad(t: Tensor): boolean {
  return t.requiresGrad && isGradEnabled();
}

export interface BackwardOptions {
  /** Keep the graph so backward can run through it again. */
  retainGraph?: boolean;
}

/** Tensors in the graph below `root`, each after everything that consumes it. */
function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>([root]);
  const stack: [Tensor, number][] = [[root, 0]];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const inputs = top[0].gradFn?.inputs ?? [];
    if (top[1] < inputs.length) {
      const next = inputs[top[1]++]!;
      if (next.requiresGrad && !visited.has(next)) {
        visited.add(next);
        stack.push([next, 0]);
      }
    } else {
      order.push(top[0]);
      stack.pop();
    }
  }
  return order.reverse();
}

/** Computes d(root)/d(leaf) for every leaf that requires grad and adds it to leaf.grad. */
export function backward(root: Tensor, grad?: Tensor, options: BackwardOptions = {}): void {
  if (!root.requiresGrad) {
    throw new AutogradError(
      'backward() on a tensor that does not require grad: no input of its computation has requiresGrad ' +
        '(or it was computed under noGrad)',
    );
  }
  if (grad === undefined) {
    if (root.size !== 1) {
      throw new AutogradError(
        `backward() without a gradient needs a scalar, but this tensor has shape ${formatShape(root.shape)}; ` +
          'reduce it first (e.g. .sum() or .mean()) or pass a gradient of that shape',
      );
    }
  } else if (!sameShape(grad.shape, root.shape)) {
    throw new ShapeError(`backward(): gradient shape ${formatShape(grad.shape)} differs from the tensor's ${formatShape(root.shape)}`);
  } else if (!isFloating(grad.dtype)) {
    throw new DTypeError(`backward(): the gradient must be floating point, not ${grad.dtype}`);
  }
  const firstNewId = peekNextTensorId();
  noGrad(() => run(root, grad ?? fullLike(root, 1), firstNewId, options.retainGraph ?? false));
}

// Tensors with ids >= firstNewId were made by this backward pass: they may be freed as soon as
// they have been consumed, unless a leaf kept one as its .grad.
function run(root: Tensor, rootGrad: Tensor, firstNewId: number, retainGraph: boolean): void {
  const order = topologicalOrder(root);
  const grads = new Map<Tensor, Tensor>([[root, rootGrad]]);
  const heldByLeaves = new Set<Tensor>();
  const disposable = (t: Tensor) => t.id >= firstNewId && !heldByLeaves.has(t);

  for (const t of order) {
    const g = grads.get(t);
    if (g === undefined) continue;
    grads.delete(t);
    const node = t.gradFn;
    if (node === null) {
      accumulateLeafGrad(t, g, firstNewId, heldByLeaves);
      continue;
    }
    if (node.backward === null) {
      throw new AutogradError(
        `backward() through '${node.name}' a second time: its graph was freed by the first backward(); ` +
          'pass { retainGraph: true } to the first call to keep it',
      );
    }
    const into = node.addInto === undefined ? undefined : grads.get(node.inputs[0]!);
    if (into !== undefined && ownedPending(into, g, grads, disposable)) {
      node.addInto!(into, g);
      if (disposable(g) && ![...grads.values()].includes(g)) g.dispose();
      if (!retainGraph) freeNode(node);
      continue;
    }
    // Inside its own scope: what the op's backward makes besides the gradients it returns (its
    // temporaries) is freed now, not when the caller's scope ends with the whole backward pass.
    const backwardOf = node.backward;
    const owned = disposable(g) && g.storage.refCount === 1 && ![...grads.values()].includes(g);
    const inputGrads = tidy(() => backwardOf(g, owned));
    for (let i = 0; i < node.inputs.length; i++) {
      const input = node.inputs[i]!;
      const gi = inputGrads[i];
      if (gi === null || gi === undefined || !input.requiresGrad) continue;
      if (!sameShape(gi.shape, input.shape)) {
        throw new AutogradError(
          `internal: '${node.name}' produced a gradient of shape ${formatShape(gi.shape)} for an input of shape ${formatShape(input.shape)}`,
        );
      }
      const previous = grads.get(input);
      if (previous === undefined) {
        grads.set(input, gi);
      } else if (ownedPending(previous, gi, grads, disposable) && !inputGrads.includes(previous)) {
        // The pending sum is this pass's own: add into it instead of into a new tensor (same values).
        addInPlace(previous, gi);
        if (disposable(gi) && gi !== g && !new Set(grads.values()).has(gi) && !inputGrads.slice(i + 1).includes(gi)) gi.dispose();
      } else {
        grads.set(input, add(previous, gi));
        // One gradient tensor may be pending for several inputs (add's backward returns g for both).
        const pending = new Set(grads.values());
        if (disposable(previous) && previous !== g && !pending.has(previous) && !inputGrads.includes(previous)) previous.dispose();
        if (disposable(gi) && gi !== g && gi !== previous && !pending.has(gi) && !inputGrads.slice(i + 1).includes(gi)) gi.dispose();
      }
    }
    if (disposable(g) && !inputGrads.includes(g) && ![...grads.values()].includes(g)) g.dispose();
    if (!retainGraph) freeNode(node);
  }
}

function freeNode(node: GradNode): void {
  node.backward = null;
  node.saved = [];
  node.inputs = [];
}

/**
 * Whether `into`, a pending gradient, may be written in place: this backward made it, no leaf
 * keeps it, it is its own memory (no other tensor views it) of g's dtype, and it is pending for
 * one input only.
 */
function ownedPending(into: Tensor, g: Tensor, grads: ReadonlyMap<Tensor, Tensor>, disposable: (t: Tensor) => boolean): boolean {
  if (!disposable(into) || into === g || into.dtype !== g.dtype || into.storage.refCount !== 1) return false;
  if (!into.isContiguous() || into.offset !== 0 || into.buffer.length !== into.size) return false;
  let pending = 0;
  for (const t of grads.values()) if (t === into) pending++;
  return pending === 1;
}

function accumulateLeafGrad(leaf: Tensor, g: Tensor, firstNewId: number, heldByLeaves: Set<Tensor>): void {
  // A gradient the leaf keeps must be its own memory, exactly its size: copy anything that may
  // alias other tensors (a slice at offset 0 of a larger gradient looks contiguous).
  const fresh = g.id >= firstNewId && !heldByLeaves.has(g) && g.isContiguous() && g.offset === 0 && g.buffer.length === g.size;
  const own = fresh && g.dtype === leaf.dtype ? g : cloneTensor(g, leaf.dtype);
  if (leaf.grad === null) {
    leaf.grad = keep(own);
    heldByLeaves.add(own);
    return;
  }
  const sum = keep(add(leaf.grad, own));
  leaf.grad.dispose();
  leaf.grad = sum;
  heldByLeaves.add(sum);
}

declare module './tensor.js' {
  interface Tensor {
    /** Backpropagates from this tensor (a scalar, or pass a gradient of its shape). */
    backward(grad?: Tensor, options?: BackwardOptions): void;
  }
}

Tensor.prototype.backward = function (this: Tensor, grad?: Tensor, options?: BackwardOptions) {
  backward(this, grad, options);
};
