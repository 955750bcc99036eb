// The Llama family (HF's LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM): pre-norm
// decoder with RMSNorm, rotary positions, grouped-query attention and a gated SiLU MLP. Qwen2
// adds q/k/v biases; Mistral (and Qwen2's upper layers, when configured) a sliding window.
import { Tensor, ValueError, arange, applyRotaryEmb, consumable, releaseUnread, scaledDotProductAttention, type DType } from '../tensor/index.js';
import { Embedding, Linear, Module, ModuleList, RMSNorm, getActivation, type Activation } from '../nn/index.js';
import type { LlamaConfig, MistralConfig, Qwen2Config } from '../io/index.js';
import type { KVCache } from './cache.js';
import type { BaseModelOutput, ModelInputs, ModelOutput, SequenceRun } from './outputs.js';
import { causalLMLoss, lastPositions } from './loss.js';
import { generate, type GenerateOptions } from './generation.js';
import { registerArchitecture } from './registry.js';
import { attendPacked, embedInputs, keyPaddingMask, mergeHeads, packedPositions, residual, splitHeads } from './common.js';
import { rotaryTables } from './rope.js';
import { savePretrained } from './save.js';
import { buildWithHfInit } from './init-weights.js';
import { ggmlLinearShared } from '../gguf/quant/linear.js';
import { decodeSiluMlpResidual } from './decode/mlp.js';
import { decodeProjectedResidual, decodeRotatedQkv } from './decode/attention.js';

export type LlamaFamilyConfig = LlamaConfig | Qwen2Config | MistralConfig;

interface LayerContext {
  mask: Tensor | null;
  cos: Tensor;
  sin: Tensor;
  cache: KVCache | undefined;
  /** Packed sequences (ModelInputs.packedSequences): h is [tokens, 1, hidden], cos and sin [tokens, 1, headDim]. */
  runs?: readonly SequenceRun[];
}

/** Sliding window of layer i (0 = full attention). */
function windowOf(config: LlamaFamilyConfig, layer: number): number {
  if (config.model_type === 'mistral') return config.sliding_window ?? 0;
  if (config.model_type === 'qwen2') return config.layer_types[layer] === 'sliding_attention' ? (config.sliding_window ?? 0) : 0;
  return 0;
}

export class LlamaAttention extends Module {
  q_proj: Linear;
  k_proj: Linear;
  v_proj: Linear;
  o_proj: Linear;
  private readonly heads: number;
  private readonly kvHeads: number;
  private readonly window: number;
  private readonly dropoutP: number;

  constructor(config: LlamaFamilyConfig, readonly layerIdx: number, dtype: DType) {
    super();
    const d = config.head_dim;
    this.heads = config.num_attention_heads;
    this.kvHeads = config.num_key_value_heads;
    const qkvBias = config.model_type === 'qwen2' || (config.model_type === 'llama' && config.attention_bias);
    const oBias = config.model_type === 'llama' && config.attention_bias;
    this.q_proj = new Linear(config.hidden_size, this.heads * d, { bias: qkvBias, dtype });
    this.k_proj = new Linear(config.hidden_size, this.kvHeads * d, { bias: qkvBias, dtype });
    this.v_proj = new Linear(config.hidden_size, this.kvHeads * d, { bias: qkvBias, dtype });
    this.o_proj = new Linear(this.heads * d, config.hidden_size, { bias: oBias, dtype });
    this.window = windowOf(config, layerIdx);
    this.dropoutP = config.attention_dropout;
  }

  forward(h: Tensor, ctx: LayerContext): Tensor {
    // GGUF block-type weights: q, k and v in one call (x quantised once, one job over their rows).
    const [qh, kh, vh] = ggmlLinearShared(h, [this.q_proj, this.k_proj, this.v_proj]) ?? [
      this.q_proj.forward(h),
      this.k_proj.forward(h),
      this.v_proj.forward(h),
    ];
    const made: Tensor[] = [];
    const attend = ([q0, k0, v0, cos, sin]: Tensor[], mask: Tensor | null): Tensor => {
      const q = applyRotaryEmb(splitHeads(q0!, this.heads), cos!, sin!);
      const k = applyRotaryEmb(splitHeads(k0!, this.kvHeads), cos!, sin!);
      const merged = mergeHeads(this.attend(q, k, splitHeads(v0!, this.kvHeads), { ...ctx, mask }));
      made.push(merged);
      return merged;
    };
    const projections = [qh!, kh!, vh!, ctx.cos, ctx.sin];
    const merged = ctx.runs ? attendPacked(projections, ctx.runs, attend) : attend(projections, ctx.mask);
    const out = this.o_proj.forward(merged);
    // A cache may keep v as given (a view of vh); rotation and attention read their own copies.
    releaseUnread([qh, kh, ...(ctx.cache ? [] : [vh]), ...made, merged], out);
    return out;
  }

