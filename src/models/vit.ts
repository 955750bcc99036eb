// ViT (HF's ViTModel / ViTForImageClassification): the image cut into patches, each patch a token
// (a Conv2d with kernel = stride = patch size), a learned [CLS] token and positions, pre-norm
// encoder layers, a final LayerNorm and a classifier on [CLS]. Module names are transformers 5's
// in-memory ones (vit.layers.N.attention.q_proj, mlp.fc1, ...); checkpoints keep the older names
// (vit.encoder.layer.N.attention.attention.query, intermediate.dense, ...), mapped by renameViTKey.
import { Tensor, concat, scaledDotProductAttention, ShapeError, ValueError, formatShape, type DType } from '../tensor/index.js';
import { Dropout, LayerNorm, Linear, Module, ModuleList, Parameter, PatchConv2d, getActivation, init, type Activation } from '../nn/index.js';
import type { ModelConfig, ViTConfig } from '../io/index.js';
import type { BaseModelOutput, ModelInputs, ModelOutput } from './outputs.js';
import { registerArchitecture, type PretrainedModel } from './registry.js';
import { mergeHeads, splitHeads } from './common.js';
import { sequenceClassificationLoss } from './classification.js';
import { savePretrained } from './save.js';
import { buildWithHfInit, type InitOverride } from './init-weights.js';

export class ViTPatchEmbeddings extends Module {
  projection: PatchConv2d;

  constructor(private readonly config: ViTConfig, dtype: DType) {
    super();
    this.projection = new PatchConv2d(config.num_channels, config.hidden_size, config.patch_size, { dtype });
  }

  /** pixelValues [B, num_channels, image_size, image_size] → patch tokens [B, patches, hidden]. */
  forward(pixelValues: Tensor): Tensor {
    const { num_channels: c, image_size: size } = this.config;
    const s = pixelValues.shape;
    if (s.length !== 4 || s[1] !== c || s[2] !== size || s[3] !== size) {
      throw new ShapeError(
        `pixelValues must be [batch, ${c}, ${size}, ${size}] (num_channels and image_size from config.json), not ${formatShape(s)}; resize the images to ${size}×${size}`,
      );
    }
    // Activations are float32 whatever the weights are stored in (a float64 model computes in float64).
    const dtype = this.projection.weight.dtype === 'float64' ? 'float64' : 'float32';
    return this.projection.forward(pixelValues.to(dtype));
  }
}

export class ViTEmbeddings extends Module {
  cls_token: Parameter;
  patch_embeddings: ViTPatchEmbeddings;
  position_embeddings: Parameter;
  dropout: Dropout;

  constructor(config: ViTConfig, dtype: DType) {
    super();
    if (config.image_size % config.patch_size !== 0) {
      throw new ValueError(`config.json: image_size ${config.image_size} must be a multiple of patch_size ${config.patch_size}`);
    }
    const patches = (config.image_size / config.patch_size) ** 2;
    this.cls_token = new Parameter(init.normal([1, 1, config.hidden_size], config.initializer_range, dtype));
    this.patch_embeddings = new ViTPatchEmbeddings(config, dtype);
    this.position_embeddings = new Parameter(init.normal([1, patches + 1, config.hidden_size], config.initializer_range, dtype));
    this.dropout = new Dropout(config.hidden_dropout_prob);
  }

  /** [CLS] then the patch tokens, plus positions: [B, 1 + patches, hidden]. */
  forward(pixelValues: Tensor): Tensor {
    const patches = this.patch_embeddings.forward(pixelValues);
    const [b, , hidden] = patches.shape as [number, number, number];
    const tokens = concat([this.cls_token.expand([b, 1, hidden]), patches], 1);
    return this.dropout.forward(tokens.add(this.position_embeddings));
  }
}

export class ViTAttention extends Module {
  q_proj: Linear;
  k_proj: Linear;
  v_proj: Linear;
  o_proj: Linear;
  dropout: Dropout;
  private readonly heads: number;
  private readonly attentionDropout: number;

