// One forward for the batches of several adapters (concurrent training): the rows of every batch
// go through the frozen base together, each through its own adapter (mixed-batch routing), and
// each batch gets back its own logits and its own loss, normalised by its own tokens.
//
// Rows of different lengths (prompt tuning's virtual tokens, batches padded to other lengths) are
// padded on the right to the longest and the padding masked out; a causal LM's positions before
// the padding never see it, so each row's logits are the ones its batch alone would give, and the
// loss reads only the batch's own positions. The base's GEMMs run over all rows at once; rows are
// independent in every op, so the only differences from a batch alone come from kernels whose
// summation order depends on the number of rows.
import { Tensor, concat, full, ones, ValueError } from '../../tensor/index.js';
import type { Generator } from '../../tensor/index.js';
import type { ModelInputs, ModelOutput } from '../../models/index.js';
import { causalLMLoss } from '../../models/loss.js';
import { currentRouting, withAdapterNames, withAdapterRandom } from '../mixed-batch.js';
import { wordEmbeddings } from '../prompt/model-checks.js';
import { prependColumns, promptEmbeddings } from '../prompt/forward.js';
import type { PromptEncoderModule } from '../prompt/method.js';
import type { ResolvedPromptConfig } from '../prompt/config.js';
import type { MultiAdapterModel } from './model.js';

/** A batch for one adapter: inputIds [rows, seq], optional attentionMask and labels. */
export interface AdapterBatch {
  adapter: string;
  batch: ModelInputs;
}

/** One batch's place in the joint batch. */
interface Part {
  adapter: string;
  ids: Tensor;
  mask: Tensor | undefined;
  labels: Tensor | undefined;
  encoder: PromptEncoderModule | null;
  /** Virtual tokens in front of the row (prompt tuning), else 0. */
  virtual: number;
  rows: number;
  seq: number;
}

function partOf(model: MultiAdapterModel, { adapter, batch }: AdapterBatch): Part {
  const ids = batch.inputIds;
  if (ids === undefined || ids.ndim !== 2) throw new ValueError(`adapter '${adapter}': a batch needs inputIds [rows, seq] for concurrent training`);
  const encoder = model.promptEncoder(adapter);
  const virtual = encoder === null ? 0 : (model.config(adapter) as ResolvedPromptConfig).numVirtualTokens;
  return { adapter, ids, mask: batch.attentionMask, labels: batch.labels, encoder, virtual, rows: ids.shape[0]!, seq: ids.shape[1]! };
}

/** `t` [rows, cols, ...] with `value` columns appended up to `width` along dim 1. */
function padColumns(t: Tensor, width: number, value: number): Tensor {
  const cols = t.shape[1]!;
  if (cols === width) return t;
  const shape = [...t.shape];
  shape[1] = width - cols;
  return concat([t, full(shape, value, t.dtype)], 1);
}

/** The base's pass over every batch at once, and each batch's head on its own rows of it. */
export interface JointForward {
  /** The base's last hidden states of the joint batch [rows of every batch, longest length, hidden]. */
  hidden: Tensor;
  /** Batch i's rows and own positions of `t` (`hidden` or a tensor of its shape), a view. */
  rows(i: number, t?: Tensor): Tensor;
  /**
   * Batch i's output from `own` (its rows of the hidden states, rows(i) or a tensor of that shape):
   * its logits (virtual tokens first) and its causal-LM loss when it has labels. The head runs per
   * batch because the logits are the largest tensors of a step: a caller can take one batch's
   * loss and gradient and free its logits before the next batch's exist.
   */
  head(i: number, own: Tensor): ModelOutput;
}

/**
 * Runs every batch's rows through the frozen base in one forward (`generators`: each adapter's
 * random stream, its dropout's; see RowRouting). The heads run when the caller asks (head()).
 * Batches of different lengths go packed where the model takes packed sequences (no position is
 * computed for padding), else padded on the right to the longest.
 */
export function forwardBase(model: MultiAdapterModel, batches: readonly AdapterBatch[], generators?: ReadonlyMap<string, Generator>): JointForward {
  const parts = batches.map((b) => partOf(model, b));
  const lengths = parts.map((p) => p.virtual + p.seq);
  const packed = lengths.some((l) => l !== lengths[0]) && model.acceptsPackedSequences;
  const layout = packed ? packedLayout(model, parts, lengths, generators) : paddedLayout(model, parts, lengths, generators);
  return {
    hidden: layout.hidden,
    rows: layout.rows,
    head(i, own) {
      const p = parts[i]!;
      // The head's own routing: this batch's rows only (a head with adapters of this job).
      const logits = withAdapterNames(new Array<string>(p.rows).fill(p.adapter), () => model.head.forward(own), { generators });
      const labels = p.labels && p.virtual > 0 ? prependColumns(p.labels, p.virtual, -100) : p.labels;
      return { logits, loss: labels && causalLMLoss(logits, labels) };
    },
  };
}

/** The base's hidden states of the joint batch, and each batch's own part of them. */
type Layout = Pick<JointForward, 'hidden' | 'rows'>;

