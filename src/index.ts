// peftjs: parameter-efficient fine-tuning for TypeScript.
export * from './tensor/index.js';
export * from './io/index.js';
export * from './nn/index.js';
export * from './models/index.js';
export * from './peft/index.js';
export * from './train/index.js';
export * from './quant/index.js';
export {
  quantizeGgml,
  dequantizeGgml,
  ggmlByteSize,
  ggmlTensor,
  GgmlLinear,
  GgmlEmbedding,
  type GgmlTensor,
  type GgmlBlockType,
} from './gguf/quant/index.js';
export { writeLoraAdapterGguf, writeModelGguf, GgufExportError, GGUF_ADAPTER_TYPES, GGUF_MODEL_TYPES, type GgufAdapterType, type GgufModelType } from './gguf/export/index.js';
