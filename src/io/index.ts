// The file layer's public surface: safetensors (lazy read, atomic write, shards), config.json.
export { SafetensorsError, ConfigError, UnknownArchitectureError, MissingFileError } from './errors.js';
export { writeAtomic, writeFileAtomic, writeFolderAtomic, writeAll } from './atomic.js';

export type { FileSource, ReadableFile, FileSink } from './files/types.js';
export { sourceFor, sinkFor } from './files/default.js';
export { BlobSource, BlobSink, blobFile } from './files/blobs.js';
export { UrlSource } from './files/url.js';
export { OpfsSource, type DirectoryHandle } from './files/opfs.js';
export { SafetensorsFile, loadSafetensors } from './safetensors/reader.js';
export { saveSafetensors } from './safetensors/writer.js';
export { safetensorsChunks, type NamedTensors, type SaveOptions } from './safetensors/serialize.js';
export { ShardedSafetensors, INDEX_FILE } from './safetensors/sharded.js';
export { openModelWeights, WEIGHTS_FILE } from './safetensors/checkpoint.js';
export type { TensorInfo, TensorSource, ReadTensorOptions } from './safetensors/types.js';
export type { SafetensorsDType } from './safetensors/dtypes.js';

export { loadConfig, parseConfig, MODEL_TYPES, type ModelConfig, type ModelType } from './config/load.js';
export type { BaseConfig, ProblemType } from './config/base.js';
export type { DecoderConfig } from './config/decoder.js';
export { ROPE_TYPES, type RopeParameters, type RopeType } from './config/rope.js';
export { parseGPT2Config, type GPT2Config } from './config/gpt2.js';
export { parseLlamaConfig, type LlamaConfig } from './config/llama.js';
export { parseQwen2Config, type Qwen2Config, type LayerType } from './config/qwen2.js';
export { parseMistralConfig, type MistralConfig } from './config/mistral.js';
export { parseBertConfig, parseRobertaConfig, type BertConfig, type PositionEmbeddingType } from './config/bert.js';
export { parseT5Config, type T5Config } from './config/t5.js';
export { parseViTConfig, type ViTConfig } from './config/vit.js';
export * from './tokenizer/index.js';