/** Every batch padded on the right to the longest, the padding masked out: hidden [rows, longest, hidden]. */
function paddedLayout(model: MultiAdapterModel, parts: readonly Part[], lengths: readonly number[], generators?: ReadonlyMap<string, Generator>): Layout {
  const width = Math.max(...lengths);
  const tokens = Math.max(...parts.map((p) => p.seq));
  const names = parts.flatMap((p) => new Array<string>(p.rows).fill(p.adapter));
  const masked = parts.some((p, i) => p.mask !== undefined || lengths[i] !== width);
  const ownLengths = new Map(parts.map((p, i) => [p.adapter, lengths[i]!]));
  const hidden = withAdapterNames(
    names,
    () => {
      const ids = concat(parts.map((p) => padColumns(p.ids, tokens, 0)), 0);
      const attentionMask = masked
        ? concat(parts.map((p) => padColumns(prependColumns(p.mask ?? ones([p.rows, p.seq], 'int64'), p.virtual, 1), width, 0)), 0)
        : undefined;
      const inputs: ModelInputs = parts.some((p) => p.encoder !== null) ? { inputsEmbeds: withPrompts(model, parts, ids, width) } : { inputIds: ids };
      return model.hiddenStates({ ...inputs, attentionMask });
    },
    { generators, lengths: ownLengths },
  );
  const starts = parts.map((_, i) => parts.slice(0, i).reduce((sum, p) => sum + p.rows, 0));
  return {
    hidden,
    rows(i, t = hidden) {
      const own = t.narrow(0, starts[i]!, parts[i]!.rows);
      return lengths[i] === width ? own : own.narrow(1, 0, lengths[i]!);
    },
  };
}

/**
 * Every batch's sequences one after another, no padding (ModelInputs.packedSequences): hidden
 * [tokens, 1, hidden]; the routing's groups are each batch's tokens, and attention runs per batch.
 */
function packedLayout(model: MultiAdapterModel, parts: readonly Part[], lengths: readonly number[], generators?: ReadonlyMap<string, Generator>): Layout {
  const sizes = parts.map((p, i) => p.rows * lengths[i]!);
  const starts = sizes.map((_, i) => sizes.slice(0, i).reduce((sum, n) => sum + n, 0));
  const names = parts.flatMap((p, i) => new Array<string>(sizes[i]!).fill(p.adapter));
  const runs = parts.map((p, i) => ({ rows: p.rows, length: lengths[i]!, ...(p.mask && { mask: prependColumns(p.mask, p.virtual, 1) }) }));
  const hidden = withAdapterNames(
    names,
    () => {
      const ids = concat(parts.map((p) => p.ids.reshape([p.rows * p.seq, 1])), 0);
      const inputs: ModelInputs = parts.some((p) => p.encoder !== null) ? { inputsEmbeds: packedPrompts(model, parts, ids) } : { inputIds: ids };
      return model.hiddenStates({ ...inputs, packedSequences: runs });
    },
    { generators },
  );
  return {
    hidden,
    rows(i, t = hidden) {
      return t.narrow(0, starts[i]!, sizes[i]!).reshape([parts[i]!.rows, lengths[i]!, ...t.shape.slice(2)]);
    },
  };
}

/**
 * Runs every batch through `model` in one forward; returns one output per batch, in order: its
 * logits (its rows, its own positions, virtual tokens first) and its causal-LM loss when it has
 * labels. `generators`: each adapter's random stream (its dropout's), see RowRouting.
 */
export function forwardAdapters(model: MultiAdapterModel, batches: readonly AdapterBatch[], generators?: ReadonlyMap<string, Generator>): ModelOutput[] {
  if (batches.length === 0) return [];
  const joint = forwardBase(model, batches, generators);
  return batches.map((_, i) => joint.head(i, joint.rows(i)));
}

/** The joint input embeddings: each batch's token embeddings, its virtual tokens in front, padded to `width`. */
function withPrompts(model: MultiAdapterModel, parts: readonly Part[], ids: Tensor, width: number): Tensor {
  const embeds = wordEmbeddings(model.model).forward(ids);
  let row = 0;
  const rows = parts.map((p) => {
    let own = embeds.narrow(0, row, p.rows);
    row += p.rows;
    if (own.shape[1] !== p.seq) own = own.narrow(1, 0, p.seq);
    return padColumns(withVirtualTokens(p, own), width, 0);
  });
  return concat(rows, 0);
}

/** The packed input embeddings [tokens, 1, hidden] of packed ids [tokens, 1]: each sequence its virtual tokens, then its own. */
function packedPrompts(model: MultiAdapterModel, parts: readonly Part[], ids: Tensor): Tensor {
  const embeds = wordEmbeddings(model.model).forward(ids);
  let token = 0;
  const sequences = parts.map((p) => {
    const own = embeds.narrow(0, token, p.rows * p.seq).reshape([p.rows, p.seq, embeds.shape[2]!]);
    token += p.rows * p.seq;
    const full = withVirtualTokens(p, own);
    return full.reshape([p.rows * full.shape[1]!, 1, full.shape[2]!]);
  });
  return concat(sequences, 0);
}

/** A batch's embeddings [rows, seq, hidden] with its prompt's virtual tokens in front (prompt tuning). */
function withVirtualTokens(p: Part, own: Tensor): Tensor {
  if (p.encoder === null) return own;
  const prompts = withAdapterRandom(currentRouting()!, p.adapter, () => promptEmbeddings(p.encoder!, p.rows, p.virtual));
  return concat([prompts.to(own.dtype), own], 1);
}
