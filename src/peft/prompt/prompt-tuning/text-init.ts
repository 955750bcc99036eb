// TEXT init's token ids: prompt_tuning_init_text tokenized by the tokenizer in
// tokenizer_name_or_path (with special tokens, as HF's tokenizer(text) does), cut or repeated to
// the number of virtual tokens. Adapters are added synchronously, so the folder's tokenizer.json
// and tokenizer_config.json are read synchronously here (chat templates play no part in encoding).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PreTrainedTokenizer } from '../../../io/tokenizer/index.js';
import { checkTokenizerJSON } from '../../../io/tokenizer/tokenizer-json.js';
import { PeftConfigError } from '../../errors.js';

export function textInitTokenIds(text: string, tokenizerDir: string, tokens: number): number[] {
  const read = (file: string, required: boolean): unknown => {
    try {
      return JSON.parse(readFileSync(join(tokenizerDir, file), 'utf8'));
    } catch (error) {
      if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new PeftConfigError(`prompt_tuning_init 'TEXT': cannot read ${join(tokenizerDir, file)} (${(error as Error).message}); tokenizer_name_or_path must be a folder with tokenizer.json`);
    }
  };
  const path = join(tokenizerDir, 'tokenizer.json');
  const tokenizer = new PreTrainedTokenizer({ json: checkTokenizerJSON(read('tokenizer.json', true), path), config: read('tokenizer_config.json', false) as Record<string, unknown> });
  const ids = tokenizer.encode(text);
  if (ids.length === 0) throw new PeftConfigError(`prompt_tuning_init_text ${JSON.stringify(text)} has no tokens; give a non-empty text`);
  return Array.from({ length: tokens }, (_, i) => ids[i % ids.length]!);
}
