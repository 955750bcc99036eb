// tokenizer.json (the `tokenizers` library's serialisation): its shape, and the edits transformers makes on load.
import { TokenizerError } from './errors.js';

export interface AddedTokenJSON {
  id: number;
  content: string;
  single_word?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  normalized?: boolean;
  special?: boolean;
}

export interface TokenizerJSON {
  model: { type?: string; vocab: Record<string, number> | [string, number][]; [key: string]: unknown };
  added_tokens: AddedTokenJSON[];
  normalizer: unknown;
  pre_tokenizer: unknown;
  post_processor: unknown;
  decoder: unknown;
  [key: string]: unknown;
}

/** Checks the parts every tokenizer.json has, so a malformed file fails here with its name. */
export function checkTokenizerJSON(value: unknown, source: string): TokenizerJSON {
  const json = value as Partial<TokenizerJSON> | null;
  const vocab = json?.model?.vocab;
  if (json === null || typeof json !== 'object' || typeof json.model !== 'object' || vocab === null || typeof vocab !== 'object') {
    throw new TokenizerError('E_TOKENIZER_FILE', `${source} is not a tokenizers serialisation: it has no "model" with a "vocab"`);
  }
  if (json.added_tokens !== undefined && !Array.isArray(json.added_tokens)) {
    throw new TokenizerError('E_TOKENIZER_FILE', `${source}: "added_tokens" must be a list`);
  }
  return {
    ...json,
    added_tokens: json.added_tokens ?? [],
    normalizer: json.normalizer ?? null,
    pre_tokenizer: json.pre_tokenizer ?? null,
    post_processor: json.post_processor ?? null,
    decoder: json.decoder ?? null,
  } as TokenizerJSON;
}

/** The model's own vocabulary, token -> id (Unigram stores [piece, score] pairs in id order). */
export function modelVocab(json: TokenizerJSON): Map<string, number> {
  const vocab = json.model.vocab;
  return Array.isArray(vocab) ? new Map(vocab.map(([piece], id) => [piece, id])) : new Map(Object.entries(vocab));
}

/**
 * Registers `tokens` as special added tokens, as transformers does for every configured special token: one
 * already added keeps its flags and becomes special; one the model knows is added at its id; a new one gets the
 * next id (the `tokenizers` rule: max(model vocab size, largest added id + 1)).
 */
export function withSpecialTokens(json: TokenizerJSON, tokens: Iterable<string>): TokenizerJSON {
  const vocab = modelVocab(json);
  const added = json.added_tokens.map((t) => ({ ...t }));
  for (const content of tokens) {
    const existing = added.find((t) => t.content === content);
    if (existing) {
      existing.special = true;
      continue;
    }
    const id = vocab.get(content) ?? Math.max(vocab.size, ...added.map((t) => t.id + 1));
    added.push({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  }
  return { ...json, added_tokens: added };
}
