// GPT-2 (HF's GPT2Model / GPT2LMHeadModel): learned positions, pre-norm blocks, Conv1D layers
// (weights stored [in, out]), tanh-GELU MLP, LM head tied to the token embedding.
import { Tensor, ValueError, arange, consumable, releaseUnread, scaledDotProductAttention, type DType } from '../tensor/index.js';
import { Conv1D, Dropout, Embedding, LayerNorm, Linear, Module, ModuleList, getActivation, type Activation } from '../nn/index.js';
import type { GPT2Config } from '../io/index.js';
import type { KVCache } from './cache.js';
import type { BaseModelOutput, ModelInputs, ModelOutput, SequenceRun } from './outputs.js';
import { causalLMLoss, lastPositions } from './loss.js';
import { generate, type GenerateOptions } from './generation.js';
import { registerArchitecture } from './registry.js';
import { attendPacked, embedInputs, keyPaddingMask, packedPositions, residual, splitHeads, mergeHeads } from './common.js';
import { savePretrained } from './save.js';
import { buildWithHfInit, type InitOverride } from './init-weights.js';

export class GPT2Attention extends Module {
  c_attn: Conv1D;
  c_proj: Conv1D;
  attn_dropout: Dropout;
  resid_dropout: Dropout;
  private readonly heads: number;
  private readonly scale: number;

  constructor(config: GPT2Config, layerIdx: number, dtype: DType) {
    super();
    const width = config.n_embd;
    this.heads = config.n_head;
    this.c_attn = new Conv1D(3 * width, width, { dtype });
    this.c_proj = new Conv1D(width, width, { dtype });
    this.attn_dropout = new Dropout(config.attn_pdrop);
    this.resid_dropout = new Dropout(config.resid_pdrop);
    let scale = config.scale_attn_weights ? 1 / Math.sqrt(width / this.heads) : 1;
    if (config.scale_attn_by_inverse_layer_idx) scale /= layerIdx + 1;
    this.scale = scale;
  }

  /** `runs`: packed sequences (ModelInputs.packedSequences), h [tokens, 1, hidden]; each run attends within itself. */
  forward(h: Tensor, mask: Tensor | null, cache: KVCache | undefined, layerIdx: number, runs?: readonly SequenceRun[]): Tensor {
    const width = h.shape[2]!;
    const qkv = this.c_attn.forward(h);
    const made: Tensor[] = [];
    const attend = ([rows]: Tensor[], keyMask: Tensor | null): Tensor => {
      const q = splitHeads(rows.narrow(2, 0, width), this.heads);
      const k = splitHeads(rows.narrow(2, width, width), this.heads);
      const v = splitHeads(rows.narrow(2, 2 * width, width), this.heads);
      const options = { causal: true, keyPaddingMask: keyMask, scale: this.scale, dropoutP: this.training ? this.attn_dropout.p : 0 };
      const attended = cache ? cache.attend(layerIdx, q, k, v, options) : scaledDotProductAttention(q, k, v, options);
      const merged = mergeHeads(attended);
      // A cache may keep k and v as given; without one, q, k and v are views of qkv, read by nothing after attention.
      made.push(...(cache ? [] : [q]), attended, merged);
      return merged;
    };
    const merged = runs ? attendPacked([qkv], runs, attend) : attend([qkv], mask);
    const projected = this.c_proj.forward(merged);
    const out = this.resid_dropout.forward(projected);
    releaseUnread([...made, merged, projected], out);
    return out;
  }
}

export class GPT2MLP extends Module {
  c_fc: Conv1D;
  c_proj: Conv1D;
  dropout: Dropout;
  private readonly act: Activation;

  constructor(config: GPT2Config, dtype: DType) {
    super();
    this.c_fc = new Conv1D(config.n_inner, config.n_embd, { dtype });
    this.c_proj = new Conv1D(config.n_embd, config.n_inner, { dtype });
    this.dropout = new Dropout(config.resid_pdrop);
    this.act = getActivation(config.activation_function);
  }

  forward(h: Tensor): Tensor {
    const hidden = this.c_fc.forward(h);
    const activated = this.act(hidden);
    const projected = this.c_proj.forward(consumable(activated));
    const out = this.dropout.forward(projected);
    releaseUnread([hidden, activated, projected], out);
    return out;
  }
}

export class GPT2Block extends Module {
  ln_1: LayerNorm;
  attn: GPT2Attention;
  ln_2: LayerNorm;
  mlp: GPT2MLP;

  constructor(config: GPT2Config, layerIdx: number, dtype: DType) {
    super();
    this.ln_1 = new LayerNorm(config.n_embd, config.layer_norm_epsilon, { dtype });
    this.attn = new GPT2Attention(config, layerIdx, dtype);
    this.ln_2 = new LayerNorm(config.n_embd, config.layer_norm_epsilon, { dtype });
    this.mlp = new GPT2MLP(config, dtype);
  }

  forward(h: Tensor, mask: Tensor | null, cache: KVCache | undefined, layerIdx: number, runs?: readonly SequenceRun[]): Tensor {
    const a = residual(h, this.ln_1, (x) => this.attn.forward(x, mask, cache, layerIdx, runs));
    return residual(a, this.ln_2, (x) => this.mlp.forward(x));
  }
}

