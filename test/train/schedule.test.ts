// Learning-rate schedules equal HF's get_*_schedule_with_warmup at given steps; clipping equals
// torch's clip_grad_norm_.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Parameter, clearPool, memoryStats, randn, tensor } from '../../src/index.js';
import { LRScheduler, SGD, clipGradNorm, scheduleFactor, TrainingArgumentError } from '../../src/train/index.js';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);

test("schedules' factors at given steps equal HF's formulas", () => {
  const o = { warmupSteps: 10, totalSteps: 110 };
  for (const [step, want] of [[0, 0], [5, 0.5], [10, 1], [60, 1], [110, 1]] as const) close(scheduleFactor('constant_with_warmup', step, o), want);
  for (const step of [0, 7, 500]) close(scheduleFactor('constant', step, o), 1);
  for (const [step, want] of [[0, 0], [5, 0.5], [10, 1], [60, 0.5], [85, 0.25], [110, 0], [200, 0]] as const) close(scheduleFactor('linear', step, o), want);
  for (const [step, want] of [[5, 0.5], [10, 1], [35, 0.5 * (1 + Math.cos(Math.PI / 4))], [60, 0.5], [110, 0]] as const) close(scheduleFactor('cosine', step, o), want);
  close(scheduleFactor('cosine', 60, { ...o, numCycles: 1 }), 0);
  close(scheduleFactor('linear', 3, { warmupSteps: 0, totalSteps: 4 }), 0.25);
});

test('the scheduler sets each group to its initial lr × factor, per optimizer step, and restores its state', () => {
  const a = new Parameter(tensor([1]));
  const b = new Parameter(tensor([1]));
  const optimizer = new SGD([{ params: [a], lr: 0.1 }, { params: [b], lr: 1 }]);
  const scheduler = new LRScheduler(optimizer, 'linear', { warmupSteps: 2, totalSteps: 6 });
  const lrs = [scheduler.lastLr];
  for (let i = 0; i < 6; i++) {
    scheduler.step();
    lrs.push(scheduler.lastLr);
  }
  const factors = [0, 0.5, 1, 0.75, 0.5, 0.25, 0];
  lrs.forEach(([x, y], i) => {
    close(x!, 0.1 * factors[i]!);
    close(y!, factors[i]!);
  });
  const again = new LRScheduler(new SGD([{ params: [a], lr: 7 }, { params: [b], lr: 7 }]), 'linear', { warmupSteps: 2, totalSteps: 6 });
  const saved = new LRScheduler(optimizer, 'linear', { warmupSteps: 2, totalSteps: 6 });
  again.loadStateDict({ ...saved.stateDict(), step: 3 });
  assert.deepEqual(again.lastLr, [0.1 * 0.75, 0.75]);
  assert.throws(() => new LRScheduler(optimizer, 'cosine', {}), TrainingArgumentError);
});

test('clipGradNorm: returns the total norm, scales to maxNorm above it, leaves gradients below it', () => {
  const a = new Parameter(tensor([3, 0]));
  const b = new Parameter(tensor([[4]]));
  a.grad = tensor([3, 0]);
  b.grad = tensor([[4]]);
  close(clipGradNorm([a, b], 10), 5);
  assert.deepEqual([...a.grad.toFlatArray(), ...b.grad!.toFlatArray()], [3, 0, 4]);
  const total = clipGradNorm([a, b], 1);
  close(total, 5);
  const coef = 1 / (5 + 1e-6);
  [...a.grad.toFlatArray(), ...b.grad!.toFlatArray()].forEach((g, i) => assert.ok(Math.abs(g - [3, 0, 4][i]! * coef) < 1e-7));
  b.grad = tensor([[-9]]);
  close(clipGradNorm([a, b], 100, Infinity), 9);
  const c = new Parameter(tensor([1]));
  assert.equal(clipGradNorm([c], 1), 0, 'no gradient: norm 0');
});

test('clipGradNorm frees each gradient\'s temporaries before the next one\'s exist', () => {
  const params = Array.from({ length: 16 }, () => {
    const p = new Parameter(randn([64, 256]));
    p.grad = randn([64, 256]);
    return p;
  });
  clearPool();
  clipGradNorm(params, 1e-3);
  // Released temporaries wait in the pool: one gradient's squares and scaled copy at a time, reused
  // by the next gradient, not 16 of each.
  const gradientBytes = 64 * 256 * 4;
  assert.ok(memoryStats().pooledBytes <= 3 * gradientBytes, `${memoryStats().pooledBytes / gradientBytes} gradients' worth pooled`);
});
