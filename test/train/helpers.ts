// Small models and data for the Trainer tests: LoRA on the tiny llama fixture, and a linear
// regressor whose batches can carry an id (to see the order) or a NaN (to break the loss).
import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { AutoModelForCausalLM, Generator, Module, Parameter, getPeftModel, manualSeed, randint, randn, tensor, zeros, type ModelOutput, type PeftModel, type Tensor } from '../../src/index.js';
import type { Batch } from '../../src/train/index.js';
import { FIXTURES } from '../helpers/parity.js';

/** The tiny llama fixture with LoRA on q/v (dropout to exercise the RNG), adapter init seeded by `seed`. */
export async function loraLlama(seed = 0, loraDropout = 0.1): Promise<PeftModel> {
  const base = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama'));
  manualSeed(seed);
  return getPeftModel(base, { peftType: 'LORA', r: 4, loraAlpha: 8, loraDropout, targetModules: ['q_proj', 'v_proj'], initLoraWeights: 'gaussian', taskType: 'CAUSAL_LM' });
}

/** `count` causal-LM batches of `rows` × `seq` random tokens (labels = inputs), the same for a seed. */
export function tokenBatches(count: number, rows: number, seq = 12, seed = 7): Batch[] {
  const generator = new Generator(seed);
  return Array.from({ length: count }, () => {
    const ids = randint(0, 320, [rows, seq], { generator });
    return { inputIds: ids, labels: ids };
  });
}

/** y = x·w with a squared-error loss; remembers the ids of the batches it saw in training. */
export class Regressor extends Module {
  weight = new Parameter(zeros([4, 1]));
  seen: number[] = [];

  forward(batch: Batch): ModelOutput {
    if (this.training && typeof batch.id === 'number') this.seen.push(batch.id);
    const logits = (batch.inputsEmbeds as Tensor).matmul(this.weight);
    return { logits, loss: logits.sub(batch.labels as Tensor).square().mean() };
  }
}

/** `count` regression batches of 2 rows with ids 0, 1, ...; the batch `nanAt` has a NaN input. */
export function regressionBatches(count: number, nanAt = -1): Batch[] {
  const generator = new Generator(3);
  return Array.from({ length: count }, (_, id) => {
    const x = randn([2, 4], { generator }).toFlatArray();
    if (id === nanAt) x[0] = NaN;
    return { id, inputsEmbeds: tensor(x, [2, 4]), labels: tensor([[1], [-1]]) };
  });
}

/** The adapter's tensors as arrays of numbers (for bit-exact comparisons). */
export function adapterValues(peft: PeftModel): Record<string, number[]> {
  return Object.fromEntries([...peft.adapterStateDict()].map(([k, t]) => [k, t.toFlatArray()]));
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'peftjs-train-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
