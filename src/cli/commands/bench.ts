// peft bench: the speed of a model with an adapter on random inputs of the model's task (causal
// or seq2seq LM, sequence or token classification, image classification): training steps
// (forward, backward, AdamW), inference forward passes, or greedy generation.
import { getPeftModel, configFromJson, type PeftModel } from '../../peft/index.js';
import type { Json } from '../../peft/config/base.js';
import { Generator, noGrad, randint, randn, tidy } from '../../tensor/index.js';
import type { ModelInputs, ModelTask } from '../../models/index.js';
import { loadConfig } from '../../io/index.js';
import { AdamW, parameterGroups } from '../../train/index.js';
import { UsageError } from '../exit-codes.js';
import { familyHas, folderTask, openModel, peftTaskType } from '../model-folder.js';

export const BENCH_MODES = ['train', 'forward', 'generate'] as const;
export type BenchMode = (typeof BENCH_MODES)[number];
const TASKS = ['causal-lm', 'seq2seq-lm', 'sequence-classification', 'token-classification', 'image-classification'] as const;
type BenchTask = (typeof TASKS)[number];

export interface BenchOptions {
  model: string;
  /** adapter_config.json fields as JSON. */
  method: string;
  /** The head to bench (default: the folder's own; a base model gets its family's classifier). */
  task?: string;
  mode: string;
  batchSize: number;
  /** Tokens per row (the prompt, in generate mode). */
  seqLen: number;
  /** Timed repetitions after one warm-up. */
  steps: number;
  /** generate mode: new tokens per generation. */
  newTokens: number;
}

interface ModelConfigFields {
  vocab_size?: number;
  num_labels?: number;
  image_size?: number;
  num_channels?: number;
  model_type?: string;
}

export async function benchCommand(o: BenchOptions): Promise<Record<string, number | string>> {
  const raw = parseMethod(o.method);
  const mode = oneOf('--mode', o.mode, BENCH_MODES);
  const task = o.task !== undefined ? oneOf('--task', o.task, TASKS) : await defaultTask(o.model);
  if (mode === 'generate' && task !== 'causal-lm' && task !== 'seq2seq-lm') {
    throw new UsageError(`--mode generate needs a causal or seq2seq LM; ${o.model} is benched as ${task}: use --mode train or forward`);
  }
  for (const [flag, value] of [['--batch-size', o.batchSize], ['--seq-len', o.seqLen], ['--steps', o.steps], ['--new-tokens', o.newTokens]] as const) {
    if (!(value >= 1)) throw new UsageError(`${flag} must be at least 1, not ${value}`);
  }
  const model = await openModel(o.model, task);
  // ViT adapters have no task_type in HF PEFT.
  const taskType = task === 'image-classification' ? {} : { task_type: peftTaskType(task) };
  const peft = getPeftModel(model, configFromJson({ ...taskType, ...raw }, '--method').config);
  const inputs = randomInputs(task, model.config as ModelConfigFields, o.batchSize, o.seqLen, new Generator(0));
  const run = mode === 'train' ? trainStep(peft, inputs) : mode === 'forward' ? forwardPass(peft, inputs) : generation(peft, inputs, o.newTokens);
  run(); // warm-up: first-touch allocations, lazily built state
  const start = performance.now();
  for (let i = 0; i < o.steps; i++) run();
  const seconds = (performance.now() - start) / 1000;
  const { trainable, total } = peft.trainableParameters();
  const examples = o.steps * o.batchSize;
  const tokens: Record<string, number> =
    task === 'image-classification' ? {} : mode === 'generate' ? { newTokensPerSecond: (examples * o.newTokens) / seconds } : { tokensPerSecond: (examples * o.seqLen) / seconds };
  return { task, mode, steps: o.steps, seconds, stepsPerSecond: o.steps / seconds, examplesPerSecond: examples / seconds, ...tokens, trainable, total };
}

function parseMethod(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (error) {
    throw new UsageError(`--method must be adapter_config.json fields as JSON: ${(error as Error).message}`);
  }
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, not '${value}'`);
  return value as T;
}

/** The folder's own head; a base model (BertModel, ViTModel) is benched with its family's classifier. */
async function defaultTask(dir: string): Promise<BenchTask> {
  const task: ModelTask = await folderTask(dir);
  if (task !== 'base') return task;
  const { model_type: modelType } = await loadConfig(dir);
  const head = (['sequence-classification', 'image-classification'] as const).find((t) => familyHas(modelType, t));
  if (head === undefined) throw new UsageError(`${dir} holds a base model without a head peftjs can bench; pass --task`);
  return head;
}

/** Random inputs and labels of the task's shapes. */
function randomInputs(task: BenchTask, config: ModelConfigFields, batch: number, seq: number, generator: Generator): ModelInputs {
  const labels = config.num_labels ?? 2;
  if (task === 'image-classification') {
    const size = config.image_size ?? 224;
    return { pixelValues: randn([batch, config.num_channels ?? 3, size, size], { generator }), labels: randint(0, labels, [batch], { generator }) };
  }
  const inputIds = randint(0, config.vocab_size ?? 2, [batch, seq], { generator });
  switch (task) {
    case 'causal-lm':
      return { inputIds, labels: inputIds };
    case 'seq2seq-lm':
      return { inputIds, labels: randint(0, config.vocab_size ?? 2, [batch, seq], { generator }) };
    case 'sequence-classification':
      return { inputIds, labels: randint(0, labels, [batch], { generator }) };
    case 'token-classification':
      return { inputIds, labels: randint(0, labels, [batch, seq], { generator }) };
  }
}

function trainStep(peft: PeftModel, inputs: ModelInputs): () => void {
  const optimizer = new AdamW(parameterGroups(peft, { lr: 1e-4, weightDecay: 0 }), { lr: 1e-4 });
  peft.train();
  return () =>
    tidy(() => {
      peft.forward(inputs).loss!.backward();
      optimizer.step();
      optimizer.zeroGrad();
      return null;
    });
}

function forwardPass(peft: PeftModel, inputs: ModelInputs): () => void {
  peft.eval();
  const { labels: _labels, ...unlabelled } = inputs;
  return () =>
    tidy(() => {
      noGrad(() => peft.forward(unlabelled));
      return null;
    });
}

/** Greedy decoding of `newTokens` tokens after the prompt (no end-of-sequence stop, so every run does the same work). */
function generation(peft: PeftModel, inputs: ModelInputs, newTokens: number): () => void {
  peft.eval();
  return () => peft.generate(inputs.inputIds!, { maxNewTokens: newTokens, eosTokenId: [] }).dispose();
}
