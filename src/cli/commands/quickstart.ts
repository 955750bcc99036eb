// peft quickstart: the main job with nothing downloaded. SpamAssassin mails (the corpus package),
// a small BERT pretrained on some of them with masked LM (built once, kept in the cache folder),
// then an adapter (LoRA unless --method) trained by `peft train`'s own code on others and tested
// on held-out ones; the run's folder gets the adapter, metrics.jsonl, report.html, the recipe and
// the data, and a few classified mails and the next commands are printed.
import { resolve } from 'node:path';
import { loadCorpus, type Mail } from '../../quickstart/corpus.js';
import { cacheRoot, cachedEncoder } from '../../quickstart/encoder-cache.js';
import { METHODS, methodKey, missingPlugin, selectMethods, type MethodSpec } from '../../quickstart/methods.js';
import { QUICKSTART, QUICKSTART_TINY } from '../../quickstart/settings.js';
import { UsageError } from '../exit-codes.js';
import type { Progress } from '../progress.js';
import { loadRecipe } from '../recipe/load.js';
import { classifyTexts } from '../quickstart/classify.js';
import { LABEL_NAMES, TEST_FILE, recipeFields, writeData, writeRecipe } from '../quickstart/files.js';
import { nextCommands, type QuickstartResult } from '../quickstart/summary.js';
import { prepareOutput, trainRecipe } from './train.js';

export const DEFAULT_OUTPUT = 'peft-quickstart';
/** Mails of each class shown at the end. */
const SAMPLES_PER_CLASS = 3;

export interface QuickstartOptions {
  output: string;
  method: string;
  cacheDir?: string;
  quick: boolean;
  overwrite: boolean;
  progress: Progress;
}

/** The adapter methods --method accepts, by their command-line keys. */
export const QUICKSTART_METHODS: readonly MethodSpec[] = METHODS.filter((m) => m.options !== undefined);

function chooseMethod(name: string): MethodSpec {
  const known = QUICKSTART_METHODS.map(methodKey).join(', ');
  let method: MethodSpec | undefined;
  try {
    method = selectMethods([name])[0];
  } catch {
    // An unknown name: the message below lists the keys.
  }
  if (method?.options === undefined) throw new UsageError(`--method ${name}: not an adapter method of the quickstart; choose one of ${known}`);
  const missing = missingPlugin(method);
  if (missing !== null) throw new UsageError(`--method ${name}: ${missing}`);
  return method;
}

/** The first few mails of each class, in their order in `mails`. */
function samples(mails: readonly Mail[]): Mail[] {
  return LABEL_NAMES.flatMap((_, label) => mails.filter((m) => m.label === label).slice(0, SAMPLES_PER_CLASS));
}

export async function quickstartCommand(o: QuickstartOptions): Promise<QuickstartResult> {
  const started = performance.now();
  const { progress } = o;
  const settings = o.quick ? QUICKSTART_TINY : QUICKSTART;
  const method = chooseMethod(o.method);
  const corpus = await loadCorpus({ pretrain: settings.encoder.mails, train: settings.train, test: settings.test }, settings.encoder.seed);
  const output = resolve(o.output);
  await prepareOutput(output, { overwrite: o.overwrite, resume: false });
  progress.event('corpus', { pretrain: corpus.pretrain.length, train: corpus.train.length, test: corpus.test.length },
    `SpamAssassin mails: ${corpus.pretrain.length} for the encoder's pretraining, ${corpus.train.length} to fine-tune on, ${corpus.test.length} held out`);
  const { shape } = settings.encoder.pretrain;
  const encoder = await cachedEncoder(settings.encoder, { pretrain: corpus.pretrain.map((m) => m.text), heldOut: corpus.test.map((m) => m.text) }, {
    root: resolve(cacheRoot(o.cacheDir)),
    callbacks: [progress],
    onBuild: (dir) => progress.event('encoder_build', { dir }, `building the encoder once (BERT ${shape.layers} layers × ${shape.hidden}, masked-LM pretraining) into ${dir}`),
  });
  if (!encoder.built) progress.event('encoder', { dir: encoder.dir }, `encoder: ${encoder.dir} (cached)`);

  await writeData(output, corpus.train, corpus.test);
  const recipePath = await writeRecipe(output, recipeFields(encoder.dir, method, settings), method);
  progress.event('method', { method: method.name }, `fine-tuning: ${method.name} (recipe: ${recipePath})`);
  const trained = await trainRecipe(await loadRecipe(recipePath), recipePath, { resume: false, progress });

  const shown = samples(corpus.test);
  const samplesOut = await classifyTexts(encoder.dir, String(trained.adapter), shown.map((m) => ({ text: m.text, label: LABEL_NAMES[m.label] })), LABEL_NAMES, settings.seqLength);
  const spam = corpus.test.filter((m) => m.label === 1).length;
  const files = { encoder: encoder.dir, adapter: String(trained.adapter), testFile: resolve(output, TEST_FILE), recipe: recipePath };
  return {
    method: method.name, ...files, encoderBuilt: encoder.built, output, report: String(trained.report), metrics: String(trained.metrics),
    testMails: corpus.test.length, evalAccuracy: Number(trained.evalAccuracy), evalF1: Number(trained.evalF1),
    majorityAccuracy: Math.max(spam, corpus.test.length - spam) / corpus.test.length, majorityLabel: LABEL_NAMES[2 * spam > corpus.test.length ? 1 : 0],
    samples: samplesOut, next: nextCommands(files, settings.seqLength), seconds: (performance.now() - started) / 1000,
  };
}
