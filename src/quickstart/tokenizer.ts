// A small WordPiece tokenizer for the quickstart's encoder, built from the pretraining mails without any
// training algorithm: BERT's uncased normaliser and pre-tokeniser, and a vocabulary of the five
// special tokens, every character seen at least MIN_CHAR_COUNT times (alone and as a "##"
// continuation, so that any word of known characters still tokenises), then the most frequent
// whole words up to the vocabulary size. It is written as a standard tokenizer.json (HF's
// BertNormalizer / BertPreTokenizer / WordPiece / BertProcessing) and loaded back with the
// project's AutoTokenizer, so the checkpoint folder is a complete HF model folder.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AutoTokenizer, type PreTrainedTokenizer } from '../io/index.js';

export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;
const MIN_CHAR_COUNT = 5;

/**
 * The words BertPreTokenizer would see after BertNormalizer (lowercased, accents stripped): runs
 * of letters, marks and digits, and every other non-space character on its own. (BERT keeps a few
 * non-ASCII symbols attached to words; a word counted here that it splits only goes unused.)
 */
function words(text: string): string[] {
  const normalized = text.normalize('NFD').replace(/\p{Mn}/gu, '').toLowerCase();
  return normalized.match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? [];
}

/** The vocabulary in id order: special tokens (ids 0-4), characters, "##" characters, frequent words. */
export function buildVocabulary(texts: readonly string[], size: number): string[] {
  const wordCounts = new Map<string, number>();
  const charCounts = new Map<string, number>();
  for (const text of texts) {
    for (const word of words(text)) {
      wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
      for (const char of word) charCounts.set(char, (charCounts.get(char) ?? 0) + 1);
    }
  }
  const byCount = (counts: Map<string, number>) => [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([token]) => token);
  const chars = byCount(charCounts).filter((c) => charCounts.get(c)! >= MIN_CHAR_COUNT);
  const vocab = [...SPECIAL_TOKENS, ...chars, ...chars.map((c) => `##${c}`)];
  if (vocab.length > size) throw new RangeError(`a vocabulary of ${size} cannot hold the ${vocab.length} special and character tokens; raise it`);
  const known = new Set(vocab);
  for (const word of byCount(wordCounts)) {
    if (vocab.length >= size) break;
    if (!known.has(word)) vocab.push(word);
  }
  return vocab;
}

/** tokenizer.json (HF tokenizers' format) for a WordPiece vocabulary with BERT's pipeline. */
function tokenizerJson(vocab: readonly string[]): Record<string, unknown> {
  const id = (token: string) => vocab.indexOf(token);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content) => ({ id: id(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: { type: 'BertProcessing', sep: ['[SEP]', id('[SEP]')], cls: ['[CLS]', id('[CLS]')] },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(vocab.map((t, i) => [t, i])) },
  };
}

/** Writes tokenizer.json and tokenizer_config.json for `vocab` into `dir` and loads them back. */
export async function saveTokenizer(dir: string, vocab: readonly string[], maxLength: number): Promise<PreTrainedTokenizer> {
  const config = {
    tokenizer_class: 'BertTokenizer', do_lower_case: true, model_max_length: maxLength,
    unk_token: '[UNK]', pad_token: '[PAD]', cls_token: '[CLS]', sep_token: '[SEP]', mask_token: '[MASK]',
  };
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson(vocab)));
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(config, null, 2));
  return AutoTokenizer.fromPretrained(dir);
}
