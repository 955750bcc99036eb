import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, concat, randn, noGrad, tidy, keep, checkpoint, manualSeed, AutogradError, Tensor, memoryStats, enableGrad } from '../../src/index.js';
import { assertClose } from '../helpers/gradcheck.js';

test('gradients accumulate across backward calls', () => {
  const w = tensor([1, 2, 3]).requiresGrad_();
  w.mul(2).sum().backward();
  w.mul(3).sum().backward();
  assert.deepEqual(w.grad!.toFlatArray(), [5, 5, 5]);
});

test('a tensor used twice gets the sum of both paths', () => {
  const x = tensor([2]).requiresGrad_();
  x.mul(x).add(x).sum().backward();
  assert.deepEqual(x.grad!.toFlatArray(), [5]);
  const a = tensor([1]).requiresGrad_();
  const b = tensor([1]).requiresGrad_();
  a.add(b).sum().backward();
  a.grad!.fill_(7);
  assert.deepEqual(b.grad!.toFlatArray(), [1], 'two leaves never share one gradient tensor');
});

test('noGrad records nothing; detach cuts the graph', () => {
  const w = randn([3]).requiresGrad_();
  const y = noGrad(() => w.mul(2));
  assert.equal(y.requiresGrad, false);
  assert.equal(y.gradFn, null);
  const z = enableGrad(() => noGrad(() => enableGrad(() => w.mul(2))));
  assert.ok(z.requiresGrad);
  const d = w.mul(2).detach();
  assert.equal(d.requiresGrad, false);
});

test('backward from a non-scalar needs a gradient; a freed graph cannot be reused', () => {
  const w = randn([3]).requiresGrad_();
  const y = w.mul(2);
  assert.throws(() => y.backward(), AutogradError);
  y.backward(tensor([1, 1, 1]), { retainGraph: true });
  y.backward(tensor([1, 0, 0]));
  assert.deepEqual(w.grad!.toFlatArray(), [4, 2, 2]);
  assert.throws(() => y.backward(tensor([1, 1, 1])), /second time/);
  assert.throws(() => randn([2]).sum().backward(), AutogradError);
});

test('frozen inputs get no gradient', () => {
  const frozen = randn([4, 3]);
  const w = randn([3]).requiresGrad_();
  frozen.mul(w).sum().backward();
  assert.equal(frozen.grad, null);
  assert.ok(w.grad);
});

test('tidy disposes intermediates but keeps results, their graphs and kept tensors', () => {
  const w = randn([8]).requiresGrad_();
  let inner: Tensor | undefined;
  const loss = tidy(() => {
    inner = w.mul(3);
    const kept = keep(w.add(1));
    const y = inner.exp().sum();
    return { y, kept };
  });
  assert.equal(inner!.disposed, false, 'saved by the graph of the result');
  loss.y.backward();
  assert.ok(w.grad);
  const before = memoryStats().liveBytes;
  tidy(() => {
    randn([1000]).mul(2).exp();
    return null;
  });
  assert.equal(memoryStats().liveBytes, before, 'everything made inside was released');
  assert.throws(() => tidy(() => { throw new Error('boom'); }), /boom/);
});

test('1,000 training-like steps in tidy hold memory flat', () => {
  const w = randn([64, 64]).requiresGrad_();
  const x = randn([32, 64]);
  const step = () =>
    tidy(() => {
      const y = x.mul(w.sum(0)).tanh().square().mean();
      y.backward();
      noGrad(() => w.copy_(w.sub(w.grad!.mul(0.01))));
      w.grad!.dispose();
      w.grad = null;
      return null;
    });
  for (let i = 0; i < 50; i++) step();
  const before = memoryStats().liveBytes;
  for (let i = 0; i < 1000; i++) step();
  assert.equal(memoryStats().liveBytes, before);
});

test('checkpoint recomputes the segment and gives the same gradients, dropout included', () => {
  const w1 = randn([6]).requiresGrad_();
  const w2 = randn([6]).requiresGrad_();
  const x = randn([4, 6]);
  const segment = (h: Tensor) => h.mul(w1).tanh().mul(randn([4, 6])).mul(w2).sum(1);
  manualSeed(3);
  segment(x).sum().backward();
  const g1 = w1.grad!.toFlatArray();
  const g2 = w2.grad!.toFlatArray();
  w1.grad = null;
  w2.grad = null;
  manualSeed(3);
  const y = checkpoint(segment, x);
  assert.ok(y.requiresGrad, 'records even though the input is frozen');
  y.sum().backward();
  assertClose(w1.grad!.toFlatArray(), g1, 1e-6);
  assertClose(w2.grad!.toFlatArray(), g2, 1e-6);
});

test('a gradient shared by both inputs of add survives a second contribution to one of them', () => {
  // DoRA's shape: out = r + (f(r - b) + g(x)). Each add's backward hands one gradient tensor to both
  // inputs, and r later receives a second contribution: accumulating it must not free the tensor
  // still pending for the other input.
  for (const swap of [false, true]) {
    const x = tensor([1, 2, 3]).requiresGrad_();
    const b = tensor([0.5, 0.5, 0.5]).requiresGrad_();
    const r = x.mul(3);
    const f = r.sub(b).mul(2);
    const g = x.mul(5);
    const out = r.add(swap ? g.add(f) : f.add(g));
    out.sum().backward();
    assert.deepEqual([...x.grad!.data()], [14, 14, 14]);
    assert.deepEqual([...b.grad!.data()], [-2, -2, -2]);
  }
});

test('a leaf gradient that is a leading slice of a larger gradient gets storage of its own size', () => {
  // Prompt tuning's shape at batch 1: the prompt [1, 3, 2] is concatenated before the inputs, so its
  // gradient is the first rows of the concat's gradient: contiguous, offset 0, but a view of more.
  const prompt = tensor([1, 2, 3, 4, 5, 6], [3, 2]).requiresGrad_();
  const inputs = tensor([7, 8, 9, 10], [1, 2, 2]);
  concat([prompt.unsqueeze(0), inputs], 1).mul(2).sum().backward();
  assert.equal(prompt.grad!.buffer.length, prompt.grad!.size);
  assert.deepEqual([...prompt.grad!.data()], [2, 2, 2, 2, 2, 2]);
});

test("backward frees each op's temporaries as it goes, not when the caller's scope ends", () => {
  // A product with a broadcast vector ((IA)3's scaling) reduces g * x over the rows for the vector's
  // gradient: the unreduced product is a temporary of x's size. Through 8 of them (in a transformer,
  // one per layer and op) those would pile up until the step's scope ends.
  const x = randn([256, 256]).requiresGrad_();
  const scales = Array.from({ length: 8 }, () => randn([256]).requiresGrad_());
  tidy(() => {
    const loss = scales.reduce((y, s) => y.mul(s), x).sum();
    const before = memoryStats().liveBytes;
    loss.backward();
    const grown = memoryStats().liveBytes - before;
    // x.grad (256 KiB), the scales' gradients (8 KiB) and at most a couple of x-sized buffers in flight.
    assert.ok(grown <= 4 * 256 * 256 * 4, `backward left ${grown} bytes live`);
    return null;
  });
  assert.ok(x.grad && scales.every((s) => s.grad));
});
