// What both hybrids do with the model: resolve each layer's prefix from the model's sizes, check
// that every part fits before anything is wrapped, and put each part in place (the attention
// module gets a PrefixAttentionLayer, the feed-forward site a bottleneck adapter layer).
import { Conv1D, Linear, type Module } from '../../../nn/index.js';
import type { PretrainedModel } from '../../../models/index.js';
import { PeftConfigError } from '../../errors.js';
import { adaptableModules } from '../../target.js';
import type { TunerModel } from '../../tuner-model.js';
import { TunerLayer } from '../tuner-layer.js';
import { prefixTuning } from '../../prompt/prefix-tuning/index.js';
import { parsePrefixTuningConfig } from '../../prompt/prefix-tuning/config.js';
import { BottleneckLayer } from '../bottleneck/layer.js';
import { feedForwardWidth, type WrappedModule } from '../bottleneck/module-layer.js';
import type { AdapterType } from '../bottleneck/config.js';
import type { LoraLayerOptions } from '../lora/layer.js';
import type { HybridConfig } from './config.js';
import { GatedBottleneckLayer } from './gated-bottleneck.js';
import { GatedLoraLinear } from './gated-lora.js';
import { attentionPlacement, hybridTargets, isAttentionPath } from './placements.js';
import { PrefixAttentionLayer, type LayerPrefixConfig } from './prefix-attention.js';

/** How a hybrid composes the parts: gates or not, LoRA or not, which feed-forward adapter. */
export interface HybridParts {
  gated: boolean;
  lora: LoraLayerOptions | null;
  adapterType: Extract<AdapterType, 'scaled_parallel' | 'pfeiffer'>;
}

/** One attention layer's prefix: prefix tuning's config and sizes (GQA's key/value heads included) for num_layers 1. */
export function layerPrefix(config: HybridConfig, model: Module): LayerPrefixConfig {
  const prefix = parsePrefixTuningConfig(
    {
      peft_type: 'PREFIX_TUNING',
      num_virtual_tokens: config.numVirtualTokens,
      prefix_projection: config.prefixProjection,
      encoder_hidden_size: config.encoderHiddenSize,
      init_weights: config.prefixInit,
      num_layers: 1,
    },
    `${config.peftType} prefix`,
  );
  const resolved = prefixTuning.promptLearning.resolve(prefix, model as PretrainedModel);
  return { ...resolved, encoderHiddenSize: resolved.encoderHiddenSize ?? resolved.tokenDim };
}

function adapterWidth(site: Module, parallel: boolean): number {
  return parallel ? feedForwardWidth(site)! : (site as Linear | Conv1D).outFeatures;
}

/** Throws (before any layer is wrapped) if a part cannot be placed or sized in `model`. */
export function checkHybridFits(config: HybridConfig, model: Module, parts: HybridParts): void {
  const placement = attentionPlacement(model, config.peftType);
  layerPrefix(config, model);
  const parallel = parts.adapterType === 'scaled_parallel';
  for (const path of hybridTargets(model, config, config.peftType, parts.adapterType)) {
    if (isAttentionPath(path, placement)) continue;
    const found = model.getSubmodule(path);
    // A site an earlier adapter wrapped: its own module is checked.
    const site = found instanceof TunerLayer ? found.base_layer : found;
    if (!parallel && !(site instanceof Linear || site instanceof Conv1D)) {
      throw new PeftConfigError(`${config.peftType}: '${path}' is a ${site.constructor.name}, not the feed-forward output projection its adapter wraps`);
    }
    const width = adapterWidth(site, parallel);
    if (Math.floor(width / config.reductionFactor) < 1) {
      throw new PeftConfigError(`reduction_factor ${config.reductionFactor} leaves no bottleneck at '${path}' (hidden size ${width}); use at most ${width}`);
    }
  }
}

export function injectHybrid(target: Module, path: string, name: string, config: HybridConfig, model: Module, parts: HybridParts): Module {
  const placement = attentionPlacement(model, config.peftType);
  if (target instanceof PrefixAttentionLayer || isAttentionPath(path, placement)) {
    const layer = target instanceof PrefixAttentionLayer ? target : new PrefixAttentionLayer(target);
    const lora = parts.lora && { projections: placement.queryValue, options: parts.lora };
    layer.addAdapter(name, layerPrefix(config, model), parts.gated, lora);
    return layer;
  }
  const parallel = parts.adapterType === 'scaled_parallel';
  const layer = target instanceof BottleneckLayer ? target : newAdapterLayer(target, parallel, parts.gated);
  const { reductionFactor, nonLinearity, scaling, initWeights } = config;
  layer.addAdapter(name, { reductionFactor, nonLinearity, scaling, initWeights, residualBeforeLn: true, lnBefore: false, lnAfter: false }, path);
  return layer;
}

function newAdapterLayer(site: Module, parallel: boolean, gated: boolean): BottleneckLayer {
  const width = adapterWidth(site, parallel);
  return gated ? new GatedBottleneckLayer(site as WrappedModule, width, parallel) : new BottleneckLayer(site as WrappedModule, width, parallel);
}

/**
 * After a failed injection the core puts the original attention modules back; gated LoRA layers
 * already placed inside them are taken out here, so the base model is as it was.
 */
export function releaseInnerLora(tuner: TunerModel, name: string): void {
  for (const [path, module] of [...adaptableModules(tuner.model)]) {
    if (!(module instanceof GatedLoraLinear) || !module.hasAdapter(name)) continue;
    module.deleteAdapter(name);
    if (module.adapterNames().length === 0) tuner.model.setSubmodule(path, module.base_layer);
  }
}
