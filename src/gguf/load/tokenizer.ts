// A GGUF file's `tokenizer.ggml.*` metadata as the tokenizer.json + tokenizer_config.json our
// tokenizer reads: byte-level BPE (`model = gpt2`, the inverse of convert_hf_to_gguf.py's _set_vocab_gpt2
// and gguf-export's tokenizer-metadata.ts) with llama.cpp's pre-tokenizers gpt-2, llama-bpe and qwen2
// (their split regexes as llama-vocab.cpp / the HF tokenizer.json files have them); SentencePiece-style
// (`model = llama`) run by llama.cpp's SPM algorithm (spm-tokenizer.ts).
import { PreTrainedTokenizer, type TokenizerFiles } from '../../io/index.js';
import type { TokenizerJSON } from '../../io/tokenizer/tokenizer-json.js';
import { GgufFormatError } from '../errors.js';
import { LLAMA3_SPLIT, QWEN2_SPLIT } from '../export/tokenizer-metadata.js';
import type { GgufMetadata, GgufValue } from '../metadata.js';
import { GgufFile } from '../reader.js';
import { SpmTokenizerBackend, TokenType } from './spm-tokenizer.js';


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

/** Control and user-defined tokens as tokenizer.json's added tokens (control ones special). */
function addedTokens(tokens: readonly string[], types: ArrayLike<number> | undefined): TokenizerJSON['added_tokens'] {
  const added: TokenizerJSON['added_tokens'] = [];
  tokens.forEach((token, id) => {
    const type = types?.[id];
    if (type === TokenType.CONTROL || type === TokenType.USER_DEFINED) {
      added.push({
        id,
        content: token,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: type !== TokenType.CONTROL,
        special: type === TokenType.CONTROL,
      });
    }
  });
  return added;
}

/** tokenizer.json's TemplateProcessing for add_bos / add_eos (null when neither applies). */
function bosEosProcessor(bos: [string, number] | undefined, eos: [string, number] | undefined): unknown {
  if (bos === undefined && eos === undefined) return null;
  const special = (token: [string, number]) => ({ SpecialToken: { id: token[0], type_id: 0 } });
  const entries = [bos, eos].filter((t) => t !== undefined);
  return {
    type: 'TemplateProcessing',
    single: [...(bos ? [special(bos)] : []), { Sequence: { id: 'A', type_id: 0 } }, ...(eos ? [special(eos)] : [])],
    pair: [],
    special_tokens: Object.fromEntries(entries.map(([t, id]) => [t, { id: t, ids: [id], tokens: [t] }])),
  };
}

/** The `tokenizer.ggml.*` keys both tokenizer models share. */
function commonParts(metadata: GgufMetadata, defaults: { addBos: boolean; bos?: number; eos?: number; unk?: number }) {
  const tokens = metadata.strings('tokenizer.ggml.tokens') ?? [];
  const types = metadata.numbers('tokenizer.ggml.token_type');
  const id = (name: string, fallback?: number) => metadata.count(`tokenizer.ggml.${name}_token_id`) ?? fallback;
  const named = (i: number | undefined): [string, number] | undefined =>
    i === undefined || tokens[i] === undefined ? undefined : [tokens[i], i];
  const bos = named(id('bos', defaults.bos));
  const eos = named(id('eos', defaults.eos));
  const addBos = metadata.bool('tokenizer.ggml.add_bos_token') ?? defaults.addBos;
  const addEos = metadata.bool('tokenizer.ggml.add_eos_token') ?? false;
  const config: Record<string, unknown> = { add_bos_token: addBos, add_eos_token: addEos };
  for (const [name, token] of [
    ['bos_token', bos],
    ['eos_token', eos],
    ['unk_token', named(id('unknown', defaults.unk))],
    ['pad_token', named(id('padding'))],
  ] as const) {
    if (token !== undefined) config[name] = token[0];
  }
  const template = metadata.string('tokenizer.chat_template');
  if (template !== undefined) config.chat_template = template;
  return {
    tokens,
    types,
    config,
    added: addedTokens(tokens, types),
    postProcessor: bosEosProcessor(addBos ? bos : undefined, addEos ? eos : undefined),
  };
}

