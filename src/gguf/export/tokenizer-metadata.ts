// A Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) as llama.cpp's `tokenizer.ggml.*`
// metadata, following convert_hf_to_gguf.py (TextModel.get_vocab_base, _set_vocab_gpt2, and
// gguf-py's SpecialVocab for the special ids, add_bos/add_eos and the chat template).
// Byte-level BPE (GPT-2, Llama 3, Qwen2 style) only: llama.cpp's `gpt2` tokenizer model, its
// pre-tokenizer named by the regex tokenizer.json splits with (llama.cpp's llama-vocab.cpp picks
// its own regexes from that name).
import type { TokenizerFiles } from '../../io/index.js';
import { readTokenizerSettings } from '../../io/tokenizer/config.js';
import { modelVocab } from '../../io/tokenizer/tokenizer-json.js';
import { GgufExportError } from './errors.js';
import { gguf, type GgufValue } from '../metadata.js';

/** llama.cpp's token types (llama_token_type / gguf-py TokenType). */
const TokenType = { NORMAL: 1, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5 } as const;

// The GPT-2 split regex (`ByteLevel` with use_regex), and the two Split regexes tokenizer.json files
// of Llama 3 and Qwen2 carry, by the name llama.cpp gives their pre-tokenizer.
export const LLAMA3_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
export const QWEN2_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

type Json = Record<string, unknown>;

/** llama.cpp's name for the pre-tokenizer of `pre` (tokenizer.json's pre_tokenizer). */
function preTokenizerName(pre: unknown): string {
  const steps = (
    (pre as Json | null)?.type === 'Sequence' ? ((pre as Json).pretokenizers as Json[]) : [pre as Json]
  ).filter((s) => s !== null);
  const byteLevel = steps.find((s) => s.type === 'ByteLevel');
  const split = steps.find((s) => s.type === 'Split');
  if (byteLevel !== undefined && split === undefined && byteLevel.use_regex !== false && steps.length === 1)
    return 'gpt-2';
  const pattern = (split?.pattern as Json | undefined)?.Regex;
  if (byteLevel !== undefined && pattern === LLAMA3_SPLIT) return 'llama-bpe';
  if (byteLevel !== undefined && pattern === QWEN2_SPLIT) return 'qwen2';
  throw new GgufExportError(
    `the tokenizer's pre-tokenizer (${JSON.stringify(pre).slice(0, 200)}) is not one llama.cpp is known to match; peftjs exports byte-level BPE tokenizers of the GPT-2, Llama 3 and Qwen2 kinds`,
  );
}

/** convert_hf_to_gguf.py's TextModel.does_token_look_special. */
function looksSpecial(token: string): boolean {
  return (token.startsWith('<|') && token.endsWith('|>')) || ['<pad>', '<mask>', '<2mass>', '[@BOS@]'].includes(token);
}

/** tokenizer.json's merges ("a b" strings, or [a, b] pairs in newer files) as "a b" strings. */
function mergeStrings(merges: unknown): string[] {
  if (!Array.isArray(merges)) return [];
  return merges.map((m) => (Array.isArray(m) ? m.join(' ') : String(m)));
}

/**
 * `tokenizer.ggml.*` for `files`, with `vocabSize` entries (the embedding's rows: ids the tokenizer
 * lacks become unused `[PAD<id>]` tokens, as the converter writes them).
 */
export function tokenizerMetadata(files: TokenizerFiles, vocabSize: number): Map<string, GgufValue> {
  const { json, config } = files;
  if (json.model.type !== 'BPE' || json.model.byte_fallback === true) {
    throw new GgufExportError(
      `the tokenizer is a ${String(json.model.type)}${json.model.byte_fallback === true ? ' with byte fallback (SentencePiece style)' : ''} model; peftjs exports byte-level BPE tokenizers (GPT-2, Llama 3, Qwen2)`,
    );
  }
  const pre = preTokenizerName(json.pre_tokenizer);
  const settings = readTokenizerSettings(config);
  const byId = new Map<number, string>();
  for (const [token, id] of modelVocab(json)) byId.set(id, token);
  const added = new Map(json.added_tokens.map((t) => [t.id, t]));
  for (const t of json.added_tokens) byId.set(t.id, t.content);
  const largest = Math.max(...byId.keys());
  if (largest >= vocabSize)
    throw new GgufExportError(`the tokenizer has token id ${largest}, beyond the model's ${vocabSize} embedding rows`);
  const tokens: string[] = [];
  const types: number[] = [];
  for (let id = 0; id < vocabSize; id++) {
    const token = byId.get(id);
    const extra = added.get(id);
    tokens.push(token ?? `[PAD${id}]`);
    types.push(
      token === undefined
        ? TokenType.UNUSED
        : extra === undefined
          ? TokenType.NORMAL
          : extra.special === true || looksSpecial(token)
            ? TokenType.CONTROL
            : TokenType.USER_DEFINED,
    );
  }
  const m = new Map<string, GgufValue>([
    ['tokenizer.ggml.model', gguf.str('gpt2')],
    ['tokenizer.ggml.pre', gguf.str(pre)],
    ['tokenizer.ggml.tokens', gguf.strings(tokens)],
    ['tokenizer.ggml.token_type', gguf.i32s(types)],
    ['tokenizer.ggml.merges', gguf.strings(mergeStrings(json.model.merges))],
  ]);
  const idOf = new Map(tokens.map((t, i) => [t, i]));
  // gguf-py's key really is spelt "seperator".
  for (const [name, key] of [
    ['bos_token', 'bos'],
    ['eos_token', 'eos'],
    ['unk_token', 'unknown'],
    ['sep_token', 'seperator'],
    ['pad_token', 'padding'],
  ] as const) {
    const content = settings.specialTokens.get(name);
    const id = content === undefined ? undefined : idOf.get(content);
    if (id !== undefined) m.set(`tokenizer.ggml.${key}_token_id`, gguf.u32(id));
  }
  for (const key of ['add_bos_token', 'add_eos_token']) {
    if (typeof config[key] === 'boolean') m.set(`tokenizer.ggml.${key}`, gguf.bool(config[key]));
  }
  const template = settings.chatTemplate;
  if (typeof template === 'string') m.set('tokenizer.chat_template', gguf.str(template));
  else if (template !== null) {
    for (const [name, text] of Object.entries(template))
      m.set(name === 'default' ? 'tokenizer.chat_template' : `tokenizer.chat_template.${name}`, gguf.str(text));
  }
  return m;
}
