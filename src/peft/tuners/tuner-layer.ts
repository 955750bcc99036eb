// The base of every layer an adapter method wraps: it holds the original layer as `base_layer`
// (HF PEFT's name, so parameter paths match), one set of weights per adapter, which adapters
// are active, which are merged into the base weights, and mixed-adapter batches.
import { Tensor, concat, indexAdd_, isConsumable, isGradEnabled, noGrad, releaseUnread, zeros, ValueError } from '../../tensor/index.js';
import { Conv1D, Linear, Module, type Parameter } from '../../nn/index.js';
import { isQuantizedLinear, type RequantizationError } from '../../quant/linear.js';
import { currentRouting, withAdapterRandom, type RowGroup, type RowRouting } from '../mixed-batch.js';
import { AdapterNameError } from '../errors.js';
import { addToRows, groupRows, replaceRows } from '../row-blocks.js';

/** A layer that computes y = f(x) and has a weight (Linear, GPT-2's Conv1D, ...). */
export type BaseLayer = Module & { weight: Parameter; bias: Parameter | null; forward(x: Tensor): Tensor };

export abstract class TunerLayer extends Module {
  /** Adapters whose weights take part in forward (in order). */
  activeAdapters: string[] = [];
  /** Adapters whose weights are currently folded into base_layer's weight. */
  mergedAdapters: string[] = [];
  /** While true, forward is the base layer's (see PeftModel.disableAdapter). */
  adaptersDisabled = false;

  constructor(public base_layer: BaseLayer) {
    super();
  }

  /** Names of the adapters this layer has weights for. */
  abstract adapterNames(): string[];

  /** Removes the adapter's weights (and disposes them). */
  protected abstract removeAdapterWeights(name: string): void;

  /**
   * The output with adapter `name` applied, given the input `x` and `result`, the layer's output
   * so far (the base layer's, plus earlier active adapters). Default: unchanged.
   */
  protected applyAdapter(_x: Tensor, result: Tensor, _name: string): Tensor {
    return result;
  }

  /**
   * For methods that act on the base layer's input (OFT's rotation, IA3's feed-forward scaling):
   * the input the base layer sees with adapter `name`. Default: unchanged.
   */
  protected adaptInput(x: Tensor, _name: string): Tensor {
    return x;
  }

  /**
   * True when adaptInput changes the input, so the base layer must run on each adapter's own input.
   * Such a method leaves the output as the base layer gives it (applyAdapter's default).
   */
  protected get transformsInput(): boolean {
    return false;
  }

  /** Folds the adapter into `weight` (base_layer's weight, in its own layout); returns the new weight. */
  protected abstract mergedWeight(weight: Tensor, name: string): Tensor;

  /** Takes the adapter back out of a weight `mergedWeight` made. */
  protected abstract unmergedWeight(weight: Tensor, name: string): Tensor;

  /** True when base_layer stores its weight [in, out] (GPT-2's Conv1D) instead of [out, in]. */
  get weightIsTransposed(): boolean {
    return this.base_layer instanceof Conv1D;
  }

  get inFeatures(): number {
    return (this.base_layer as Linear | Conv1D).inFeatures;
  }

  get outFeatures(): number {
    return (this.base_layer as Linear | Conv1D).outFeatures;
  }

  get merged(): boolean {
    return this.mergedAdapters.length > 0;
  }

  hasAdapter(name: string): boolean {
    return this.adapterNames().includes(name);
  }

  forward(x: Tensor): Tensor {
    if (this.adaptersDisabled) {
      if (this.merged) this.unmerge();
      return this.baseForward(x);
    }
    const routing = currentRouting();
    if (routing !== null) return this.mixedForward(x, routing);
    if (this.merged) return this.baseForward(x);
    return this.adaptedForward(x, this.activeAdapters.filter((name) => this.hasAdapter(name)));
  }

  /**
   * What the adapters are applied to: the base layer's output for `x`. A layer overriding it must
   * return a tensor it owns when it also has output deltas (mixed inference adds into it in place).
   */
  protected baseForward(x: Tensor): Tensor {
    return this.base_layer.forward(x);
  }

