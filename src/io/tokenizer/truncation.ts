// Truncation of one sequence or a pair to a length, as the `tokenizers` library does it (truncate_encodings).
import { TokenizerError } from './errors.js';
import type { Side } from './config.js';

export type TruncationStrategy = 'longest_first' | 'only_first' | 'only_second';

/** Keeps `length` ids, dropping them from the end (right) or the start (left). */
function cut(ids: number[], length: number, side: Side): number[] {
  if (ids.length <= length) return ids;
  return side === 'right' ? ids.slice(0, length) : ids.slice(ids.length - length);
}

const tooShort = (maxLength: number, strategy: TruncationStrategy) =>
  new TokenizerError('E_TRUNCATION', `truncation '${strategy}' cannot fit the text into the ${maxLength} tokens left after special tokens: the sequence it may cut is too short; use truncation 'longest_first' or a larger maxLength`);

/**
 * Truncates `a` (and `b`) so that together they hold at most `maxLength` ids. With a pair, 'longest_first' shares
 * the length between both: the shorter keeps what it has if the other can take the rest, else each gets half.
 */
export function truncate(
  a: number[],
  b: number[] | null,
  maxLength: number,
  strategy: TruncationStrategy,
  side: Side,
): [number[], number[] | null] {
  // As in `tokenizers`, a length of 0 empties both sequences whatever the strategy.
  if (maxLength === 0) return [[], b === null ? null : []];
  const total = a.length + (b?.length ?? 0);
  if (total <= maxLength) return [a, b];
  const excess = total - maxLength;
  if (strategy === 'longest_first') {
    if (b === null) return [cut(a, maxLength, side), null];
    // The shorter keeps its length if the longer can take the rest (the longer's own length never matters).
    let short = Math.min(a.length, b.length);
    let long = short > maxLength ? short : Math.max(short, maxLength - short);
    if (short + long > maxLength) {
      short = Math.floor(maxLength / 2);
      long = short + (maxLength % 2);
    }
    const [na, nb] = a.length > b.length ? [long, short] : [short, long];
    return [cut(a, na, side), cut(b, nb, side)];
  }
  if (strategy === 'only_second' && b === null) {
    throw new TokenizerError('E_TRUNCATION', "truncation 'only_second' needs a pair of sequences; pass textPair or use 'longest_first'");
  }
  const target = strategy === 'only_first' ? a : b!;
  if (target.length <= excess) throw tooShort(maxLength, strategy);
  const kept = cut(target, target.length - excess, side);
  return strategy === 'only_first' ? [kept, b] : [a, kept];
}
