// The fused nn ops through their autograd wrappers: float64 finite differences, references on
// odd sizes, 16-bit inputs, and bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  softmax, logSoftmax, layerNorm, rmsNorm, crossEntropy, applyRotaryEmb, scaledDotProductAttention,
  randn, tensor, matmul, concat, Tensor, ShapeError, DTypeError, manualSeed,
} from '../../src/index.js';
import { gradcheck, param, assertClose } from '../helpers/gradcheck.js';

test('softmax and logSoftmax over any dim, forward and backward', () => {
  const x = param([3, 4, 5]);
  for (const dim of [0, 1, -1]) {
    gradcheck((x: Tensor) => softmax(x, dim), [x]);
    gradcheck((x: Tensor) => logSoftmax(x, dim), [x]);
  }
  const y = randn([7, 33]);
  const ref = y.exp().div(y.exp().sum(-1, true));
  assertClose(softmax(y).toFlatArray(), ref.toFlatArray(), 1e-6);
  assertClose(logSoftmax(y.T, 0).toFlatArray(), ref.log().T.toFlatArray(), 1e-5);
  assert.equal(softmax(y.to('bfloat16')).dtype, 'bfloat16');
});

test('layerNorm and rmsNorm match their formulas and differentiate in x, weight and bias', () => {
  const x = param([2, 3, 7]);
  const w = param([7]);
  const b = param([7]);
  gradcheck((x: Tensor, w: Tensor, b: Tensor) => layerNorm(x, w, b, 1e-5), [x, w, b]);
  gradcheck((x: Tensor) => layerNorm(x.transpose(0, 1), null, null), [x]);
  gradcheck((x: Tensor, w: Tensor) => rmsNorm(x, w, 1e-6), [x, w]);
  const v = randn([5, 33], { dtype: 'float64' });
  const mean = v.mean(-1, true);
  const ln = v.sub(mean).div(v.var(-1, true, 0).add(1e-5).sqrt());
  assertClose(layerNorm(v, null, null, 1e-5).toFlatArray(), ln.toFlatArray(), 1e-10);
  const rms = v.div(v.square().mean(-1, true).add(1e-6).sqrt());
  assertClose(rmsNorm(v, null, 1e-6).toFlatArray(), rms.toFlatArray(), 1e-10);
  assert.throws(() => layerNorm(v, randn([32])), ShapeError);
});

test('crossEntropy: mean over counted targets, ignore index, label smoothing, sum and none', () => {
  const logits = param([6, 5]);
  const targets = tensor([0, 4, -100, 2, 2, 1], [6], 'int64');
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    for (const labelSmoothing of [0, 0.1]) {
      gradcheck((l: Tensor) => crossEntropy(l, targets, { reduction, labelSmoothing }), [logits]);
    }
  }
  const x = logits.detach();
  const logp = logSoftmax(x).toArray() as number[][];
  const t = targets.toFlatArray();
  const counted = t.map((c, i) => (c === -100 ? null : -logp[i]![c]!)).filter((v): v is number => v !== null);
  const expected = counted.reduce((s, v) => s + v, 0) / counted.length;
  assertClose([crossEntropy(x, targets).item()], [expected], 1e-10);
  assert.throws(() => crossEntropy(x, tensor([0, 1, 2, 3, 4, 5], [6], 'int64')), /5|range/);
  assert.throws(() => crossEntropy(x, tensor([0, 1], [2], 'int64')), ShapeError);
  assert.throws(() => crossEntropy(x, randn([6])), DTypeError);
  assert.equal(crossEntropy(x.to('float32'), targets.to('int32')).dtype, 'float32');
});

/** Reference attention through explicit matmuls and softmax. */
function attentionRef(q: Tensor, k: Tensor, v: Tensor, scale: number, mask: Tensor | null): Tensor {
  const scores = matmul(q, k.transpose(-2, -1)).mul(scale);
  const masked = mask ? scores.add(mask) : scores;
  return matmul(softmax(masked, -1), v);
}

