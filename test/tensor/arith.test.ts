import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as pj from '../../src/index.js';
import { tensor, randn, Tensor } from '../../src/index.js';
import { gradcheck, param, assertClose } from '../helpers/gradcheck.js';
import { addInPlace } from '../../src/tensor/ops/elementwise-kernels.js';

const unaryCases: [string, (x: Tensor) => Tensor, (v: number) => number, 'any' | 'positive'][] = [
  ['neg', pj.neg, (v) => -v, 'any'],
  ['exp', pj.exp, Math.exp, 'any'],
  ['log', pj.log, Math.log, 'positive'],
  ['sqrt', pj.sqrt, Math.sqrt, 'positive'],
  ['rsqrt', pj.rsqrt, (v) => 1 / Math.sqrt(v), 'positive'],
  ['abs', pj.abs, Math.abs, 'any'],
  ['tanh', pj.tanh, Math.tanh, 'any'],
  ['sigmoid', pj.sigmoid, (v) => 1 / (1 + Math.exp(-v)), 'any'],
  ['relu', pj.relu, (v) => Math.max(0, v), 'any'],
  ['gelu', (x) => pj.gelu(x), (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)), 'any'],
  ['gelu tanh', (x) => pj.gelu(x, 'tanh'), (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))), 'any'],
  ['silu', pj.silu, (v) => v / (1 + Math.exp(-v)), 'any'],
  ['softplus', (x) => pj.softplus(x), (v) => Math.log1p(Math.exp(v)), 'any'],
  ['sin', pj.sin, Math.sin, 'any'],
  ['cos', pj.cos, Math.cos, 'any'],
  ['square', pj.square, (v) => v * v, 'any'],
  ['reciprocal', pj.reciprocal, (v) => 1 / v, 'positive'],
  ['log1p', pj.log1p, Math.log1p, 'positive'],
  ['expm1', pj.expm1, Math.expm1, 'any'],
  ['erf', pj.erf, erf, 'any'],
  ['pow 3', (x) => pj.pow(x, 3), (v) => v ** 3, 'any'],
  ['pow 0.5', (x) => pj.pow(x, 0.5), Math.sqrt, 'positive'],
  ['clamp', (x) => pj.clamp(x, -0.5, 0.7), (v) => Math.min(0.7, Math.max(-0.5, v)), 'any'],
  ['add scalar', (x) => x.add(2), (v) => v + 2, 'any'],
  ['rsub scalar', (x) => pj.sub(2, x), (v) => 2 - v, 'any'],
  ['rdiv scalar', (x) => pj.div(2, x), (v) => 2 / v, 'positive'],
];

