// transformers' clean_up_tokenization: removes the spaces WordPiece decoding leaves before punctuation and
// contractions ("do n't" -> "don't"). It corrupts BPE output, so decode applies it only where transformers does.
const REPLACEMENTS: [string, string][] = [
  [' .', '.'],
  [' ?', '?'],
  [' !', '!'],
  [' ,', ','],
  [" ' ", "'"],
  [" n't", "n't"],
  [" 'm", "'m"],
  [" 's", "'s"],
  [" 've", "'ve"],
  [" 're", "'re"],
];

export function cleanUpTokenization(text: string): string {
  return REPLACEMENTS.reduce((out, [from, to]) => out.replaceAll(from, to), text);
}
