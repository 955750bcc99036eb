// A GGUF file's `tokenizer.ggml.*` metadata as the tokenizer.json + tokenizer_config.json our
// tokenizer reads: the inverse of convert_hf_to_gguf.py's _set_vocab_gpt2 (and gguf-export's
// tokenizer-metadata.ts). Byte-level BPE (`model = gpt2`) with llama.cpp's pre-tokenizers gpt-2,
// llama-bpe and qwen2 (their split regexes as llama-vocab.cpp / the HF tokenizer.json files have them).
import { PreTrainedTokenizer, type TokenizerFiles } from '../../io/index.js';
import type { TokenizerJSON } from '../../io/tokenizer/tokenizer-json.js';
import { GgufFormatError } from '../errors.js';
import { LLAMA3_SPLIT, QWEN2_SPLIT } from '../export/tokenizer-metadata.js';
import type { GgufMetadata } from '../metadata.js';
import { GgufFile } from '../reader.js';

/** llama.cpp's token types (llama_token_type): control tokens are special, user-defined ones added. */
const CONTROL = 3;
const USER_DEFINED = 4;

const SPLITS: Record<string, string | null> = {
  'gpt-2': null,
  default: null,
  'llama-bpe': LLAMA3_SPLIT,
  qwen2: QWEN2_SPLIT,
};

function preTokenizer(pre: string, path: string): unknown {
  if (!Object.hasOwn(SPLITS, pre)) {
    throw new GgufFormatError(
      path,
      `pre-tokenizer '${pre}' is not read yet; peftjs reads ${Object.keys(SPLITS).join(', ')}`,
      'tokenizer.ggml.pre',
    );
  }
  const split = SPLITS[pre];
  if (split === null) return { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    type: 'Sequence',
    pretokenizers: [
      { type: 'Split', pattern: { Regex: split }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  };
}

/** The tokenizer files of a GGUF file's metadata. */
export function tokenizerFilesFromGguf(metadata: GgufMetadata): TokenizerFiles {
  const path = metadata.path;
  const model = metadata.string('tokenizer.ggml.model');
  if (model !== 'gpt2') {
    throw new GgufFormatError(
      path,
      `is ${model === undefined ? 'absent' : `'${model}'`}; peftjs reads byte-level BPE tokenizers (gpt2) from GGUF so far`,
      'tokenizer.ggml.model',
    );
  }
  const tokens = metadata.strings('tokenizer.ggml.tokens') ?? [];
  const types = metadata.numbers('tokenizer.ggml.token_type');
  const vocab: Record<string, number> = {};
  const added: TokenizerJSON['added_tokens'] = [];
  tokens.forEach((token, id) => {
    const type = types?.[id];
    if (type === CONTROL || type === USER_DEFINED) {
      added.push({
        id,
        content: token,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: type !== CONTROL,
        special: type === CONTROL,
      });
    }
    vocab[token] ??= id;
  });
  const id = (name: string) => metadata.count(`tokenizer.ggml.${name}_token_id`);
  const content = (i: number | undefined) => (i === undefined ? undefined : tokens[i]);
  const bos = content(id('bos'));
  const addBos = metadata.bool('tokenizer.ggml.add_bos_token') ?? false;
  const sequence = { Sequence: { id: 'A', type_id: 0 } };
  const json: TokenizerJSON = {
    version: '1.0',
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: preTokenizer(metadata.string('tokenizer.ggml.pre') ?? 'default', path),
    post_processor:
      addBos && bos !== undefined
        ? {
            type: 'TemplateProcessing',
            single: [{ SpecialToken: { id: bos, type_id: 0 } }, sequence],
            pair: [],
            special_tokens: { [bos]: { id: bos, ids: [id('bos')], tokens: [bos] } },
          }
        : null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: [...(metadata.strings('tokenizer.ggml.merges') ?? [])],
    },
  };
  const config: Record<string, unknown> = { add_bos_token: addBos };
  for (const [name, key] of [
    ['bos_token', 'bos'],
    ['eos_token', 'eos'],
    ['unk_token', 'unknown'],
    ['pad_token', 'padding'],
  ] as const) {
    const token = content(id(key));
    if (token !== undefined) config[name] = token;
  }
  const template = metadata.string('tokenizer.chat_template');
  if (template !== undefined) config.chat_template = template;
  return { json, config };
}

/** The tokenizer of the GGUF file at `path`. */
export async function ggufTokenizer(path: string): Promise<PreTrainedTokenizer> {
  await using file = await GgufFile.open(path);
  return new PreTrainedTokenizer(tokenizerFilesFromGguf(file.metadata));
}