  constructor(config: ViTConfig, dtype: DType) {
    super();
    const h = config.hidden_size;
    this.heads = config.num_attention_heads;
    this.q_proj = new Linear(h, h, { bias: config.qkv_bias, dtype });
    this.k_proj = new Linear(h, h, { bias: config.qkv_bias, dtype });
    this.v_proj = new Linear(h, h, { bias: config.qkv_bias, dtype });
    this.o_proj = new Linear(h, h, { dtype });
    this.dropout = new Dropout(config.hidden_dropout_prob);
    this.attentionDropout = config.attention_probs_dropout_prob;
  }

  forward(h: Tensor): Tensor {
    const out = scaledDotProductAttention(
      splitHeads(this.q_proj.forward(h), this.heads),
      splitHeads(this.k_proj.forward(h), this.heads),
      splitHeads(this.v_proj.forward(h), this.heads),
      { dropoutP: this.training ? this.attentionDropout : 0 },
    );
    return this.dropout.forward(this.o_proj.forward(mergeHeads(out)));
  }
}

export class ViTMLP extends Module {
  fc1: Linear;
  fc2: Linear;
  dropout: Dropout;
  private readonly act: Activation;

  constructor(config: ViTConfig, dtype: DType) {
    super();
    this.fc1 = new Linear(config.hidden_size, config.intermediate_size, { dtype });
    this.fc2 = new Linear(config.intermediate_size, config.hidden_size, { dtype });
    this.dropout = new Dropout(config.hidden_dropout_prob);
    this.act = getActivation(config.hidden_act);
  }

  forward(h: Tensor): Tensor {
    return this.dropout.forward(this.fc2.forward(this.act(this.fc1.forward(h))));
  }
}

/** Pre-norm: h + attention(LN(h)), then + mlp(LN(·)). */
export class ViTLayer extends Module {
  attention: ViTAttention;
  mlp: ViTMLP;
  layernorm_before: LayerNorm;
  layernorm_after: LayerNorm;

  constructor(config: ViTConfig, dtype: DType) {
    super();
    this.attention = new ViTAttention(config, dtype);
    this.mlp = new ViTMLP(config, dtype);
    this.layernorm_before = new LayerNorm(config.hidden_size, config.layer_norm_eps, { dtype });
    this.layernorm_after = new LayerNorm(config.hidden_size, config.layer_norm_eps, { dtype });
  }

  forward(h: Tensor): Tensor {
    const a = h.add(this.attention.forward(this.layernorm_before.forward(h)));
    return a.add(this.mlp.forward(this.layernorm_after.forward(a)));
  }
}

export class ViTPooler extends Module {
  dense: Linear;
  private readonly act: Activation;

  constructor(config: ViTConfig, dtype: DType) {
    super();
    this.dense = new Linear(config.hidden_size, config.pooler_output_size, { dtype });
    this.act = getActivation(config.pooler_act);
  }

  /** act(dense([CLS] state)). */
  forward(h: Tensor): Tensor {
    return this.act(this.dense.forward(h.select(1, 0)));
  }
}

/** lastHiddenState is after the final LayerNorm; poolerOutput is [batch, pooler_output_size]. */
export class ViTModel extends Module implements PretrainedModel<BaseModelOutput> {
  embeddings!: ViTEmbeddings;
  layers!: ModuleList<ViTLayer>;
  layernorm!: LayerNorm;
  pooler!: ViTPooler | null;

  constructor(readonly config: ViTConfig, { addPoolingLayer = true }: { addPoolingLayer?: boolean } = {}, dtype: DType = 'float32') {
    super();
    buildWithHfInit(this, () => {
      this.embeddings = new ViTEmbeddings(config, dtype);
      this.layers = new ModuleList(Array.from({ length: config.num_hidden_layers }, () => new ViTLayer(config, dtype)));
      this.layernorm = new LayerNorm(config.hidden_size, config.layer_norm_eps, { dtype });
      this.pooler = addPoolingLayer ? new ViTPooler(config, dtype) : null;
    }, config.initializer_range, vitInit(config));
  }

  /** Writes config.json and model.safetensors as transformers' save_pretrained (quantised layers in bitsandbytes' layout). */
  savePretrained(dir: string): Promise<void> {
    return savePretrained(this, dir);
  }

  forward(inputs: ModelInputs): BaseModelOutput {
    if (!inputs.pixelValues) throw new ValueError(`${this.constructor.name}.forward needs pixelValues [batch, channels, height, width]`);
    let h = this.embeddings.forward(inputs.pixelValues);
    for (const layer of this.layers) h = layer.forward(h);
    const hidden = this.layernorm.forward(h);
    return { lastHiddenState: hidden, poolerOutput: this.pooler ? this.pooler.forward(hidden) : null };
  }
}