  /** The base layer with `names` applied: their input transforms, then their output updates. */
  private adaptedForward(x: Tensor, names: readonly string[]): Tensor {
    // What the chain makes on the way (a scaled input, the base output under an added update) is
    // freed at the end unless a backward reads it.
    const made: Tensor[] = [];
    let input = x;
    for (const name of names) made.push((input = this.adaptInput(input, name)));
    let out = this.baseForward(input);
    for (const name of names) {
      made.push(out);
      out = this.applyAdapter(x, out, name);
    }
    releaseUnread(made, [out, x]);
    return out;
  }

  /**
   * One pass over the whole batch through the base layer, then each row group through its
   * adapter; the groups' outputs are joined and put back in batch order (no reordering when the
   * groups are in batch order, as in concurrent training). Methods that transform the input (IA3's
   * feed-forward scaling, OFT) give the base pass their rows' transformed input, so the base still
   * runs once. Each group draws random numbers from its adapter's stream when the routing has one
   * (concurrent training).
   */
  private mixedForward(x: Tensor, routing: RowRouting): Tensor {
    const { groups } = routing;
    if (this.merged) {
      throw new ValueError('a mixed-adapter batch cannot run while adapters are merged; call unmergeAdapter() first');
    }
    // Inference's in-place shortcut; not for a training forward run without gradients (a
    // checkpointed layer), which must draw and cut as its recomputation in backward will.
    const inference = !isGradEnabled() && routing.generators === undefined && groups.every((g) => g.length === undefined);
    if (inference && !this.transformsInput && groups.every(({ adapter }) => adapter === null || !this.hasAdapter(adapter) || this.addsToBaseOutput(adapter))) {
      return this.mixedDeltaForward(x, groups);
    }
    if (this.transformsInput) {
      // The groups' transformed rows go into x when its owner handed it over (consumable), else into
      // a copy of it, freed once the base has read it.
      const input = this.joinGroups(x, routing, (_group, name, ownRows) => this.adaptInput(ownRows, name), { inPlace: isConsumable(x) });
      const out = this.baseForward(input);
      releaseUnread([input], [out, x]);
      return out;
    }
    if (groups.every(({ adapter }) => this.ownAdapter(adapter) === null || this.hasOutputDelta(adapter!))) return this.mixedSumForward(x, routing);
    const base = this.baseForward(x);
    return this.joinGroups(base, routing, (group, name, ownRows) => {
      const xRows = ownPositions(groupRows(x, routing, group), group);
      return this.applyAdapter(xRows, ownRows, name);
    });
  }

  /** A row group's adapter when this layer has it, else null (its rows pass through). */
  private ownAdapter(adapter: string | null): string | null {
    return adapter !== null && this.hasAdapter(adapter) ? adapter : null;
  }

  /**
   * `t` with each adapter group's rows (its own positions) replaced by what `compute` makes of them,
   * or `t` itself where every group's result is its own rows (IA3's feed-forward scaling transforms
   * only the input). In batch order (concurrent training) the results are copied into one tensor
   * (replaceRows); otherwise every group's rows are joined and put back in batch order.
   */
  private joinGroups(
    t: Tensor,
    routing: RowRouting,
    compute: (group: RowGroup, name: string, ownRows: Tensor) => Tensor,
    { inPlace = true } = {},
  ): Tensor {
    const replacements: { group: RowGroup; value: Tensor }[] = [];
    for (const group of routing.groups) {
      const name = this.ownAdapter(group.adapter);
      if (name === null) continue;
      const ownRows = routing.inOrder ? rowsCopy(t, routing, group) : ownPositions(groupRows(t, routing, group), group);
      const value = withAdapterRandom(routing, name, () => compute(group, name, ownRows));
      if (value !== ownRows) replacements.push({ group, value });
    }
    if (replacements.length === 0 && routing.inOrder) return t;
    if (routing.inOrder) return replaceRows(t, replacements.map(({ group, value }) => ({ start: group.start, value })), { inPlace });
    const joined = routing.groups.map((group) => {
      const rows = groupRows(t, routing, group);
      const value = replacements.find((r) => r.group === group)?.value;
      return value === undefined ? rows : padLike(value, rows);
    });
    return concat(joined, 0).indexSelect(0, routing.restore);
  }

