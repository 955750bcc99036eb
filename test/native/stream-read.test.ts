// streamRead, the bandwidth probe the memory-bound benchmarks are judged against: it must read every
// element once (its sum is the buffer's sum) whatever the length and the offset of the view, so a
// figure it gives is bytes really read. The AVX2 and portable loops pass the same check in child
// processes on an AVX-512 CPU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../../src/tensor/native/index.js';
import { rerunAtSimdLevels } from '../helpers/simd-child.js';

test('the sum covers every element, for lengths around the 64-float groups and views at an offset', () => {
  // Integers small enough that every partial sum is exact in float32: any order gives the same value.
  const backing = Float32Array.from({ length: 70_000 }, (_, i) => (i % 7) - 3 + (i % 3));
  for (const offset of [0, 1, 5, 16]) {
    for (const n of [0, 1, 63, 64, 65, 127, 200, 4097, 65_536]) {
      const x = backing.subarray(offset, offset + n);
      const expected = x.reduce((s, v) => s + v, 0);
      assert.equal(native.streamRead(x), expected, `n=${n} offset=${offset}`);
    }
  }
});

test('anything but one Float32Array is a TypeError', () => {
  assert.throws(() => (native.streamRead as (...a: unknown[]) => number)(new Float64Array(4)), TypeError);
  assert.throws(() => (native.streamRead as (...a: unknown[]) => number)(), TypeError);
});

rerunAtSimdLevels(import.meta.url, ['avx2', 'portable']);