/** Byte-level BPE (`model = gpt2`): the inverse of convert_hf_to_gguf.py's _set_vocab_gpt2. */
function bpeFiles(metadata: GgufMetadata): TokenizerFiles {
  const { tokens, config, added, postProcessor } = commonParts(metadata, { addBos: false });
  const vocab: Record<string, number> = {};
  tokens.forEach((token, id) => {
    vocab[token] ??= id;
  });
  const json: TokenizerJSON = {
    version: '1.0',
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: preTokenizer(metadata.string('tokenizer.ggml.pre') ?? 'default', metadata.path),
    post_processor: postProcessor,
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
  return { json, config };
}

/**
 * SentencePiece-style (`model = llama`): the vocabulary, added tokens and BOS/EOS as tokenizer files, and
 * llama.cpp's SPM tokenizer as the model that runs them (llama.cpp's defaults: BOS 1, EOS 2, unknown 0, add_bos).
 */
function spmTokenizer(metadata: GgufMetadata): PreTrainedTokenizer {
  const { tokens, types, config, added, postProcessor } = commonParts(metadata, { addBos: true, bos: 1, eos: 2, unk: 0 });
  const vocab: Record<string, number> = {};
  tokens.forEach((token, id) => {
    vocab[token] = id;
  });
  const json: TokenizerJSON = {
    version: '1.0',
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: null,
    post_processor: postProcessor,
    decoder: null,
    model: { type: 'SentencePiece (llama.cpp)', vocab },
  };
  const backend = new SpmTokenizerBackend({
    tokens,
    types,
    scores: metadata.numbers('tokenizer.ggml.scores'),
    addSpacePrefix: metadata.bool('tokenizer.ggml.add_space_prefix') ?? true,
    path: metadata.path,
  });
  return new PreTrainedTokenizer({ json, config }, backend);
}

const MODELS: Record<string, (metadata: GgufMetadata) => PreTrainedTokenizer> = {
  gpt2: (metadata) => new PreTrainedTokenizer(bpeFiles(metadata)),
  llama: spmTokenizer,
};

/** The tokenizer of a GGUF file's metadata. */
export function tokenizerFromGguf(metadata: GgufMetadata): PreTrainedTokenizer {
  const model = metadata.string('tokenizer.ggml.model');
  if (model === undefined || !Object.hasOwn(MODELS, model)) {
    throw new GgufFormatError(
      metadata.path,
      `is ${model === undefined ? 'absent' : `'${model}'`}; peftjs reads the tokenizer models ${Object.keys(MODELS).join(' (byte-level BPE), ')} (SentencePiece) from GGUF`,
      'tokenizer.ggml.model',
    );
  }
  return MODELS[model]!(metadata);
}

/** The tokenizer of the GGUF file at `path`. */
export async function ggufTokenizer(path: string): Promise<PreTrainedTokenizer> {
  await using file = await GgufFile.open(path);
  return tokenizerFromGguf(file.metadata);
}

/** The tokenizer.json and tokenizer_config.json of a GGUF file's byte-level BPE tokenizer; null for SentencePiece ones. */
export async function ggufTokenizerFiles(path: string): Promise<TokenizerFiles | null> {
  await using file = await GgufFile.open(path);
  return file.metadata.string('tokenizer.ggml.model') === 'gpt2' ? bpeFiles(file.metadata) : null;
}

/** A GGUF file's `tokenizer.*` metadata as it is, to write into another GGUF file. */
export async function ggufTokenizerMetadata(path: string): Promise<Map<string, GgufValue>> {
  await using file = await GgufFile.open(path);
  return new Map([...file.metadata.entries].filter(([key]) => key.startsWith('tokenizer.')));
}
