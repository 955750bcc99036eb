// peftjs in a web page (the browser build's entry): the engine, the models and tokenizers, the PEFT
// methods and the optimizers, with files read from URLs, picked File objects or the origin-private
// file system and written into Blobs. No module on this path imports node: (checked when building).
export * from '../tensor/index.js';
export * from '../models/index.js';
export * from '../peft/index.js';
export * from '../train/optim/index.js';
export { LRScheduler, scheduleFactor, SCHEDULES, type ScheduleName, type ScheduleOptions } from '../train/schedule.js';
export { clipGradNorm } from '../train/clip.js';
export { AutoTokenizer, PreTrainedTokenizer } from '../io/tokenizer/index.js';
export { loadConfig, parseConfig, type ModelConfig } from '../io/config/load.js';
export { MissingFileError, SafetensorsError, ConfigError } from '../io/errors.js';
export { SafetensorsFile, loadSafetensors } from '../io/safetensors/reader.js';
export { safetensorsChunks } from '../io/safetensors/serialize.js';
export type { FileSource, FileSink, ReadableFile } from '../io/files/types.js';
export { BlobSource, BlobSink, blobFile } from '../io/files/blobs.js';
export { UrlSource } from '../io/files/url.js';
export { OpfsSource, type DirectoryHandle } from '../io/files/opfs.js';