test('attention equals softmax(q·kᵀ)·v, with causal masks, padding, bias and GQA', () => {
  const [B, H, T, D] = [2, 2, 5, 4];
  const q = param([B, H, T, D]);
  const k = param([B, H, T, D]);
  const v = param([B, H, T, D]);
  const causal = tensor(Array.from({ length: T * T }, (_, i) => (i % T <= Math.floor(i / T) ? 0 : -Infinity)), [1, 1, T, T], 'float64');
  assertClose(
    scaledDotProductAttention(q, k, v, { causal: true }).toFlatArray(),
    attentionRef(q, k, v, 1 / Math.sqrt(D), causal).toFlatArray(),
    1e-10,
  );
  gradcheck((q: Tensor, k: Tensor, v: Tensor) => scaledDotProductAttention(q, k, v, { causal: true }), [q, k, v]);
  const padding = tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], undefined, 'bool');
  gradcheck((q: Tensor, k: Tensor, v: Tensor) => scaledDotProductAttention(q, k, v, { keyPaddingMask: padding }), [q, k, v]);
  const bias = param([1, H, T, T]);
  gradcheck((q: Tensor, b: Tensor) => scaledDotProductAttention(q, k.detach(), v.detach(), { bias: b, scale: 1 }), [q, bias]);
  const kv1 = param([B, 1, T + 2, D]);
  const vv1 = param([B, 1, T + 2, D]);
  gradcheck((q: Tensor, k: Tensor, v: Tensor) => scaledDotProductAttention(q, k, v, { causal: true, slidingWindow: 3 }), [q, kv1, vv1]);
  const grouped = scaledDotProductAttention(q, kv1, vv1).toFlatArray();
  const expanded = scaledDotProductAttention(q, kv1.expand([B, H, T + 2, D]), vv1.expand([B, H, T + 2, D])).toFlatArray();
  assertClose(grouped, expanded, 1e-12);
  assert.throws(() => scaledDotProductAttention(q, randn([B, 3, T, D], { dtype: 'float64' }), v), ShapeError);
});

test('attention of a few queries (the decode kernel): blocks of 8 and 4 keys, key tails, head dims with 64/32-wide chunks and a tail', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    for (const D of [13, 64, 100]) {
      for (const Tk of [1, 3, 4, 7, 8, 12, 21]) {
        for (const Tq of [1, 2].filter((t) => t <= Tk)) {
          const q = randn([1, 3, Tq, D], { dtype });
          const k = randn([1, 1, Tk, D], { dtype });
          const v = randn([1, 1, Tk, D], { dtype });
          const ke = k.expand([1, 3, Tk, D]);
          const ve = v.expand([1, 3, Tk, D]);
          const causal = tensor(
            Array.from({ length: Tq * Tk }, (_, i) => (i % Tk <= Math.floor(i / Tk) + Tk - Tq ? 0 : -Infinity)),
            [1, 1, Tq, Tk],
            dtype,
          );
          assertClose(
            scaledDotProductAttention(q, k, v, { causal: true }).toFlatArray(),
            attentionRef(q, ke, ve, 1 / Math.sqrt(D), causal).toFlatArray(),
            dtype === 'float32' ? 2e-5 : 1e-10,
          );
        }
      }
    }
  }
});

test('attention dropout: the same seed gives the same output, and gradients match finite differences', () => {
  const q = param([1, 2, 4, 3]);
  const k = param([1, 2, 4, 3]);
  const v = param([1, 2, 4, 3]);
  manualSeed(5);
  const a = scaledDotProductAttention(q, k, v, { dropoutP: 0.3 }).toFlatArray();
  manualSeed(5);
  const b = scaledDotProductAttention(q, k, v, { dropoutP: 0.3 }).toFlatArray();
  assert.deepEqual(a, b);
  gradcheck((q: Tensor, k: Tensor, v: Tensor) => {
    manualSeed(11);
    return scaledDotProductAttention(q, k, v, { dropoutP: 0.3 });
  }, [q, k, v]);
});

test('rotary embedding rotates pairs (x1, x2) and differentiates', () => {
  const x = param([2, 3, 4, 6]);
  const angles = randn([4, 3], { dtype: 'float64' });
  const cos = concat([angles.cos(), angles.cos()], -1);
  const sin = concat([angles.sin(), angles.sin()], -1);
  gradcheck((x: Tensor) => applyRotaryEmb(x, cos, sin), [x]);
  const xv = x.detach();
  const half = 3;
  const rotated = concat([xv.narrow(-1, half, half).neg(), xv.narrow(-1, 0, half)], -1);
  assertClose(applyRotaryEmb(xv, cos, sin).toFlatArray(), xv.mul(cos).add(rotated.mul(sin)).toFlatArray(), 1e-12);
  assert.throws(() => applyRotaryEmb(xv, cos.narrow(0, 0, 2), sin.narrow(0, 0, 2)), ShapeError);
});