export class GPT2Model extends Module {
  wte!: Embedding;
  wpe!: Embedding;
  drop!: Dropout;
  h!: ModuleList<GPT2Block>;
  ln_f!: LayerNorm;
  /** hiddenStates takes ModelInputs.packedSequences. */
  readonly acceptsPackedSequences = true;

  constructor(readonly config: GPT2Config, dtype: DType = 'float32') {
    super();
    buildWithHfInit(this, () => {
      this.wte = new Embedding(config.vocab_size, config.n_embd, { dtype });
      this.wpe = new Embedding(config.n_positions, config.n_embd, { dtype });
      this.drop = new Dropout(config.embd_pdrop);
      this.h = new ModuleList(Array.from({ length: config.n_layer }, (_, i) => new GPT2Block(config, i, dtype)));
      this.ln_f = new LayerNorm(config.n_embd, config.layer_norm_epsilon, { dtype });
    }, config.initializer_range, gpt2Init(config));
  }

  /** HF's base-model output: the final hidden states, no pooler. */
  /** Writes config.json and model.safetensors as transformers' save_pretrained (quantised layers in bitsandbytes' layout). */
  savePretrained(dir: string): Promise<void> {
    return savePretrained(this, dir);
  }

  forward(inputs: ModelInputs): BaseModelOutput {
    return { lastHiddenState: this.hiddenStates(inputs), poolerOutput: null, pastKeyValues: inputs.pastKeyValues };
  }

  /** The final hidden states [batch, seq, hidden] (what the LM head reads). */
  hiddenStates(inputs: ModelInputs): Tensor {
    const embeds = embedInputs(inputs, this.wte);
    const [batch, seq] = embeds.shape as [number, number];
    const past = inputs.pastKeyValues?.length ?? 0;
    const runs = inputs.packedSequences;
    if (runs && inputs.pastKeyValues) throw new ValueError('packed sequences take no KV cache');
    const positions = inputs.positionIds ?? (runs ? packedPositions(runs) : arange(past, past + seq).unsqueeze(0).expand([batch, seq]));
    let h = this.drop.forward(embeds.add(this.wpe.forward(positions)));
    const mask = runs ? null : keyPaddingMask(inputs.attentionMask, batch, past + seq);
    let i = 0;
    for (const block of this.h) h = block.forward(h, mask, inputs.pastKeyValues, i++, runs);
    return this.ln_f.forward(h);
  }
}

export class GPT2LMHeadModel extends Module {
  transformer!: GPT2Model;
  lm_head!: Linear;

  constructor(readonly config: GPT2Config, dtype: DType = 'float32') {
    super();
    buildWithHfInit(this, () => {
      this.transformer = new GPT2Model(config, dtype);
      this.lm_head = new Linear(config.n_embd, config.vocab_size, { bias: false, dtype });
      if (config.tie_word_embeddings) this.lm_head.weight = this.transformer.wte.weight;
    }, config.initializer_range, gpt2Init(config));
  }

  /** Writes config.json and model.safetensors as transformers' save_pretrained (quantised layers in bitsandbytes' layout). */
  savePretrained(dir: string): Promise<void> {
    return savePretrained(this, dir);
  }

  forward(inputs: ModelInputs): ModelOutput {
    const hidden = this.transformer.hiddenStates(inputs);
    const logits = this.lm_head.forward(lastPositions(hidden, inputs));
    const loss = inputs.labels ? causalLMLoss(logits, inputs.labels) : undefined;
    return { logits, loss, pastKeyValues: inputs.pastKeyValues, lastHiddenState: hidden };
  }

  /** Greedy or sampled continuation of `inputIds` [batch, seq]; see GenerateOptions. */
  generate(inputIds: Tensor, options: GenerateOptions = {}): Tensor {
    return generate(this, inputIds, options);
  }
}

/**
 * GPT2PreTrainedModel._init_weights (transformers' modeling_gpt2.py): the common rules, and each
 * residual projection (attn.c_proj, mlp.c_proj) from normal(0, initializer_range / √(2·n_layer)).
 */
function gpt2Init(config: GPT2Config): InitOverride {
  const scaled = config.initializer_range / Math.sqrt(2 * config.n_layer);
  return (path, name) => (name === 'weight' && path.endsWith('.c_proj') ? { std: scaled } : undefined);
}

registerArchitecture('GPT2LMHeadModel', {
  task: 'causal-lm',
  basePrefix: 'transformer',
  build: (config, dtype) => new GPT2LMHeadModel(config as GPT2Config, dtype),
  // Older checkpoints saved the causal-mask buffers.
  ignoredKeys: /\.attn\.(masked_)?bias$/,
});

registerArchitecture('GPT2Model', {
  task: 'base',
  basePrefix: 'transformer',
  build: (config, dtype) => new GPT2Model(config as GPT2Config, dtype),
  // A GPT2LMHeadModel checkpoint's head, which the base model does not have.
  ignoredKeys: /\.attn\.(masked_)?bias$|^lm_head\./,
});