export class ViTForImageClassification extends Module {
  vit!: ViTModel;
  classifier!: Linear;

  constructor(readonly config: ViTConfig, dtype: DType = 'float32') {
    super();
    buildWithHfInit(this, () => {
      this.vit = new ViTModel(config, { addPoolingLayer: false }, dtype);
      this.classifier = new Linear(config.hidden_size, config.num_labels, { dtype });
    }, config.initializer_range, vitInit(config));
  }

  /** Writes config.json and model.safetensors as transformers' save_pretrained (quantised layers in bitsandbytes' layout). */
  savePretrained(dir: string): Promise<void> {
    return savePretrained(this, dir);
  }

  forward(inputs: ModelInputs): ModelOutput {
    const { lastHiddenState } = this.vit.forward(inputs);
    const logits = this.classifier.forward(lastHiddenState.select(1, 0));
    const loss = inputs.labels ? sequenceClassificationLoss(logits, inputs.labels, this.config) : undefined;
    return { logits, loss, lastHiddenState };
  }
}

/**
 * A checkpoint (or older PEFT adapter) key in transformers 4 names → transformers 5's in-memory
 * names; keys already in the new names pass unchanged. Works with or without the `vit.` prefix
 * and with suffixes after the module path (`.weight`, `.lora_A.weight`).
 */
export function renameViTKey(key: string): string {
  return key
    .replace(/(^|\.)encoder\.layer\.(\d+)\./, '$1layers.$2.')
    .replace(/(layers\.\d+\.attention)\.attention\.query\./, '$1.q_proj.')
    .replace(/(layers\.\d+\.attention)\.attention\.key\./, '$1.k_proj.')
    .replace(/(layers\.\d+\.attention)\.attention\.value\./, '$1.v_proj.')
    .replace(/(layers\.\d+\.attention)\.output\.dense\./, '$1.o_proj.')
    .replace(/(layers\.\d+)\.intermediate\.dense\./, '$1.mlp.fc1.')
    .replace(/(layers\.\d+)\.output\.dense\./, '$1.mlp.fc2.');
}


/**
 * ViTPreTrainedModel._init_weights beyond the common rules: the patch Conv2d like a Linear, and
 * the [CLS] token and positions drawn with initializer_range. HF draws these from trunc_normal_
 * cut at ±2 (absolute), which at std 0.02 is 100 standard deviations: the plain normal is the
 * same distribution.
 */
function vitInit(config: ViTConfig): InitOverride {
  const std = config.initializer_range;
  return (_path, name, owner) => {
    if (owner instanceof PatchConv2d) return name === 'bias' ? { fill: 0 } : { std };
    if (owner instanceof ViTEmbeddings) return { std };
    return undefined;
  };
}

// Each class skips the other's head, and may lack its own: a ViTModel checkpoint has no classifier,
// a ViTForImageClassification checkpoint no pooler (transformers initialises them anew too).
const vitStd = (config: ModelConfig) => (config as ViTConfig).initializer_range;

/** transformers 4's ViT module names that older PEFT adapters target, and their current names. */
export const VIT_LEGACY_MODULE_NAMES = { query: 'q_proj', key: 'k_proj', value: 'v_proj' } as const;

registerArchitecture('ViTModel', {
  task: 'base',
  basePrefix: 'vit',
  build: (config, dtype) => new ViTModel(config as ViTConfig, {}, dtype),
  renameKey: renameViTKey,
  legacyModuleNames: VIT_LEGACY_MODULE_NAMES,
  ignoredKeys: /^classifier\./,
  freshParameters: { paths: /^pooler\./, std: vitStd },
});

registerArchitecture('ViTForImageClassification', {
  task: 'image-classification',
  basePrefix: 'vit',
  build: (config, dtype) => new ViTForImageClassification(config as ViTConfig, dtype),
  renameKey: renameViTKey,
  legacyModuleNames: VIT_LEGACY_MODULE_NAMES,
  ignoredKeys: /(^|\.)pooler\./,
  freshParameters: { paths: /^classifier\./, std: vitStd },
});
