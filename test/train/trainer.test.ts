// The Trainer: loss goes down, accumulation equals a bigger batch, resume gives the same bits as an
// uninterrupted run, a NaN loss stops the run and keeps the last checkpoint, early stopping,
// seeded shuffling, checkpoint rotation, evaluation metrics, and no tensor left behind per step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PeftModel, AutoModelForCausalLM, cat, memoryStats } from '../../src/index.js';
import {
  Trainer, NonFiniteLossError, listCheckpoints, epochOrder, evaluateModel, accuracy, f1Binary, f1Macro, resolveArguments, type TrainingArguments, type Batch,
} from '../../src/train/index.js';
import { FIXTURES } from '../helpers/parity.js';
import { Regressor, adapterValues, loraLlama, regressionBatches, tokenBatches, withTempDir } from './helpers.js';
import { settleGarbage } from '../helpers/gc.js';

test('loss goes down on a tiny causal-LM task (LoRA on the llama fixture)', async () => {
  const model = await loraLlama(0, 0);
  const data = tokenBatches(2, 2);
  const logs: number[] = [];
  const trainer = new Trainer({
    model, trainDataset: data, args: { lr: 2e-2, epochs: 10, loggingSteps: 2, lrScheduler: 'constant' },
    callbacks: [{ onLog: (r) => void logs.push(r.loss!) }],
  });
  const result = await trainer.train();
  assert.equal(result.globalStep, 20);
  assert.ok(logs.at(-1)! < logs[0]! * 0.8, `loss ${logs[0]} → ${logs.at(-1)}`);
});

test('gradient accumulation over 2 batches of B equals one step on a batch of 2B', async () => {
  const args: TrainingArguments = { optimizer: 'sgd', lr: 0.5, maxSteps: 1, maxGradNorm: 0, shuffle: false, lrScheduler: 'constant' };
  const [small1, small2] = tokenBatches(2, 2);
  const big: Batch = { inputIds: cat([small1!.inputIds!, small2!.inputIds!], 0), labels: cat([small1!.labels!, small2!.labels!], 0) };
  const one = await loraLlama(0, 0);
  await new Trainer({ model: one, trainDataset: [big], args }).train();
  const two = await loraLlama(0, 0);
  await new Trainer({ model: two, trainDataset: [small1!, small2!], args: { ...args, gradientAccumulationSteps: 2 } }).train();
  const a = adapterValues(one);
  const b = adapterValues(two);
  let worst = 0;
  for (const key of Object.keys(a)) a[key]!.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b[key]![i]!))));
  const initial = Object.values(adapterValues(await loraLlama(0, 0))).flat();
  assert.ok(Object.values(a).flat().some((v, i) => v !== initial[i]), 'the step changed the adapter');
  assert.ok(worst < 1e-6, `largest difference ${worst}`);
});

