// Freeing activations no backward reads (releaseUnread): what it frees, what it must keep, and
// that gradients do not change. The model-level effect is in test/models/activation-memory.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linear, manualSeed, randn, releaseUnread, tidy, type Tensor } from '../../src/index.js';

/** x's gradient through f, with and without releasing the listed intermediates first. */
function gradients(f: (x: Tensor) => { out: Tensor; made: Tensor[] }, release: boolean): { grad: number[]; released: boolean[] } {
  manualSeed(7);
  const x = randn([6, 8]).requiresGrad_();
  const result = tidy(() => {
    const { out, made } = f(x);
    if (release) releaseUnread(made, out);
    const released = made.map((t) => t.disposed);
    out.sum().backward();
    return released;
  });
  return { grad: x.grad!.toFlatArray(), released: result };
}

test('a frozen linear layer\'s input is freed, its gradient unchanged; a GELU\'s input is kept', () => {
  const f = (x: Tensor) => {
    const frozen = randn([8, 8]);
    const hidden = x.mul(2); // an intermediate in the graph
    const activated = hidden.gelu('tanh'); // its backward reads hidden
    const out = linear(activated, frozen); // a frozen weight's backward reads only the weight
    return { out, made: [hidden, activated] };
  };
  const kept = gradients(f, false);
  const freed = gradients(f, true);
  assert.deepEqual(freed.released, [false, true]);
  assert.deepEqual(freed.grad, kept.grad);
});

test('a view goes with its memory; keep, leaves and memory a backward reads stay', () => {
  tidy(() => {
    const x = randn([4, 6]).requiresGrad_();
    const w = randn([3, 3]).requiresGrad_();
    const fused = x.mul(1.5);
    const [a, b] = [fused.narrow(1, 0, 3), fused.narrow(1, 3, 3)];
    const out = a.add(b);
    releaseUnread([a], out);
    assert.ok(fused.disposed && b.disposed, 'the other view and the fused tensor share the freed memory');
    assert.ok(!out.disposed);

    const trainable = x.mul(2);
    const y = linear(trainable.narrow(1, 0, 3), w); // w trains: its gradient reads the input
    releaseUnread([trainable, x], y);
    assert.ok(!trainable.disposed, 'read by the weight gradient');
    assert.ok(!x.disposed, 'a leaf is never freed');

    const passed = x.mul(3);
    const same = passed.reshape([4, 6]); // an identity-like op hands back the same memory
    releaseUnread([passed], same);
    assert.ok(!passed.disposed, 'memory of keep stays');
  });
});
