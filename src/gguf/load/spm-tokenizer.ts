// llama.cpp's SentencePiece-style tokenizer (`tokenizer.ggml.model = "llama"`: llama-2, Mistral, TinyLlama
// files), ported from src/llama-vocab.cpp of the llama.cpp node-llama-cpp ships (tag v0.5.0's bundle):
// - encode: llama_vocab::impl::tokenize's LLAMA_VOCAB_TYPE_SPM case (a space before the first text
//   fragment and after each special token, " " escaped as "▁"), tokenizer_st_partition (special tokens
//   split out first, longest first; control and unknown ones too, as with parse_special), and
//   llm_tokenizer_spm_session::tokenize (UTF-8 characters, then the greedy merge of the adjacent pair
//   whose concatenation is the highest-scored token, ties to the leftmost; characters left outside the
//   vocabulary become <0xXX> byte tokens, byte_to_token);
// - decode: llama_vocab::impl::detokenize with remove_special = false and token_to_piece (the leading
//   space of the first piece dropped when add_space_prefix; byte tokens joined as UTF-8).
import type { TokenizerBackend } from '../../io/tokenizer/tokenizer.js';
import { GgufFormatError } from '../errors.js';

/** llama.cpp's token types (llama_token_type). */
export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export interface SpmVocabulary {
  tokens: readonly string[];
  scores: ArrayLike<number> | undefined;
  types: ArrayLike<number> | undefined;
  /** tokenizer.ggml.add_space_prefix (llama.cpp's default for SPM: true). */
  addSpacePrefix: boolean;
  /** The file, for errors. */
  path: string;
}

const SPACE_MARK = '\u2581';
const utf8 = new TextEncoder();

/** A string's UTF-8 bytes as a one-char-per-byte string: vocabulary lookups then compare bytes, as llama.cpp does. */
const bytesOf = (text: string): string => Buffer.from(utf8.encode(text)).toString('latin1');

/** The length of the UTF-8 sequence a lead byte starts (llama.cpp's unicode_len_utf8). */
function utf8Length(lead: number): number {
  const lookup = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4];
  return lookup[lead >> 4]!;
}

interface SpmSymbol {
  start: number;
  n: number;
  prev: number;
  next: number;
}

interface Bigram {
  left: number;
  right: number;
  score: number;
  size: number;
}

/** llm_bigram_spm::comparator inverted for a min-heap: true when `a` is popped before `b`. */
const before = (a: Bigram, b: Bigram): boolean => a.score > b.score || (a.score === b.score && a.left < b.left);

/** A binary heap of bigrams (std::priority_queue with llm_bigram_spm::comparator). */
class BigramQueue {
  private readonly heap: Bigram[] = [];
  get size(): number {
    return this.heap.length;
  }
  push(item: Bigram): void {
    const h = this.heap;
    let i = h.push(item) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }
  pop(): Bigram {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < h.length && before(h[l]!, h[best]!)) best = l;
        if (r < h.length && before(h[r]!, h[best]!)) best = r;
        if (best === i) break;
        [h[i], h[best]] = [h[best]!, h[i]!];
        i = best;
      }
    }
    return top;
  }
}

export class SpmTokenizerBackend implements TokenizerBackend {
  /** Token text (as UTF-8 bytes, one char each) -> id; the last of duplicates wins, as in llama.cpp's token_to_id. */
  private readonly byBytes = new Map<string, number>();
  private readonly byText = new Map<string, number>();
  private readonly texts: string[];
  private readonly scores: Float32Array;
  private readonly types: Uint8Array;
  /** Control, user-defined and unknown tokens, longest first (llama.cpp's cache_special_tokens). */
  private readonly specials: number[];
  private readonly addSpacePrefix: boolean;
  private readonly path: string;

  constructor(vocab: SpmVocabulary) {
    const n = vocab.tokens.length;
    this.path = vocab.path;
    this.addSpacePrefix = vocab.addSpacePrefix;
    this.texts = vocab.tokens.map((t, i) => (t === '' ? `[EMPTY_${i}]` : t));
    this.scores = Float32Array.from({ length: n }, (_, i) => vocab.scores?.[i] ?? 0);
    this.types = Uint8Array.from({ length: n }, (_, i) => vocab.types?.[i] ?? TokenType.NORMAL);
    this.texts.forEach((text, id) => {
      this.byBytes.set(bytesOf(text), id);
      this.byText.set(text, id);
    });
    const special = new Set<number>([TokenType.CONTROL, TokenType.USER_DEFINED, TokenType.UNKNOWN]);
    this.specials = [...this.texts.keys()]
      .filter((id) => special.has(this.types[id]!))
      .sort((a, b) => bytesOf(this.texts[b]!).length - bytesOf(this.texts[a]!).length);
  }

  token_to_id(token: string): number | undefined {
    return this.byText.get(token);
  }

  id_to_token(id: number): string | undefined {
    return this.texts[id];
  }

  tokenize(text: string): string[] {
    return this.encode(text).ids.map((id) => this.texts[id]!);
  }

