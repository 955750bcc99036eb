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
