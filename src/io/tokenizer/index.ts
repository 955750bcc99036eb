// Tokenizers from tokenizer.json (see tokenizer.ts): the public surface.
export { AutoTokenizer } from './auto.js';
export {
  PreTrainedTokenizer,
  type EncodeOptions,
  type CallOptions,
  type DecodeOptions,
  type ChatTemplateOptions,
} from './tokenizer.js';
export type { BatchEncoding, IdDType } from './batch-encoding.js';
export type { ChatMessage } from './chat-template.js';
export type { ChatTemplates, Side } from './config.js';
export type { Padding, Truncation } from './strategies.js';
export type { TruncationStrategy } from './truncation.js';
export { TokenizerError, type TokenizerErrorCode } from './errors.js';
export { readTokenizerFiles, type TokenizerFiles } from './files.js';
