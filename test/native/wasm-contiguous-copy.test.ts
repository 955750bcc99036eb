// The wasm backend's copyStrided fast path (src/tensor/native/wasm/contiguous-copy.ts): contiguous
// copies between arrays of one type are a TypedArray.set; anything else reaches the kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withContiguousCopy } from '../../src/tensor/native/wasm/contiguous-copy.js';
import { native } from '../../src/tensor/native/index.js';

function spied() {
  const calls: number[][] = [];
  const copy = withContiguousCopy((...args) => {
    calls.push(args[6]);
    native.copyStrided(...args);
  });
  return { copy, calls };
}

test('a contiguous copy (size-1 dimensions with any stride) is done without the kernel, at the offsets', () => {
  const { copy, calls } = spied();
  const src = Float32Array.from({ length: 10 }, (_, i) => i);
  const dst = new Float32Array(12);
  copy(src, 2, [99, 3, 1], dst, 5, [0, 3, 1], [1, 2, 3]);
  assert.deepEqual(Array.from(dst), [0, 0, 0, 0, 0, 2, 3, 4, 5, 6, 7, 0]);
  assert.equal(calls.length, 0);
  // Overlapping views of one buffer copy as the kernel does (memmove).
  const both = Float32Array.from({ length: 8 }, (_, i) => i);
  copy(both, 0, [1], both, 2, [1], [6]);
  assert.deepEqual(Array.from(both), [0, 1, 0, 1, 2, 3, 4, 5]);
});

test('strided copies, other array types and out-of-range views go to the kernel', () => {
  const { copy, calls } = spied();
  const src = Float32Array.from({ length: 6 }, (_, i) => i);
  const dst = new Float32Array(6);
  copy(src, 0, [1, 2], dst, 0, [3, 1], [2, 3]); // a transpose
  assert.deepEqual(Array.from(dst), [0, 2, 4, 1, 3, 5]);
  copy(new Int32Array(6).fill(7), 0, [1], new Float32Array(6), 0, [1], [6]); // same size, other type: bytes, not values
  assert.throws(() => copy(src, 4, [1], dst, 0, [1], [6]), /copy source/);
  assert.equal(calls.length, 3);
});
