// addToRows: updates added onto row blocks (and their first positions) of a batch, with the
// gradients the zero-padded, joined addition gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { concat, randn, tidy, zeros } from '../../src/index.js';
import { addToRows } from '../../src/peft/row-blocks.js';

test('addToRows equals base + zero-padded updates, values and gradients', () => {
  tidy(() => {
    const base = randn([5, 6, 3]).requiresGrad_();
    const first = randn([2, 4, 3]).requiresGrad_(); // rows 0-1, first 4 positions
    const second = randn([2, 6, 3]).requiresGrad_(); // rows 3-4, every position
    const weights = randn([5, 6, 3]);
    const out = addToRows(base, [{ start: 0, delta: first }, { start: 3, delta: second }]);
    out.mul(weights).sum().backward();
    const grads = [base, first, second].map((t) => t.grad!.toFlatArray());
    for (const t of [base, first, second]) {
      t.grad!.dispose();
      t.grad = null;
    }

    const padded = concat([concat([first, zeros([2, 2, 3])], 1), zeros([1, 6, 3]), second], 0);
    const expected = base.add(padded);
    expected.mul(weights).sum().backward();
    assert.deepEqual(out.toFlatArray(), expected.toFlatArray());
    [base, first, second].forEach((t, i) => assert.deepEqual(grads[i], t.grad!.toFlatArray()));
    return null;
  });
});

test('addToRows writes into a layer output nothing else reads, and copies one that backward needs', () => {
  tidy(() => {
    const x = randn([4, 3]).requiresGrad_();
    const w = randn([3, 3]);
    const delta = randn([2, 3]).requiresGrad_();
    // A matmul's output: its backward reads x and w, not the output, so the update goes into it.
    const product = x.matmul(w);
    const before = product.toFlatArray();
    const out = addToRows(product, [{ start: 1, delta }]);
    assert.equal(out.storage, product.storage);
    // tanh saves its output for backward: it must stay as it is.
    const squashed = x.tanh();
    const kept = squashed.toFlatArray();
    const out2 = addToRows(squashed, [{ start: 1, delta }]);
    assert.notEqual(out2.storage, squashed.storage);
    assert.deepEqual(squashed.toFlatArray(), kept);
    // Same gradients as the out-of-place sum.
    out.add(out2).sum().backward();
    const expectedOut = before.map((v, i) => (i >= 3 && i < 9 ? Math.fround(v + delta.toFlatArray()[i - 3]!) : v));
    assert.deepEqual(out.toFlatArray(), expectedOut);
    assert.deepEqual(delta.grad!.toFlatArray(), new Array(6).fill(2));
    delta.grad!.dispose();
    x.grad!.dispose();
    return null;
  });
});