  /**
   * h + forward(norm(h)) for one new position per row over GGUF block-type weights or plain Linears without
   * gradients: the projections, rotation and residual as native calls on plain arrays around the
   * cache and the attention kernel (models/decode/attention.ts); null where forward must run.
   */
  decodeResidual(h: Tensor, norm: Module, ctx: LayerContext): Tensor | null {
    const qkv = decodeRotatedQkv(h, norm, [this.q_proj, this.k_proj, this.v_proj], [this.heads, this.kvHeads], ctx);
    if (!qkv) return null;
    const out = this.attend(...qkv, ctx);
    return decodeProjectedResidual(out, this.o_proj, h) ?? h.add(this.o_proj.forward(mergeHeads(out)));
  }

  /** Attention of q over k and v [batch, heads, seq, headDim] (q and k rotated), through the cache when there is one. */
  private attend(q: Tensor, k: Tensor, v: Tensor, ctx: LayerContext): Tensor {
    const options = { causal: true, keyPaddingMask: ctx.mask, slidingWindow: this.window, dropoutP: this.training ? this.dropoutP : 0 };
    return ctx.cache ? ctx.cache.attend(this.layerIdx, q, k, v, options) : scaledDotProductAttention(q, k, v, options);
  }
}

export class LlamaMLP extends Module {
  gate_proj: Linear;
  up_proj: Linear;
  down_proj: Linear;
  private readonly act: Activation;
  /** Whether the activation is SiLU (the GGUF decode path computes that one natively). */
  readonly silu: boolean;

  constructor(config: LlamaFamilyConfig, dtype: DType) {
    super();
    const bias = config.model_type === 'llama' && config.mlp_bias;
    this.gate_proj = new Linear(config.hidden_size, config.intermediate_size, { bias, dtype });
    this.up_proj = new Linear(config.hidden_size, config.intermediate_size, { bias, dtype });
    this.down_proj = new Linear(config.intermediate_size, config.hidden_size, { bias, dtype });
    this.act = getActivation(config.hidden_act);
    this.silu = config.hidden_act === 'silu';
  }

  forward(h: Tensor): Tensor {
    const [gate, up] = ggmlLinearShared(h, [this.gate_proj, this.up_proj]) ?? [this.gate_proj.forward(h), this.up_proj.forward(h)];
    const gated = this.act(gate!).mul(up!);
    const out = this.down_proj.forward(consumable(gated));
    releaseUnread([gated], out);
    return out;
  }
}

export class LlamaDecoderLayer extends Module {
  self_attn: LlamaAttention;
  mlp: LlamaMLP;
  input_layernorm: RMSNorm;
  post_attention_layernorm: RMSNorm;

  constructor(config: LlamaFamilyConfig, layerIdx: number, dtype: DType) {
    super();
    this.self_attn = new LlamaAttention(config, layerIdx, dtype);
    this.mlp = new LlamaMLP(config, dtype);
    this.input_layernorm = new RMSNorm(config.hidden_size, config.rms_norm_eps, { dtype });
    this.post_attention_layernorm = new RMSNorm(config.hidden_size, config.rms_norm_eps, { dtype });
  }

  forward(h: Tensor, ctx: LayerContext): Tensor {
    const { self_attn: attn, mlp } = this;
    // Plain projections (GGUF blocks, dense Linears) without gradients: native calls on plain arrays around the cache and the
    // attention kernel, and for the whole second half (modules replaced by a tuner take their forwards).
    const attended = attn.constructor === LlamaAttention && !ctx.runs ? attn.decodeResidual(h, this.input_layernorm, ctx) : null;
    const a = attended ?? residual(h, this.input_layernorm, (x) => attn.forward(x, ctx));
    const fused = mlp.constructor === LlamaMLP && mlp.silu ? decodeSiluMlpResidual(a, this.post_attention_layernorm, mlp.gate_proj, mlp.up_proj, mlp.down_proj) : null;
    return fused ?? residual(a, this.post_attention_layernorm, (x) => mlp.forward(x));
  }
}