  /** The ids of `text` without BOS/EOS (the tokenizer's post-processor adds those). */
  encode(text: string, _options?: { add_special_tokens?: boolean }): { ids: number[] } {
    const ids: number[] = [];
    let prevSpecial = true;
    for (const fragment of this.partition(text)) {
      if (typeof fragment === 'number') {
        ids.push(fragment);
        prevSpecial = true;
        continue;
      }
      const spaced = (this.addSpacePrefix && prevSpecial ? ' ' : '') + fragment;
      this.encodeFragment(bytesOf(spaced.replaceAll(' ', SPACE_MARK)), ids);
      prevSpecial = false;
    }
    return { ids };
  }

  /** llama_detokenize(remove_special = false): special tokens' text unless `skip_special_tokens`. */
  decode(ids: number[], options: { skip_special_tokens?: boolean } = {}): string {
    const bytes: number[] = [];
    let removeSpace = this.addSpacePrefix;
    for (const id of ids) {
      let piece = this.piece(id, !(options.skip_special_tokens ?? false));
      // token_to_piece's lstrip: one leading space of the first piece.
      if (removeSpace && piece[0] === 0x20) piece = piece.subarray(1);
      removeSpace = false;
      for (const b of piece) bytes.push(b);
    }
    return new TextDecoder().decode(Uint8Array.from(bytes));
  }

  /** token_to_piece's SPM case: the piece's bytes. */
  private piece(id: number, special: boolean): Uint8Array {
    const type = this.types[id];
    const text = this.texts[id]!;
    if (type === TokenType.CONTROL || type === TokenType.UNKNOWN) return special ? utf8.encode(text) : new Uint8Array();
    if (type === TokenType.USER_DEFINED) return utf8.encode(text);
    if (type === TokenType.NORMAL) return utf8.encode(text.replaceAll(SPACE_MARK, ' '));
    if (type === TokenType.BYTE) return Uint8Array.of(Number.parseInt(text.slice(3, 5), 16));
    return new Uint8Array(); // unused and undefined tokens print nothing
  }

  /** tokenizer_st_partition: text fragments and special-token ids, in order. */
  private partition(text: string): (string | number)[] {
    let fragments: (string | number)[] = text === '' ? [] : [text];
    for (const id of this.specials) {
      const special = this.texts[id]!;
      fragments = fragments.flatMap((fragment) => {
        if (typeof fragment === 'number' || !fragment.includes(special)) return [fragment];
        const parts = fragment.split(special);
        return parts.flatMap((part, i) => [...(i > 0 ? [id] : []), ...(part === '' ? [] : [part])]);
      });
    }
    return fragments;
  }

  /** llm_tokenizer_spm_session::tokenize on one fragment's bytes (one char per byte). */
  private encodeFragment(bytes: string, out: number[]): void {
    const symbols: SpmSymbol[] = [];
    for (let offs = 0; offs < bytes.length; ) {
      const n = Math.min(utf8Length(bytes.charCodeAt(offs)), bytes.length - offs);
      const index = symbols.length;
      symbols.push({ start: offs, n, prev: index - 1, next: offs + n === bytes.length ? -1 : index + 1 });
      offs += n;
    }
    const queue = new BigramQueue();
    const tryAdd = (left: number, right: number): void => {
      if (left === -1 || right === -1) return;
      const l = symbols[left]!;
      const size = l.n + symbols[right]!.n;
      const id = this.byBytes.get(bytes.slice(l.start, l.start + size));
      if (id === undefined) return;
      queue.push({ left, right, score: this.scores[id]!, size });
    };
    for (let i = 1; i < symbols.length; i++) tryAdd(i - 1, i);
    while (queue.size > 0) {
      const bigram = queue.pop();
      const left = symbols[bigram.left]!;
      const right = symbols[bigram.right]!;
      // One of them was merged since: a stale pair.
      if (left.n === 0 || right.n === 0 || left.n + right.n !== bigram.size) continue;
      left.n += right.n;
      right.n = 0;
      left.next = right.next;
      if (right.next >= 0) symbols[right.next]!.prev = bigram.left;
      tryAdd(left.prev, bigram.left);
      tryAdd(bigram.left, left.next);
    }
    // resegment: every merged symbol is a token (a pair merges only into one), so only single characters
    // outside the vocabulary are left, and those become byte tokens (llama.cpp's rev_merge never applies).
    for (let i = symbols.length === 0 ? -1 : 0; i !== -1; i = symbols[i]!.next) {
      const { start, n } = symbols[i]!;
      const id = this.byBytes.get(bytes.slice(start, start + n));
      if (id !== undefined) {
        out.push(id);
        continue;
      }
      for (let j = start; j < start + n; j++) out.push(this.byteToken(bytes.charCodeAt(j)));
    }
  }

  /** llama_vocab::byte_to_token: <0xXX>, else the byte itself as a token. */
  private byteToken(byte: number): number {
    const hex = `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`;
    const id = this.byBytes.get(hex) ?? this.byBytes.get(String.fromCharCode(byte));
    if (id === undefined) {
      throw new GgufFormatError(
        this.path,
        `has no byte token ${hex} for a character outside its vocabulary; SentencePiece vocabularies need the 256 byte-fallback tokens`,
        'tokenizer.ggml.tokens',
      );
    }
    return id;
  }
}
