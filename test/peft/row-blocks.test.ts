// addToRows: updates added onto row blocks (and their first positions) of a batch, with the
// gradients the zero-padded, joined addition gives; replaceRows: row blocks replaced, with the
// gradients of joining the blocks padded back with the batch's own values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { concat, randn, tidy, zeros } from '../../src/index.js';
import { addToRows, replaceRows } from '../../src/peft/row-blocks.js';

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

test('addToRows keeps no view of its output, so a layer above may replace rows of it in place', () => {
  tidy(() => {
    // A LoRA layer's output (two groups' updates added in place) under an IA3 layer scaling a third group's rows.
    const x = randn([6, 3]).requiresGrad_();
    const product = x.matmul(randn([3, 3]));
    const updated = addToRows(product, [{ start: 0, delta: randn([2, 3]).requiresGrad_() }, { start: 2, delta: randn([2, 3]).requiresGrad_() }]);
    const scaled = replaceRows(updated, [{ start: 4, value: randn([2, 3]).requiresGrad_() }]);
    assert.equal(scaled.storage, product.storage);
    return null;
  });
});

test('replaceRows equals joining the replaced blocks padded with the batch, values and gradients', () => {
  tidy(() => {
    const base = randn([5, 6, 3]).requiresGrad_();
    const a = randn([2, 4, 3]).requiresGrad_(); // rows 0-1, first 4 positions
    const b = randn([2, 6, 3]).requiresGrad_(); // rows 3-4, every position
    const weights = randn([5, 6, 3]);
    // Values made by an op (as a layer's adapter makes them), so that replaceRows may free them.
    const first = a.mul(2);
    const second = b.mul(3);
    const out = replaceRows(base, [{ start: 0, value: first }, { start: 3, value: second }]);
    // Nothing reads the values after the copy: their memory is gone, their graph is not.
    assert.ok(first.disposed && second.disposed);
    out.mul(weights).sum().backward();
    const grads = [base, a, b].map((t) => t.grad!.toFlatArray());
    for (const t of [base, a, b]) {
      t.grad!.dispose();
      t.grad = null;
    }

    const rows = (start: number, n: number) => base.narrow(0, start, n);
    const expected = concat([concat([a.mul(2), rows(0, 2).narrow(1, 4, 2)], 1), rows(2, 1), b.mul(3)], 0);
    expected.mul(weights).sum().backward();
    assert.deepEqual(out.toFlatArray(), expected.toFlatArray());
    [base, a, b].forEach((t, i) => assert.deepEqual(grads[i], t.grad!.toFlatArray(), ['base', 'a', 'b'][i]));
    return null;
  });
});

test('replaceRows copies a batch that is read again, and keeps a value that backward needs', () => {
  tidy(() => {
    const x = randn([4, 3]).requiresGrad_();
    const product = x.matmul(randn([3, 3]));
    const squashed = randn([2, 3]).requiresGrad_().tanh(); // tanh's backward reads its output
    const before = product.toFlatArray();
    const out = replaceRows(product, [{ start: 1, value: squashed }], { inPlace: false });
    assert.notEqual(out.storage, product.storage);
    assert.deepEqual(product.toFlatArray(), before);
    assert.ok(!squashed.disposed);
    const inPlace = replaceRows(x.matmul(randn([3, 3])), [{ start: 0, value: randn([1, 3]) }]);
    assert.equal(inPlace.shape.join(), '4,3');
    out.sum().backward();
    return null;
  });
});
