// gemmNkMany: several products over one A (a decoding step's q/k/v or gate/up) in one call. Each output
// must equal, bit for bit, gemm's result for that product alone: the decode paths swap one for the
// other, and a served or decoded token must not change with it. Checked for every few-row count (the
// one-job path) and past it (one product after another), float32 / bf16 / f16 weights stored at an
// offset, beta 0 and 1 (a bias copied into the output first), widths that split unevenly among the
// threads; then bad arguments, which must throw before any kernel runs. The AVX2 and portable kernels
// pass the same checks in child processes on an AVX-512 CPU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../../src/tensor/native/index.js';
import { rerunAtSimdLevels } from '../helpers/simd-child.js';
import type { GemmBType, GemmNkProduct } from '../../src/tensor/native/gemm.js';
import { floatToBf16, floatToF16 } from '../../src/tensor/half.js';

const values = (n: number, salt: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + salt) * 0.5);
const gemmNkMany = native.gemmNkMany!;

/** n x K weights of the given type, stored from element `offset`. */
function weights(n: number, K: number, bType: GemmBType, offset: number, salt: number): Float32Array | Uint16Array {
  const v = values(offset + n * K, salt);
  if (bType === 0) return v;
  return Uint16Array.from(v, bType === 1 ? floatToBf16 : floatToF16);
}

test('each output equals gemm for its product alone, for 1 to 12 rows and every weight type', { skip: !native.gemmNkMany }, () => {
  // Deep enough that one row is worth the threads (the one-job path from M = 1): q/k/v-like widths, a
  // gate/up pair, widths that are not whole 16-column chunks.
  const K = 1100;
  const shapes = [
    [288, 96, 96],
    [300, 300],
    [7, 530, 1],
  ];
  for (const ns of shapes) {
    for (const bType of [0, 1, 2] as const) {
      const bs = ns.map((n, w) => weights(n, K, bType, 5 * w, w + 10));
      for (let M = 1; M <= 12; M++) {
        const a = values(M * K, M);
        const products = ns.map((n, w): GemmNkProduct => ({ b: bs[w]!, bOffset: 5 * w, bType, n, beta: w % 2, c: values(M * n, w + 20) }));
        const alone = products.map((p) => {
          const c = p.c.slice();
          native.gemm(false, true, M, p.n, K, 1, a, 0, K, 0, p.b, p.bOffset, bType, K, 0, p.beta, c, 0, p.n, M * p.n, 1);
          return c;
        });
        gemmNkMany(a, M, K, products);
        products.forEach((p, w) => assert.deepEqual(p.c, alone[w], `widths ${ns}, bType ${bType}, ${M} rows, product ${w}`));
      }
    }
  }
});

test('bad arguments throw a typed error naming the value, and write nothing', { skip: !native.gemmNkMany }, () => {
  const a = values(2 * 8, 1);
  const c = new Float32Array(2 * 4);
  const good = { b: values(4 * 8, 2), bOffset: 0, bType: 0 as GemmBType, n: 4, beta: 0, c };
  assert.throws(() => gemmNkMany(a, 2, 8, []), { name: 'TypeError', message: /products must be a non-empty array/ });
  assert.throws(() => gemmNkMany(a, 3, 8, [good]), { name: 'RangeError', message: /A needs 24 elements .* but has 16/ });
  assert.throws(() => gemmNkMany(a, 2, 8, [good, { ...good, bOffset: 1 }]), { name: 'RangeError', message: /B needs 33 elements/ });
  assert.throws(() => gemmNkMany(a, 2, 8, [good, { ...good, c: new Float32Array(7) }]), { name: 'RangeError', message: /C needs 8 elements/ });
  assert.throws(() => gemmNkMany(a, 2, 8, [{ ...good, bType: 1 }]), { name: 'TypeError', message: /products\[0\]\.b must be a Uint16Array/ });
  assert.throws(() => gemmNkMany(a, 2, 8, [{ ...good, bType: 3 as GemmBType }]), { name: 'RangeError', message: /bType must be 0 \(f32\), 1 \(bf16\) or 2 \(f16\), got 3/ });
  assert.throws(() => gemmNkMany(a, 2, 8, [{ ...good, n: -1 }]), { name: 'RangeError', message: /bOffset and \.n must be whole numbers/ });
  assert.throws(() => gemmNkMany(a, 2, 8, [good, 7 as unknown as GemmNkProduct]), { name: 'TypeError', message: /products\[1\] must be/ });
  assert.ok(c.every((v) => v === 0), 'a rejected call wrote into an output');
});

rerunAtSimdLevels(import.meta.url, ['avx2', 'portable']);
