// Grouped LoRA for mixed batches at inference (Punica's SGMV): every row group whose adapter is a
// plain LoRA or rsLoRA update goes through one native call per layer (native/src/lora/sgmv.h), at
// its own rank, instead of an indexSelect, two GEMMs, a scale and an indexAdd per group. The kernel
// runs the same GEMMs on the same rows, so the result is bit-equal to the per-group path.
import { backendInfo, native, type Tensor } from '../../../tensor/index.js';
import { elements } from '../../../tensor/ops/row-kernels.js';
import type { RowGroup } from '../../mixed-batch.js';
import type { LoraLinear } from './layer.js';

type Weights = Float32Array | Uint16Array;

/** Whether group `g`'s adapter on `layer` is a plain scaled B·A update the kernel computes as the per-group path does. */
function groupable(layer: LoraLinear, g: RowGroup): boolean {
  const name = g.adapter;
  if (name === null || !layer.hasAdapter(name) || layer.usesDora(name) || g.length !== undefined) return false;
  const dropout = layer.lora_dropout.get(name)!;
  const [a, b] = [layer.lora_A.get(name)!, layer.lora_B.get(name)!];
  const stored = (w: Tensor) => (w.dtype === 'float32' || w.dtype === 'bfloat16') && w.isContiguous();
  return (dropout.p === 0 || !dropout.training) && b.bias === null && stored(a.weight) && stored(b.weight);
}

/**
 * Adds the updates of the groups the kernel can take into `out` ([batch, ..., outFeatures] float32,
 * contiguous) in one native call; returns the groups left for the per-group path.
 */
export function addLoraGroups_(layer: LoraLinear, out: Tensor, x: Tensor, groups: readonly RowGroup[]): readonly RowGroup[] {
  const sgmv = native.sgmvLora;
  if (sgmv === undefined || backendInfo().name !== 'native' || out.dtype !== 'float32' || !out.isContiguous()) return groups;
  const taken = groups.filter((g) => groupable(layer, g));
  if (taken.length === 0) return groups;
  const batch = x.shape[0]!;
  const { inFeatures, outFeatures } = layer;
  const x32 = x.dtype === 'float32' && x.isContiguous() ? x : x.to('float32').contiguous();
  const rows = new Int32Array(taken.reduce((n, g) => n + g.rows.size, 0));
  const starts = new Int32Array(taken.length + 1);
  taken.forEach((g, i) => {
    rows.set(elements<Int32Array>(g.rows), starts[i]!);
    starts[i + 1] = starts[i]! + g.rows.size;
  });
  const names = taken.map((g) => g.adapter!);
  sgmv(
    elements<Float32Array>(x32), elements<Float32Array>(out), batch, x32.size / (batch * inFeatures), inFeatures, outFeatures, rows, starts,
    Int32Array.from(names, (n) => layer.ranks.get(n)!), Float32Array.from(names, (n) => layer.scaling.get(n)!),
    names.map((n) => elements<Weights>(layer.lora_A.get(n)!.weight)), names.map((n) => elements<Weights>(layer.lora_B.get(n)!.weight)),
  );
  if (x32 !== x) x32.dispose();
  return groups.filter((g) => !taken.includes(g));
}
