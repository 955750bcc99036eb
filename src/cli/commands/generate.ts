// peft generate: a prompt through a model that generates text (a causal LM, or a sequence-to-sequence
// model such as T5), with an adapter or not; the text streamed as tokens come.
import { Generator, tensor, type Tensor } from '../../tensor/index.js';
import type { GenerateOptions } from '../../models/index.js';
import { openTokenizer } from '../model-folder.js';
import { openWithAdapter } from './adapter-model.js';
import { UsageError } from '../exit-codes.js';

export interface GenerateCommandOptions {
  model: string;
  adapter?: string;
  prompt: string;
  maxNewTokens: number;
  temperature?: number;
  topP?: number;
  seed: number;
}

type Generating = { generate?(inputIds: Tensor, options?: GenerateOptions): Tensor };

/** Generates, calling `onText` with each new piece of decoded text; returns the whole continuation. */
export async function generateCommand(o: GenerateCommandOptions, onText: (piece: string) => void): Promise<string> {
  const { base, peft, task } = await openWithAdapter(o.model, o.adapter);
  const model = (peft ?? base) as Generating;
  if ((task !== 'causal-lm' && task !== 'seq2seq-lm') || typeof model.generate !== 'function') {
    const what = o.adapter === undefined ? `${o.model} holds a ${base.constructor.name}` : `the adapter is for a ${task} model (a ${base.constructor.name})`;
    throw new UsageError(`peft generate needs a model that generates text (a causal LM, or a sequence-to-sequence model such as T5); ${what}: use peft eval for it`);
  }
  const tokenizer = await openTokenizer(o.model);
  const ids = tokenizer.encode(o.prompt);
  const eos = tokenizer.eosTokenId;
  const produced: number[] = [];
  let shown = '';
  const out = model.generate(tensor(ids, [1, ids.length], 'int64'), {
    maxNewTokens: o.maxNewTokens,
    doSample: o.temperature !== undefined || o.topP !== undefined,
    temperature: o.temperature,
    topP: o.topP,
    generator: new Generator(o.seed),
    ...(eos === null ? {} : { eosTokenId: eos }),
    onToken: ([token]) => {
      if (token === undefined || token === eos) return;
      produced.push(token);
      // Decode everything so far and show what is new; hold back an unfinished multi-byte character.
      const text = tokenizer.decode(produced, { skipSpecialTokens: true });
      if (text.endsWith('\uFFFD')) return;
      onText(text.slice(shown.length));
      shown = text;
    },
  });
  out.dispose();
  const text = tokenizer.decode(produced, { skipSpecialTokens: true });
  if (text.length > shown.length) onText(text.slice(shown.length));
  return text;
}
