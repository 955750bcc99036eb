// The key/value cache of autoregressive decoding: per layer, the keys and values of every
// position seen so far, [batch, kvHeads, positions, headDim]. Prefix tuning seeds it too.
import { Tensor, concat, keep } from '../tensor/index.js';

export class KVCache {
  private readonly keys: (Tensor | null)[] = [];
  private readonly values: (Tensor | null)[] = [];

  /**
   * A `scoped` cache lives for one forward (prefix tuning's prefixes in training): its tensors stay
   * in the enclosing tidy() scope, which frees them with the step's other intermediates. Otherwise
   * (generation) they are kept across steps until dispose().
   */
  constructor(private readonly options: { scoped?: boolean } = {}) {}

  /** Appends this step's k and v for `layer`; returns all keys and values of the layer. */
  update(layer: number, k: Tensor, v: Tensor): [Tensor, Tensor] {
    const pk = this.keys[layer] ?? null;
    const pv = this.values[layer] ?? null;
    const hold = (t: Tensor) => (this.options.scoped ? t : keep(t));
    const keys = hold(pk ? concat([pk, k], 2) : k.contiguous());
    const values = hold(pv ? concat([pv, v], 2) : v.contiguous());
    // Keys/values on the autograd tape (prefix tuning's trainable prefixes) stay alive for backward.
    if (!this.options.scoped && pk && !pk.requiresGrad) pk.dispose();
    if (!this.options.scoped && pv && !pv.requiresGrad) pv.dispose();
    this.keys[layer] = keys;
    this.values[layer] = values;
    return [keys, values];
  }

  /** Keys and values stored for `layer` (null before the first update). */
  get(layer: number): [Tensor, Tensor] | null {
    const k = this.keys[layer];
    const v = this.values[layer];
    return k && v ? [k, v] : null;
  }

  /** Positions cached so far (0 when empty). */
  get length(): number {
    return this.keys[0]?.shape[2] ?? 0;
  }

  /** Keeps only the batch rows in `rows` (e.g. sequences still generating). */
  selectRows(rows: Tensor): void {
    for (const list of [this.keys, this.values]) {
      list.forEach((t, i) => {
        if (!t) return;
        list[i] = keep(t.indexSelect(0, rows));
        t.dispose();
      });
    }
  }

  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t?.dispose();
    this.keys.length = 0;
    this.values.length = 0;
  }
}