  /**
   * Training with additive adapters: the base output plus the groups' updates on their rows. The
   * base output is never cut into groups, so its gradient is one tensor, not one batch-sized
   * tensor per group; each row's sum is the one applyAdapter makes alone.
   */
  private mixedSumForward(x: Tensor, routing: RowRouting): Tensor {
    const base = this.baseForward(x);
    const updated = routing.groups.filter((group) => this.ownAdapter(group.adapter) !== null);
    if (updated.length === 0) return base;
    const delta = (group: RowGroup) =>
      withAdapterRandom(routing, group.adapter, () => this.outputDelta(ownPositions(groupRows(x, routing, group), group), group.adapter!)!);
    if (routing.inOrder) {
      const updates = updated.map((group) => ({ start: group.start, delta: delta(group) }));
      const out = addToRows(base, updates);
      releaseUnread(updates.map((u) => u.delta), [out, x]);
      return out;
    }
    // Rows out of batch order (mixed-adapter batches): zero updates for rows without one, joined and reordered.
    const deltas = routing.groups.map((group) => (this.ownAdapter(group.adapter) === null ? null : padZeros(delta(group), base.shape[1]!)));
    const like = deltas.find((d) => d !== null)!;
    const joined = concat(deltas.map((d, i) => d ?? zeros([routing.groups[i]!.rows.size, ...like.shape.slice(1)], like.dtype)), 0);
    return base.add(joined.indexSelect(0, routing.restore));
  }

  /**
   * Inference with additive adapters: each group's update is added in place into the base
   * output's rows, so nothing of output size is copied beyond the updates themselves.
   */
  private mixedDeltaForward(x: Tensor, groups: RowRouting['groups']): Tensor {
    const out = this.baseForward(x).contiguous();
    for (const { adapter, rows } of this.addGroupedDeltas_(out, x, groups)) {
      if (adapter === null || !this.hasAdapter(adapter)) continue;
      indexAdd_(out, 0, rows, this.outputDelta(x.indexSelect(0, rows), adapter)!);
    }
    return out;
  }

  /**
   * Inference: whether adapter `name` only adds an update to its rows of the base output, which
   * addGroupedDeltas_ or else outputDelta computes (DoRA's update reads those rows too).
   */
  protected addsToBaseOutput(name: string): boolean {
    return this.hasOutputDelta(name);
  }

  /**
   * Inference with additive adapters: adds into `out` (the base output) the updates of the groups
   * it can take, LoRA's in one grouped kernel call (SGMV); returns the groups left for outputDelta.
   */
  protected addGroupedDeltas_(_out: Tensor, _x: Tensor, groups: readonly RowGroup[]): readonly RowGroup[] {
    return groups;
  }

  /** Whether outputDelta gives adapter `name`'s effect (an update added to the base output). */
  protected hasOutputDelta(_name: string): boolean {
    return false;
  }

  /** What adapter `name` adds to the base output for input `x`, for methods where that is all it does. */
  protected outputDelta(_x: Tensor, _name: string): Tensor | null {
    return null;
  }

  /** Makes `names` the active adapters of this layer (those it lacks are skipped in forward). */
  setActiveAdapters(names: readonly string[]): void {
    this.activeAdapters = [...names];
  }

  /** Adapters of `names` this layer has and has not merged yet. */
  private unmergedOf(names: readonly string[]): string[] {
    return names.filter((name) => this.hasAdapter(name) && !this.mergedAdapters.includes(name));
  }

  /**
   * The base layer's weight in its own layout as floating point: the weight itself, or for a
   * quantised base (QLoRA) its dequantised values, a new tensor (see releaseBaseWeight).
   */
  protected baseWeight(): Tensor {
    const base = this.base_layer;
    return isQuantizedLinear(base) ? noGrad(() => base.dequantizedWeight()) : base.weight;
  }

  /** Frees what baseWeight() made (nothing for a full-precision base). */
  private releaseBaseWeight(w: Tensor): void {
    if (w !== this.base_layer.weight) w.dispose();
  }

  /**
   * Stores `w` as the base weight: copied into it, or for a quantised base quantised again
   * (HF PEFT's bnb layers dequantise, merge and quantise), which loses precision: the error is
   * recorded in `requantizationErrors` for the model to report.
   */
  private writeBaseWeight(w: Tensor): void {
    const base = this.base_layer;
    if (isQuantizedLinear(base)) this.requantizationErrors.push(base.requantize(w));
    else base.weight.copy_(w);
  }

  /** What each re-quantisation of a quantised base weight lost since the owner last read them. */
  requantizationErrors: RequantizationError[] = [];

