// The key/value cache of autoregressive decoding: per layer, the keys and values of every
// position seen so far, [batch, kvHeads, positions, headDim]. Prefix tuning seeds it too.
//
// Decoding keeps each layer's keys and values in buffers with room for more positions
// ([batch, kvHeads, capacity, headDim], capacity doubling when full) and writes every step's
// positions in place, so a step costs what it adds, not a copy of the whole cache. It hands out
// views of the filled positions: each head's rows are contiguous, the heads `capacity` rows apart
// (attention reads such views in place). Keys or values that carry gradients (prefix tuning's
// trainable prefixes) are joined by concat instead, which keeps them on the autograd tape.
import { Tensor, ShapeError, concat, copyInto, formatShape, keep, noGrad, scaledDotProductAttention, type AttentionOptions } from '../tensor/index.js';

/** One layer's keys and values: positions [0, length) of the storage tensors are filled. */
interface LayerEntry {
  /** [batch, kvHeads, capacity, headDim]: a growable buffer, or (on the tape) exactly the cached keys. */
  keys: Tensor;
  values: Tensor;
  length: number;
  /** What get() and update() return: the filled positions (the storage itself when it is full). */
  view: [Tensor, Tensor];
}

export class KVCache {
  private readonly layers: (LayerEntry | undefined)[] = [];

  /**
   * A `scoped` cache lives for one forward (prefix tuning's prefixes in training): its tensors stay
   * in the enclosing tidy() scope, which frees them with the step's other intermediates. Otherwise
   * (generation) they are kept across steps until dispose().
   */
  constructor(private readonly options: { scoped?: boolean } = {}) {}

  /** Appends this step's k and v for `layer`; returns all keys and values of the layer. */
  update(layer: number, k: Tensor, v: Tensor): [Tensor, Tensor] {
    const entry = this.layers[layer];
    const onTape = [k, v, entry?.keys, entry?.values].some((t) => t?.requiresGrad === true);
    const next = this.options.scoped || onTape ? this.joined(entry, k, v) : this.appended(entry, k, v);
    this.layers[layer] = next;
    return next.view;
  }

  /**
   * Attention of q over the layer's keys and values once k and v are appended: what a model's
   * attention calls. A cache that can read its storage in place (the serve engine's paged pool)
   * overrides it; this one hands update()'s keys to scaledDotProductAttention.
   */
  attend(layer: number, q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions): Tensor {
    const [keys, values] = this.update(layer, k, v);
    return scaledDotProductAttention(q, keys, values, options);
  }

  /** Keys and values stored for `layer` (null before the first update). */
  get(layer: number): [Tensor, Tensor] | null {
    return this.layers[layer]?.view ?? null;
  }

  /** Positions cached so far (0 when empty). */
  get length(): number {
    return this.layers[0]?.length ?? 0;
  }

  /** Keeps only the batch rows in `rows` (e.g. sequences still generating). */
  selectRows(rows: Tensor): void {
    this.layers.forEach((entry, i) => {
      if (!entry) return;
      const keys = keep(entry.keys.indexSelect(0, rows));
      const values = keep(entry.values.indexSelect(0, rows));
      this.release(entry);
      this.layers[i] = this.entry(keys, values, entry.length);
    });
  }

  dispose(): void {
    for (const entry of this.layers) if (entry) this.release(entry);
    this.layers.length = 0;
  }

  /** The previous keys and values followed by k and v, as new tensors (autograd records the join). */
  private joined(entry: LayerEntry | undefined, k: Tensor, v: Tensor): LayerEntry {
    const hold = (t: Tensor) => (this.options.scoped ? t : keep(t));
    const keys = hold(entry ? concat([entry.view[0], k], 2) : k.contiguous());
    const values = hold(entry ? concat([entry.view[1], v], 2) : v.contiguous());
    if (entry && !this.options.scoped) {
      // Keys/values on the autograd tape (prefix tuning's trainable prefixes) stay alive for backward.
      this.disposeViews(entry);
      if (!entry.keys.requiresGrad) entry.keys.dispose();
      if (!entry.values.requiresGrad) entry.values.dispose();
    }
    return this.entry(keys, values, keys.shape[2]!);
  }

  /**
   * k and v written after the filled positions, into larger buffers when they do not fit. On error
   * the layer keeps what it had.
   */
  private appended(entry: LayerEntry | undefined, k: Tensor, v: Tensor): LayerEntry {
    checkFits(entry, k, v);
    const start = entry?.length ?? 0;
    const length = start + k.shape[2]!;
    const grow = !entry || length > entry.keys.shape[2]!;
    // Doubling keeps the copies of a long generation to about one cache's worth in total.
    const capacity = Math.max(length, 2 * (entry?.keys.shape[2] ?? 0));
    const keys = grow ? buffer(k, capacity) : entry.keys;
    const values = grow ? buffer(v, capacity) : entry.values;
    try {
      if (grow && entry) {
        fill(keys, 0, entry.view[0]);
        fill(values, 0, entry.view[1]);
      }
      fill(keys, start, k);
      fill(values, start, v);
    } catch (error) {
      if (grow) [keys, values].forEach((t) => t.dispose());
      throw error;
    }
    if (entry && grow) this.release(entry);
    else if (entry) this.disposeViews(entry);
    return this.entry(keys, values, length);
  }

  private entry(keys: Tensor, values: Tensor, length: number): LayerEntry {
    return { keys, values, length, view: filledView(keys, values, length) };
  }

  private disposeViews(entry: LayerEntry): void {
    for (const t of entry.view) if (t !== entry.keys && t !== entry.values) t.dispose();
  }

  private release(entry: LayerEntry): void {
    this.disposeViews(entry);
    entry.keys.dispose();
    entry.values.dispose();
  }
}

/** Positions [0, length) of the storage (the storage itself when full), kept. */
function filledView(keys: Tensor, values: Tensor, length: number): [Tensor, Tensor] {
  if (length === keys.shape[2]) return [keys, values];
  return [keep(keys.narrow(2, 0, length)), keep(values.narrow(2, 0, length))];
}

/** An uninitialised [batch, kvHeads, capacity, headDim] buffer for tensors like `like`, kept. */
function buffer(like: Tensor, capacity: number): Tensor {
  const [batch, heads, , dim] = like.shape as [number, number, number, number];
  return keep(Tensor.empty([batch, heads, capacity, dim], like.dtype));
}

/** Copies `src` into positions [start, start + src positions) of `buffer`. */
function fill(buffer: Tensor, start: number, src: Tensor): void {
  noGrad(() => copyInto(buffer.narrow(2, start, src.shape[2]!), src).dispose());
}

/** k and v [batch, kvHeads, new positions, headDim] must have as many positions and extend what is stored. */
function checkFits(entry: LayerEntry | undefined, k: Tensor, v: Tensor): void {
  const fits = (t: Tensor, stored: Tensor | undefined) =>
    t.ndim === 4 && (!stored || [0, 1, 3].every((d) => t.shape[d] === stored.shape[d]));
  if (!fits(k, entry?.keys) || !fits(v, entry?.values) || k.shape[2] !== v.shape[2]) {
    const cached = entry ? ` do not extend the cached keys ${formatShape(entry.view[0].shape)}` : ' do not fit each other';
    throw new ShapeError(
      `KVCache.update: keys ${formatShape(k.shape)} and values ${formatShape(v.shape)}${cached}: both must be ` +
        '[batch, heads, new positions, headDim] with the cached batch, heads and headDim (selectRows or dispose to change the batch)',
    );
  }
}
