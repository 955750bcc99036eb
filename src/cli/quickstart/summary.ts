// What the quickstart prints at the end: the held-out scores beside the majority class, a few
// mails with their classes, the files written, and the commands to try next.
import { isAbsolute, relative } from 'node:path';
import type { Classified } from './classify.js';

export interface QuickstartResult {
  method: string;
  encoder: string;
  encoderBuilt: boolean;
  output: string;
  adapter: string;
  report: string;
  metrics: string;
  recipe: string;
  testFile: string;
  testMails: number;
  evalAccuracy: number;
  evalF1: number;
  /** Accuracy of always answering the commoner class of the test mails. */
  majorityAccuracy: number;
  majorityLabel: string;
  samples: Classified[];
  next: string[];
  seconds: number;
}

/** `path` as a user types it: relative to the working folder when inside it, quoted for a POSIX shell when needed. */
export function shellPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, path);
  const shown = rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
  return /^[\w@%+=:,./-]+$/.test(shown) ? shown : `'${shown.replace(/'/g, `'\\''`)}'`;
}

/** The commands to try next; `maxLength` is the tokens per mail the adapter was trained on. */
export function nextCommands(r: Pick<QuickstartResult, 'encoder' | 'adapter' | 'testFile' | 'recipe'>, maxLength: number): string[] {
  const [model, adapter, test, recipe] = [r.encoder, r.adapter, r.testFile, r.recipe].map((p) => shellPath(p));
  return [
    `peft eval --model ${model} --adapter ${adapter} --data ${test} --format classification --max-length ${maxLength}`,
    `peft info ${adapter} --model ${model}`,
    `peft train ${recipe} --model ./your-model --output runs/spam    # your own Hugging Face model folder (config.json, model.safetensors, tokenizer.json)`,
    `peft eval --model ./your-model --adapter runs/spam/adapter --data ${test} --format classification --max-length ${maxLength}`,
  ];
}

const percent = (v: number) => `${(100 * v).toFixed(1)}%`;

/** One line per mail: the class given, its probability, right or wrong, and the mail's start. */
function sampleLine(s: Classified): string {
  const mark = s.predicted === s.label ? 'right' : `wrong, it is ${s.label}`;
  const text = s.text.length > 72 ? `${s.text.slice(0, 71)}…` : s.text;
  return `  ${s.predicted.padEnd(4)} ${s.probability.toFixed(2)}  (${mark})  ${JSON.stringify(text)}`;
}

export function summaryText(r: QuickstartResult): string {
  return [
    '',
    `${r.method} on ${r.testMails} held-out mails: accuracy ${percent(r.evalAccuracy)}, F1 (spam) ${r.evalF1.toFixed(3)}; always answering "${r.majorityLabel}" would score ${percent(r.majorityAccuracy)}.`,
    '',
    'A few of them, as the saved adapter classifies them (class, probability):',
    ...r.samples.map(sampleLine),
    '',
    `Written to ${shellPath(r.output)}: the adapter (adapter/), metrics.jsonl, report.html (open it in a browser), recipe.yaml and the mails (data/).`,
    `The encoder: ${shellPath(r.encoder)} (${r.encoderBuilt ? 'built now, reused by later runs' : 'from the cache'}). Whole run: ${r.seconds.toFixed(0)} s.`,
    '',
    'Try next:',
    ...r.next.map((line) => `  ${line}`),
  ].join('\n');
}