  /** Throws if merging any of `names` would write NaN or Inf into the base weight (nothing is written). */
  checkMergeIsFinite(names: readonly string[], path: string): void {
    for (const name of this.unmergedOf(names)) {
      const finite = noGrad(() => {
        const weight = this.baseWeight();
        const merged = this.mergedWeight(weight, name);
        const ok = allFinite(merged);
        merged.dispose();
        this.releaseBaseWeight(weight);
        return ok;
      });
      if (!finite) {
        throw new ValueError(`safe merge of adapter '${name}' refused: the merged weight of '${path}' would hold NaN or Inf; the base weights are unchanged`);
      }
    }
  }

  /** Folds the given adapters (default: the active ones) into the base weight. */
  merge(adapterNames: readonly string[] = this.activeAdapters): void {
    for (const name of this.unmergedOf(adapterNames)) {
      noGrad(() => {
        const weight = this.baseWeight();
        const merged = this.mergedWeight(weight, name);
        this.writeBaseWeight(merged);
        merged.dispose();
        this.releaseBaseWeight(weight);
        this.mergeExtras(name, 1);
      });
      this.mergedAdapters.push(name);
    }
  }

  /** Takes every merged adapter back out of the base weight (last merged first). */
  unmerge(): void {
    while (this.mergedAdapters.length > 0) {
      const name = this.mergedAdapters.pop()!;
      noGrad(() => {
        const weight = this.baseWeight();
        const unmerged = this.unmergedWeight(weight, name);
        this.writeBaseWeight(unmerged);
        unmerged.dispose();
        this.releaseBaseWeight(weight);
        this.mergeExtras(name, -1);
      });
    }
  }

  /** Merges what is not part of the weight (a bias the adapter trains); `sign` -1 undoes it. */
  protected mergeExtras(_name: string, _sign: 1 | -1): void {}

  deleteAdapter(name: string): void {
    if (!this.hasAdapter(name)) throw new AdapterNameError(`this layer has no adapter '${name}'`);
    if (this.mergedAdapters.includes(name)) this.unmerge();
    this.removeAdapterWeights(name);
    this.activeAdapters = this.activeAdapters.filter((n) => n !== name);
  }

  /** The adapter's own parameters (for trainability). */
  adapterParameters(name: string): Parameter[] {
    return this.namedParameters().filter(([path]) => path.split('.').includes(name) && !path.startsWith('base_layer.')).map(([, p]) => p);
  }

  override extraRepr(): string {
    return `adapters=${this.adapterNames().join(',')}`;
  }
}

/**
 * A copy of a group's own rows of `t` (batch order): what the group's adapter reads then is its own
 * group-sized copy, not `t`, so that no backward keeps `t` (a layer's whole batch) alive, and `t`
 * may take the groups' results in place (replaceRows).
 */
function rowsCopy(t: Tensor, routing: RowRouting, group: RowGroup): Tensor {
  const rows = groupRows(t, routing, group);
  const own = ownPositions(rows, group);
  const copy = own.clone();
  own.releaseValues();
  rows.releaseValues();
  return copy;
}

/** A group's rows [rows, seq, ...] cut to the group's own positions (RowGroup.length), when the batch pads them further. */
function ownPositions(t: Tensor, { length }: RowGroup): Tensor {
  return length !== undefined && t.ndim >= 3 && t.shape[1]! > length ? t.narrow(1, 0, length) : t;
}

/** `t` given back the positions ownPositions cut from `full` (their values: full's, padding no output reads). */
function padLike(t: Tensor, full: Tensor): Tensor {
  const cut = t.ndim >= 3 ? t.shape[1]! : full.shape[1]!;
  return cut === full.shape[1] ? t : concat([t, full.narrow(1, cut, full.shape[1]! - cut)], 1);
}

/** `t` [rows, seq, ...] with zero positions appended up to `length` (an update for positions ownPositions cut). */
function padZeros(t: Tensor, length: number): Tensor {
  if (t.ndim < 3 || t.shape[1] === length) return t;
  const shape = [...t.shape];
  shape[1] = length - t.shape[1]!;
  return concat([t, zeros(shape, t.dtype)], 1);
}

/** True when every value of `t` is finite (no NaN, no ±Inf). */
export function allFinite(t: Tensor): boolean {
  return noGrad(() => {
    // x - x is 0 for every finite x and NaN for NaN and ±Inf.
    const zero = t.sub(t);
    const ok = Number(zero.eq(0).all().item()) === 1;
    zero.dispose();
    return ok;
  });
}