// Abramowitz-Stegun is not exact enough; use a series/continued fraction accurate to 1e-15.
function erf(x: number): number {
  const t = Math.abs(x);
  if (t < 3) {
    let sum = t;
    let term = t;
    for (let n = 1; n < 100; n++) {
      term *= (-t * t) / n;
      sum += term / (2 * n + 1);
      if (Math.abs(term) < 1e-17) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  let cf = 0;
  for (let n = 60; n >= 1; n--) cf = (n / 2) / (t + cf);
  return Math.sign(x) * (1 - Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + cf));
}

function sample(kind: 'any' | 'positive', n: number, dtype: 'float32' | 'float64'): Tensor {
  const x = randn([n], { dtype });
  return kind === 'positive' ? x.abs().add(0.2) : x;
}

test('unary ops match Math on odd sizes, float32 and float64, contiguous and strided', () => {
  for (const [name, f, ref, kind] of unaryCases) {
    for (const n of [1, 7, 33, 1023]) {
      for (const dtype of ['float32', 'float64'] as const) {
        const x = sample(kind, n, dtype);
        const tol = dtype === 'float32' ? 3e-6 : 1e-12;
        assertClose(f(x).toFlatArray(), x.toFlatArray().map(ref), tol, tol, `${name} ${dtype} n=${n}`);
      }
    }
    const m = sample(kind, 24, 'float32').reshape([4, 6]).T;
    assertClose(f(m).toFlatArray(), m.toFlatArray().map(ref), 3e-6, 3e-6, `${name} strided`);
  }
});

test('unary ops: gradients match finite differences', () => {
  for (const [name, f, , kind] of unaryCases) {
    const x = sample(kind, 9, 'float64').reshape([3, 3]).requiresGrad_();
    if (name === 'abs' || name === 'relu' || name === 'clamp') {
      // keep away from the kinks
      const shifted = x.detach().add(x.detach().sign().mul(0.1)).requiresGrad_();
      gradcheck(f, [shifted]);
    } else {
      gradcheck(f, [x]);
    }
  }
});

test('binary ops broadcast and differentiate', () => {
  const binaries: [string, (a: Tensor, b: Tensor) => Tensor][] = [
    ['add', pj.add], ['sub', pj.sub], ['mul', pj.mul], ['div', pj.div],
    ['maximum', pj.maximum], ['minimum', pj.minimum], ['atan2', pj.atan2],
    ['pow', (a, b) => pj.pow(a.abs().add(0.5), b)],
  ];
  for (const [name, f] of binaries) {
    for (const [sa, sb] of [[[3, 4], [3, 4]], [[3, 4], [4]], [[2, 1, 4], [3, 1]], [[4], [2, 3, 1]]] as number[][][]) {
      const a = param(sa!);
      const b = name === 'div' ? param(sb!).abs().add(0.5).detach().requiresGrad_() : param(sb!);
      gradcheck(f, [a, b]);
      assert.ok(name, name);
    }
  }
});

test('binary ops on strided operands equal the contiguous result', () => {
  const a = randn([5, 7]).T;
  const b = randn([7, 5]);
  assertClose(a.mul(b).toFlatArray(), a.contiguous().mul(b).toFlatArray());
  assertClose(a.add(b.narrow(1, 0, 1)).toFlatArray(), a.contiguous().add(b.narrow(1, 0, 1).contiguous()).toFlatArray());
});

test('comparisons, where, maskedFill, logical ops', () => {
  const a = tensor([1, 2, 3, 4]);
  assert.deepEqual(a.gt(2).toArray(), [false, false, true, true]);
  assert.deepEqual(a.eq(tensor([1, 0, 3, 0])).toArray(), [true, false, true, false]);
  assert.deepEqual(pj.where(a.le(2), a, 0).toFlatArray(), [1, 2, 0, 0]);
  assert.deepEqual(a.maskedFill(a.ge(3), -1).toFlatArray(), [1, 2, -1, -1]);
  assert.deepEqual(pj.logicalNot(a.gt(2)).toArray(), [true, true, false, false]);
  assert.deepEqual(pj.logicalAnd(a.gt(1), a.lt(4)).toArray(), [false, true, true, false]);
  const x = param([3, 4]);
  const y = param([4]);
  const mask = randn([3, 4]).gt(0);
  gradcheck((x: Tensor, y: Tensor) => pj.where(mask, x, y), [x, y]);
  gradcheck((x: Tensor) => x.maskedFill(mask, 2), [x]);
});

test('integer arithmetic stays exact; float ops promote integers', () => {
  const i = tensor([2, 3], [2], 'int64');
  assert.equal(i.add(i).dtype, 'int64');
  assert.deepEqual(i.mul(tensor([4, 5], [2], 'int32')).toFlatArray(), [8, 15]);
  assert.equal(i.div(2).dtype, 'float32');
  assert.deepEqual(i.div(2).toFlatArray(), [1, 1.5]);
  assert.equal(i.add(0.5).dtype, 'float32');
  assert.equal(i.exp().dtype, 'float32');
  assert.equal(tensor([1.5], [1], 'bfloat16').add(1).dtype, 'bfloat16');
  assert.equal(tensor([1.5], [1], 'bfloat16').add(tensor([1])).dtype, 'float32');
});

test('NaN propagates through maximum and clamp', () => {
  assert.ok(Number.isNaN(pj.maximum(tensor([NaN]), tensor([1])).item()));
  assert.ok(Number.isNaN(tensor([NaN]).clamp(0, 1).item()));
});

test('addInPlace writes dst + src into dst (contiguous rows in place, a strided view through a copy), as add gives', () => {
  const base = randn([6, 5]);
  const src = randn([5]); // broadcast over rows
  const expected = base.add(src).toFlatArray();
  const rows = base.narrow(0, 2, 3); // contiguous: written in place
  const before = base.toFlatArray();
  addInPlace(rows, src);
  const after = base.toFlatArray();
  after.forEach((v, i) => assert.equal(v, i >= 10 && i < 25 ? expected[i] : before[i]));
  const strided = base.clone();
  addInPlace(strided.narrow(1, 1, 3), src.narrow(0, 0, 3));
  const want = base.narrow(1, 1, 3).add(src.narrow(0, 0, 3)).toFlatArray();
  assert.ok(!strided.narrow(1, 1, 3).isContiguous());
  assert.deepEqual(strided.narrow(1, 1, 3).toFlatArray(), want);
});