export class LlamaModel extends Module {
  embed_tokens!: Embedding;
  layers!: ModuleList<LlamaDecoderLayer>;
  norm!: RMSNorm;
  /** hiddenStates takes ModelInputs.packedSequences. */
  readonly acceptsPackedSequences = true;

  constructor(readonly config: LlamaFamilyConfig, dtype: DType = 'float32') {
    super();
    // LlamaPreTrainedModel._init_weights: the common rules (normal(0, initializer_range), zero biases,
    // unit norms, the padding row zero). As in HF, pad_token_id is the embedding's padding_idx: that
    // row takes no gradient.
    buildWithHfInit(this, () => {
      this.embed_tokens = new Embedding(config.vocab_size, config.hidden_size, { paddingIdx: config.pad_token_id, dtype });
      this.layers = new ModuleList(Array.from({ length: config.num_hidden_layers }, (_, i) => new LlamaDecoderLayer(config, i, dtype)));
      this.norm = new RMSNorm(config.hidden_size, config.rms_norm_eps, { dtype });
    }, config.initializer_range);
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
    let h = embedInputs(inputs, this.embed_tokens);
    const [batch, seq] = h.shape as [number, number];
    const past = inputs.pastKeyValues?.length ?? 0;
    const runs = inputs.packedSequences;
    if (runs && inputs.pastKeyValues) throw new ValueError('packed sequences take no KV cache');
    const positions = inputs.positionIds ?? (runs ? packedPositions(runs) : arange(past, past + seq).unsqueeze(0).expand([batch, seq]));
    const { cos, sin } = rotaryTables(this.config.rope_parameters, this.config.head_dim, positions);
    const mask = runs ? null : keyPaddingMask(inputs.attentionMask, batch, past + seq);
    const ctx: LayerContext = { mask, cos, sin, cache: inputs.pastKeyValues, ...(runs && { runs }) };
    for (const layer of this.layers) h = layer.forward(h, ctx);
    return this.norm.forward(h);
  }
}

export class LlamaForCausalLM extends Module {
  model!: LlamaModel;
  lm_head!: Linear;

  constructor(readonly config: LlamaFamilyConfig, dtype: DType = 'float32') {
    super();
    buildWithHfInit(this, () => {
      this.model = new LlamaModel(config, dtype);
      this.lm_head = new Linear(config.hidden_size, config.vocab_size, { bias: false, dtype });
      if (config.tie_word_embeddings) this.lm_head.weight = this.model.embed_tokens.weight;
    }, config.initializer_range);
  }

  /** Writes config.json and model.safetensors as transformers' save_pretrained (quantised layers in bitsandbytes' layout). */
  savePretrained(dir: string): Promise<void> {
    return savePretrained(this, dir);
  }

  forward(inputs: ModelInputs): ModelOutput {
    const hidden = this.model.hiddenStates(inputs);
    const logits = this.lm_head.forward(lastPositions(hidden, inputs));
    const loss = inputs.labels ? causalLMLoss(logits, inputs.labels) : undefined;
    return { logits, loss, pastKeyValues: inputs.pastKeyValues, lastHiddenState: hidden };
  }

  /** Greedy or sampled continuation of `inputIds` [batch, seq]; see GenerateOptions. */
  generate(inputIds: Tensor, options: GenerateOptions = {}): Tensor {
    return generate(this, inputIds, options);
  }
}

/** Qwen2 and Mistral share Llama's module tree and names; the config decides the differences. */
export class Qwen2ForCausalLM extends LlamaForCausalLM {}
export class MistralForCausalLM extends LlamaForCausalLM {}

for (const [name, build] of [
  ['LlamaForCausalLM', LlamaForCausalLM],
  ['Qwen2ForCausalLM', Qwen2ForCausalLM],
  ['MistralForCausalLM', MistralForCausalLM],
] as const) {
  registerArchitecture(name, {
    task: 'causal-lm',
    basePrefix: 'model',
    build: (config, dtype) => new build(config as LlamaFamilyConfig, dtype),
    ignoredKeys: /\.rotary_emb\.inv_freq$/,
  });
}

for (const name of ['LlamaModel', 'Qwen2Model', 'MistralModel']) {
  registerArchitecture(name, {
    task: 'base',
    basePrefix: 'model',
    build: (config, dtype) => new LlamaModel(config as LlamaFamilyConfig, dtype),
    // A *ForCausalLM checkpoint's head, which the base model does not have.
    ignoredKeys: /\.rotary_emb\.inv_freq$|^lm_head\./,
  });
}
