// Cutting a mixed batch into its row groups and putting updates back, without batch-sized copies
// where the groups are runs of consecutive rows (concurrent training's joint batch always is).
// The general forms (indexSelect, zeros + concat + add) copy the whole batch once per group or
// per layer, and their gradients are batch-sized too; these views and the one-clone addition keep
// a layer's routing to one output-sized tensor in forward and none in backward.
import { Tensor, copyInto, noGrad, promoteTypes, record } from '../tensor/index.js';
import { cloneTensor } from '../tensor/ops/create-ops.js';
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

/** Where `delta` lands in `t` (a view, outside autograd): its rows, and for [rows, seq, ...] tensors its first positions. */
function target(t: Tensor, { start, delta }: RowUpdate): Tensor {
  const rows = t.narrow(0, start, delta.shape[0]!);
  if (delta.ndim < 3 || delta.shape[1] === t.shape[1]) return rows;
  const positions = rows.narrow(1, 0, delta.shape[1]!);
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
      const place = target(out, update);
      const sum = place.add(update.delta);
      copyInto(place, sum);
      sum.dispose();
    }
  });
  const convert = (g: Tensor, like: Tensor) => (g.dtype === like.dtype ? g : cloneTensor(g, like.dtype));
  return record(out, 'addToRows', [base, ...updates.map((u) => u.delta)], (g) => [
    base.requiresGrad ? convert(g, base) : null,
    ...updates.map((u) => (u.delta.requiresGrad ? convert(target(g, u), u.delta) : null)),
  ]);
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
  const holders: Tensor[] = [];
  for (let h: Tensor | undefined = t; h !== undefined; h = h.gradFn?.inputs.find((i) => !i.disposed && i.storage === storage)) holders.push(h);
  if (storage.refCount !== holders.length) return false;
  return holders.every((h) => !(h.gradFn?.saved ?? []).some((s) => !s.disposed && s.storage === storage));
}
