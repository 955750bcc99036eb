// Hybrid methods as tuner plug-ins composed of the existing parts (prefix tuning's encoder, LoRA's
// layer, bottleneck adapter layers): MAM adapter and UniPELT. Importing this registers both.
export { mam, parseMamConfig, type MamConfig, type MamOptions } from './mam.js';
export { unipelt, parseUnipeltConfig, writeUnipeltConfig, type UnipeltConfig, type UnipeltOptions } from './unipelt.js';
export { writeHybrid, type HybridConfig, type PrefixPart, type AdapterPart } from './config.js';
export { PrefixAttentionLayer, type LayerPrefixConfig, type GatedLoraPart } from './prefix-attention.js';
export { GatedLoraLinear } from './gated-lora.js';
export { GatedBottleneckLayer } from './gated-bottleneck.js';
export { gateValue } from './gate.js';
