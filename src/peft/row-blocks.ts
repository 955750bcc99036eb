// Cutting a mixed batch into its row groups and putting updates back, without batch-sized copies
// where the groups are runs of consecutive rows (concurrent training's joint batch always is).
// The general forms (indexSelect, zeros + concat + add) copy the whole batch once per group or
// per layer, and their gradients are batch-sized too; these views and the one-clone addition keep
// a layer's routing to one output-sized tensor in forward and none in backward.
import { Tensor, copyInto, noGrad, promoteTypes, record } from '../tensor/index.js';
import { cloneTensor } from '../tensor/ops/create-ops.js';
import { addInPlace } from '../tensor/ops/elementwise-kernels.js';
import type { RowGroup, RowRouting } from './mixed-batch.js';

/** The group's rows of `t` along dim 0: a view when the groups are in batch order, else a gathered copy. */
export function groupRows(t: Tensor, routing: RowRouting, group: RowGroup): Tensor {
  return routing.inOrder ? t.narrow(0, group.start, group.rows.size) : t.indexSelect(0, group.rows);
}

/** An update for rows [start, start + delta.shape[0]) of a batch, covering its first delta.shape[1] positions. */
export interface RowUpdate {
  start: number;
  delta: Tensor;
}

/** g in like's dtype (a gradient for an input of another dtype). */
function asDTypeOf(g: Tensor, like: Tensor): Tensor {
  return g.dtype === like.dtype ? g : cloneTensor(g, like.dtype);
}

/** Where `piece` (starting at row `start`) lands in `t` (a view, outside autograd): its rows, and for [rows, seq, ...] tensors its first positions. */
function target(t: Tensor, start: number, piece: Tensor): Tensor {
  const rows = t.narrow(0, start, piece.shape[0]!);
  if (piece.ndim < 3 || piece.shape[1] === t.shape[1]) return rows;
  const positions = rows.narrow(1, 0, piece.shape[1]!);
  // The intermediate view would hold t's memory until the step's scope ends (t may be a gradient freed sooner).
  rows.dispose();
  return positions;
}

/**
 * `base` with each update added onto its rows (and positions): out = base + delta there, base
 * elsewhere, element by element what base.add(zero-padded deltas joined) gives, with at most one
 * copy of base (none when base is a layer output nothing else reads). The gradient of base is the output's own; each update's is a view of it.
 */
export function addToRows(base: Tensor, updates: readonly RowUpdate[]): Tensor {
  const dtype = updates.reduce((d, u) => promoteTypes(d, u.delta.dtype), base.dtype);
  // Into base's own memory (a view of it outside the graph) when nothing else reads it, else a copy.
  const out = dtype === base.dtype && nobodyElseReads(base) ? base.detach() : cloneTensor(base, dtype);
  noGrad(() => {
    for (const update of updates) {
      const place = target(out, update.start, update.delta);
      addInPlace(place, update.delta);
      place.dispose(); // a view holding out's memory would keep a later in-place writer from taking it
    }
  });
  return record(out, 'addToRows', [base, ...updates.map((u) => u.delta)], (g) => [
    base.requiresGrad ? asDTypeOf(g, base) : null,
    ...updates.map((u) => (u.delta.requiresGrad ? asDTypeOf(target(g, u.start, u.delta), u.delta) : null)),
  ], [], []);
}

/** Rows [start, start + value.shape[0]) of a batch, and their first value.shape[1] positions, replaced by `value`. */
export interface RowReplacement {
  start: number;
  value: Tensor;
}

/**
 * `base` with each replacement's rows (and positions) holding its value: element by element what
 * joining the groups' outputs (each padded back to base's positions with base's values) gives, in one
 * tensor: a copy of base (none when nothing else reads base) with the values copied in. A value that
 * nothing else reads (an adapter's output, consumed here) is freed once copied, so a layer keeps one
 * output-sized tensor, not the groups' outputs, their padded copies and the join. `inPlace: false`
 * always copies base (its values are read again later). Gradients: each
 * value's is a view of the output's; base's is the output's with the replaced places zeroed (a copy).
 */
export function replaceRows(base: Tensor, replacements: readonly RowReplacement[], { inPlace = true } = {}): Tensor {
  const dtype = replacements.reduce((d, r) => promoteTypes(d, r.value.dtype), base.dtype);
  const out = inPlace && dtype === base.dtype && nobodyElseReads(base) ? base.detach() : cloneTensor(base, dtype);
  noGrad(() => {
    for (const { start, value } of replacements) copyInto(target(out, start, value), value).dispose();
  });
  for (const { value } of replacements) if (nobodyElseReads(value)) value.releaseValues();
  return record(out, 'replaceRows', [base, ...replacements.map((r) => r.value)], (g, gIsOwned) => {
    // An owned g becomes base's gradient in place: the values' rows are copied out first.
    const inPlace = gIsOwned && g.dtype === base.dtype && base.requiresGrad;
    const valueGrads = replacements.map(({ start, value }) => {
      if (!value.requiresGrad) return null;
      return inPlace ? cloneTensor(target(g, start, value), value.dtype) : asDTypeOf(target(g, start, value), value);
    });
    let gBase: Tensor | null = null;
    if (base.requiresGrad) {
      gBase = inPlace ? g : cloneTensor(g, base.dtype);
      noGrad(() => {
        for (const { start, value } of replacements) target(gBase!, start, value).fill_(0).dispose();
      });
    }
    return [gBase, ...valueGrads];
  }, [], []);
}

/**
 * True when the values of `t` (an op's output, a whole contiguous buffer) are read by nothing but
 * its future consumers: every tensor holding its memory is `t` or a view `t` was made from, and none of
 * their graph nodes saved that memory for backward (a layer's output: linear saves its input and
 * weight, not its output). Then the update can go into that memory instead of a copy of it.
 */
function nobodyElseReads(t: Tensor): boolean {
  // A leaf (a parameter, the caller's data) is never written.
  if (t.gradFn === null || t.disposed || !t.isContiguous() || t.offset !== 0 || t.buffer.length !== t.size) return false;
  const storage = t.storage;
  if (storage.readByBackward) return false;
  const holders: Tensor[] = [];
  for (let h: Tensor | undefined = t; h !== undefined; h = h.gradFn?.inputs.find((i) => !i.disposed && i.storage === storage)) holders.push(h);
  if (storage.refCount !== holders.length) return false;
  return holders.every((h) => !(h.gradFn?.saved ?? []).some((s) => !s.disposed && s.storage === storage));
}
