// Elementwise kernels over one long contiguous row, which the native side splits among the threads:
// every element must match a JS reference (activations forward and backward, a binary op, a copy).
import { test } from 'node:test';
import { randn, gelu, silu, Tensor } from '../../src/index.js';
import { assertClose } from '../helpers/gradcheck.js';

const n = 100_003; // several 32768-element pieces and a ragged tail
const k = Math.sqrt(2 / Math.PI);
const geluTanh = (v: number) => 0.5 * v * (1 + Math.tanh(k * (v + 0.044715 * v ** 3)));
const geluTanhGrad = (v: number) => {
  const t = Math.tanh(k * (v + 0.044715 * v ** 3));
  return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * k * (1 + 3 * 0.044715 * v * v);
};
const sig = (v: number) => 1 / (1 + Math.exp(-v));

function check(name: string, f: (x: Tensor) => Tensor, ref: (v: number) => number, grad: (v: number) => number): void {
  for (const dtype of ['float32', 'float64'] as const) {
    const x = randn([n], { dtype, std: 4 }).requiresGrad_();
    const y = f(x);
    const tol = dtype === 'float32' ? 3e-6 : 1e-12;
    const xs = x.toFlatArray();
    assertClose(y.toFlatArray(), xs.map(ref), tol, tol, `${name} ${dtype}`);
    y.sum().backward();
    assertClose(x.grad!.toFlatArray(), xs.map(grad), tol, tol, `${name} gradient ${dtype}`);
  }
}

test('tanh-GELU and SiLU over a long row: values and gradients', () => {
  check('gelu tanh', (x) => gelu(x, 'tanh'), geluTanh, geluTanhGrad);
  check('silu', silu, (v) => v * sig(v), (v) => sig(v) * (1 + v * (1 - sig(v))));
});

test('a binary op and a strided copy over a long row', () => {
  const a = randn([n]);
  const b = randn([n]);
  const av = a.toFlatArray();
  const bv = b.toFlatArray();
  assertClose(a.mul(b).toFlatArray(), av.map((v, i) => v * bv[i]!), 1e-7, 1e-6, 'mul');
  const pairs = randn([n, 2]);
  const pv = pairs.toFlatArray();
  assertClose(pairs.select(1, 0).contiguous().toFlatArray(), av.map((_, i) => pv[2 * i]!), 0, 0, 'strided copy');
});
