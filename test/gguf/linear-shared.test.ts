// Layers that read the same x in one native call (native.ggmlLinearMany, ggmlLinearShared: a decoder
// layer's q/k/v and gate/up): each output equals the layer's own forward bit for bit (few rows through
// the direct kernels, more through the panels; block types mixed, biases on some), the call refuses
// weights of different widths by name, and it steps aside (null) where the layers' own forwards must run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../../src/tensor/native/index.js';
import { Tensor, enableGrad } from '../../src/tensor/index.js';
import { Linear, Parameter } from '../../src/nn/index.js';
import { GgmlLinear, ggmlTensor, quantizeGgml } from '../../src/gguf/quant/index.js';
import { ggmlLinearShared } from '../../src/gguf/quant/linear.js';
import { gaussian } from '../quant/data.js';

const K = 256;
const WEIGHTS = [
  ggmlTensor('Q4_0', [37, K], quantizeGgml('Q4_0', gaussian(1, 37 * K))),
  ggmlTensor('Q8_0', [20, K], quantizeGgml('Q8_0', gaussian(2, 20 * K))),
  ggmlTensor('Q4_K', [21, K], quantizeGgml('Q4_K', gaussian(3, 21 * K))),
  ggmlTensor('Q5_0', [7, K], quantizeGgml('Q5_0', gaussian(4, 7 * K))),
];
const BIASES = [gaussian(5, 37), null, gaussian(6, 21), null];

for (const M of [1, 2, 5, 8, 9])
  test(`ggmlLinearMany equals one ggmlLinear per weight bit for bit (M=${M})`, () => {
    const x = gaussian(7 + M, M * K);
    const ys = WEIGHTS.map((w) => new Float32Array(M * w.shape[0]));
    native.ggmlLinearMany(x, M, WEIGHTS, BIASES, ys);
    WEIGHTS.forEach((w, i) => {
      const alone = new Float32Array(M * w.shape[0]);
      native.ggmlLinear(x, M, w, BIASES[i]!, alone);
      assert.deepEqual(ys[i], alone, `${w.type} [${w.shape.join(', ')}]`);
    });
  });

test('ggmlLinearMany refuses weights that do not read the same x', () => {
  const narrow = ggmlTensor('Q8_0', [4, 64], quantizeGgml('Q8_0', gaussian(8, 4 * 64)));
  assert.throws(
    () => native.ggmlLinearMany(new Float32Array(K), 1, [WEIGHTS[0]!, narrow], [null, null], [new Float32Array(37), new Float32Array(4)]),
    (e: Error) => e instanceof RangeError && /weights\[1\] has 64 cols, weights\[0\] 256/.test(e.message),
  );
});

test('ggmlLinearShared gives each layer its forward, and null where the layers must run alone', () => {
  const layers = WEIGHTS.map((w, i) => new GgmlLinear(w, BIASES[i] ? new Parameter(Tensor.fromArray(BIASES[i]!, [w.shape[0]], 'float32'), false) : null));
  const x = Tensor.fromArray(gaussian(9, 3 * K), [1, 3, K], 'float32');
  const shared = ggmlLinearShared(x, layers);
  if (!['avx512', 'avx2'].includes(native.simdLevel())) return assert.equal(shared, null);
  assert.ok(shared);
  layers.forEach((l, i) => {
    assert.deepEqual(shared[i]!.shape, [1, 3, WEIGHTS[i]!.shape[0]]);
    assert.deepEqual(shared[i]!.data(), l.forward(x).data());
  });
  // A plain Linear among them (an adapter's wrapper is not a GgmlLinear either).
  assert.equal(ggmlLinearShared(x, [layers[0]!, new Linear(K, 4)]), null);
  // A gradient to record: x on the tape.
  const tracked = Tensor.fromArray(gaussian(10, K), [1, K], 'float32').requiresGrad_(true);
  enableGrad(() => assert.equal(ggmlLinearShared(tracked, layers), null));
});
