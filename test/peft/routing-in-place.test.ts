// A routed IA3 feed-forward layer (input scaling) writes its group's scaled rows into an input its
// caller handed over (consumable) and into a copy of any other input: same output and gradients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Linear } from '../../src/nn/index.js';
import { consumable, manualSeed, randn, tidy } from '../../src/index.js';
import { Ia3Linear } from '../../src/peft/tuners/ia3/layer.js';
import { withAdapterNames } from '../../src/peft/mixed-batch.js';

function run(handOver: boolean): { out: number[]; grads: number[][]; inputBefore: number[]; inputAfter: number[] } {
  manualSeed(5);
  const layer = new Ia3Linear(new Linear(6, 4), true, 'a', false);
  layer.updateLayer('b', false);
  for (const p of layer.base_layer.parameters()) p.requiresGrad = false;
  const source = randn([4, 3, 6]).requiresGrad_();
  return tidy(() => {
    const x = source.mul(2); // an intermediate the caller owns
    const inputBefore = x.toFlatArray();
    const out = withAdapterNames(['a', 'a', 'b', 'b'], () => layer.forward(handOver ? consumable(x) : x));
    const inputAfter = x.toFlatArray();
    out.square().sum().backward();
    const grads = [source, layer.ia3_l.get('a')!, layer.ia3_l.get('b')!].map((t) => t.grad!.toFlatArray());
    for (const t of [source, ...layer.parameters()]) t.grad = null;
    return { out: out.toFlatArray(), grads, inputBefore, inputAfter };
  });
}

test('a consumable input takes the groups\' scaled rows in place; another is copied; same results', () => {
  const copied = run(false);
  const inPlace = run(true);
  assert.deepEqual(inPlace.out, copied.out);
  assert.deepEqual(inPlace.grads, copied.grads);
  // Without the hand-over the caller's tensor is as it was; with it, the groups' rows now hold the scaled input.
  assert.deepEqual(copied.inputAfter, copied.inputBefore);
  assert.notDeepEqual(inPlace.inputAfter, inPlace.inputBefore);
});