test('resume from a checkpoint continues to the same final adapter bits as an uninterrupted run', async () => {
  await withTempDir(async (dir) => {
    // Two epochs of 4 shuffled batches, warmup + linear decay, clipping, LoRA dropout: every piece of state matters.
    const args = (outputDir: string): TrainingArguments => ({
      outputDir, lr: 5e-3, maxSteps: 6, warmupSteps: 2, maxGradNorm: 0.5, weightDecay: 0.01, saveSteps: 3, loggingSteps: 1, seed: 11,
    });
    const data = tokenBatches(4, 2);
    const whole = await loraLlama(1);
    await new Trainer({ model: whole, trainDataset: data, args: args(join(dir, 'whole')) }).train();

    const crash = new Error('simulated crash after the first checkpoint');
    const first = await loraLlama(1);
    await assert.rejects(
      new Trainer({ model: first, trainDataset: data, args: args(join(dir, 'parts')), callbacks: [{ onSave: () => { throw crash; } }] }).train(),
      crash,
    );
    const checkpoint = join(dir, 'parts', 'checkpoint-3');
    assert.ok(existsSync(join(checkpoint, 'adapter_model.safetensors')) && existsSync(join(checkpoint, 'adapter_config.json')));

    const resumed = await loraLlama(99); // other initial weights: everything must come from the checkpoint
    const result = await new Trainer({ model: resumed, trainDataset: data, args: args(join(dir, 'parts')) }).train({ resumeFromCheckpoint: true });
    assert.equal(result.globalStep, 6);
    assert.deepEqual(adapterValues(resumed), adapterValues(whole));

    // The checkpoint's adapter folder is an ordinary HF PEFT adapter.
    const loaded = await PeftModel.fromPretrained(await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama')), join(dir, 'whole', 'checkpoint-6'));
    assert.deepEqual(adapterValues(loaded), adapterValues(whole));
  });
});

test('a NaN loss stops the run with a typed error before the update, keeping the last good checkpoint', async () => {
  await withTempDir(async (dir) => {
    const model = new Regressor();
    const trainer = new Trainer({
      model, trainDataset: regressionBatches(6, 4), args: { outputDir: dir, lr: 0.1, saveSteps: 2, shuffle: false, epochs: 1 },
    });
    const error = await trainer.train().then(() => null, (e: unknown) => e);
    assert.ok(error instanceof NonFiniteLossError, String(error));
    assert.equal(error.what, 'loss');
    assert.equal(error.step, 5);
    assert.equal(error.lastCheckpoint, join(dir, 'checkpoint-4'));
    assert.match(error.message, /loss is NaN at step 5.*checkpoint-4/s);
    assert.deepEqual((await listCheckpoints(dir)).map((d) => d.slice(dir.length + 1)), ['checkpoint-2', 'checkpoint-4']);
    assert.ok(model.weight.toFlatArray().every(Number.isFinite), 'the NaN step was not applied');
    assert.equal(model.weight.grad, null);
  });
});

test('early stopping ends the run after `patience` evaluations without improvement', async () => {
  const evaluations: number[] = [];
  const trainer = new Trainer({
    model: new Regressor(), trainDataset: regressionBatches(4), evalDataset: regressionBatches(2),
    args: { lr: 0, maxSteps: 20, evalStrategy: 'steps', evalSteps: 1, earlyStopping: { patience: 2 } },
    callbacks: [{ onEvaluate: (m) => void evaluations.push(m.evalLoss!) }],
  });
  const result = await trainer.train();
  assert.equal(result.globalStep, 3, 'first evaluation sets the best, two more without improvement stop the run');
  assert.equal(evaluations.length, 3);
  assert.throws(() => new Trainer({ model: new Regressor(), trainDataset: regressionBatches(2), args: { earlyStopping: { patience: 1 } } }), /earlyStopping needs evaluations/);
});

test('evalSteps alone evaluates every evalSteps steps; a contradicting evalStrategy is refused', async () => {
  const steps: number[] = [];
  const trainer = new Trainer({
    model: new Regressor(), trainDataset: regressionBatches(6), evalDataset: regressionBatches(2),
    args: { lr: 0, maxSteps: 6, evalSteps: 2 },
    callbacks: [{ onEvaluate: (_m, state) => void steps.push(state.globalStep) }],
  });
  await trainer.train();
  assert.deepEqual(steps, [2, 4, 6]);
  assert.throws(() => resolveArguments({ evalSteps: 2, evalStrategy: 'epoch' }, true), /evalSteps \(2\) evaluates every N steps, but evalStrategy is 'epoch'/);
  assert.throws(() => resolveArguments({ evalSteps: 2 }, false), /evalSteps \(2\) needs an evalDataset/);
});

test('shuffling is seeded: the same seed gives the same order, each epoch its own permutation', async () => {
  const order = async (seed: number) => {
    const model = new Regressor();
    await new Trainer({ model, trainDataset: regressionBatches(8), args: { seed, epochs: 2, lr: 0.01 } }).train();
    return model.seen;
  };
  const a = await order(5);
  assert.deepEqual(await order(5), a);
  assert.notDeepEqual(await order(6), a);
  assert.deepEqual([...a.slice(0, 8)].sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.notDeepEqual(a.slice(0, 8), a.slice(8));
  assert.deepEqual(epochOrder(4, 0, 1, false), [0, 1, 2, 3]);
});

test('checkpoints every N steps keep the newest K, and no tensor is left behind per step', async () => {
  await withTempDir(async (dir) => {
    const live: number[] = [];
    const trainer = new Trainer({
      model: await loraLlama(0), trainDataset: tokenBatches(3, 2), args: { outputDir: dir, lr: 1e-3, epochs: 3, saveSteps: 2, saveTotalLimit: 2, gradientAccumulationSteps: 1 },
      callbacks: [{ onStep: () => void live.push(memoryStats().liveBytes) }],
    });
    await settleGarbage();
    await trainer.train();
    assert.deepEqual((await readdir(dir)).sort(), ['checkpoint-8', 'checkpoint-9']);
    assert.equal(new Set(live.slice(1)).size, 1, `live bytes after each step: ${live.join(', ')}`);
  });
});

test('evaluation reports loss, perplexity, accuracy and F1', async () => {
  const metrics = await evaluateModel(new Regressor(), regressionBatches(2));
  assert.ok(metrics.evalLoss! > 0 && Math.abs(metrics.evalPerplexity! - Math.exp(metrics.evalLoss!)) < 1e-12);
  const pred = [1, 1, 0, 0, 1, 2];
  const gold = [1, 0, 0, 1, 1, 2];
  assert.equal(accuracy(pred, gold), 4 / 6);
  assert.equal(f1Binary(pred, gold), (2 * 2) / (2 * 2 + 1 + 1));
  assert.equal(f1Macro(pred, gold), (0.5 + 2 / 3 + 1) / 3);
});
