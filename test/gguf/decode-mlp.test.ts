// A Llama layer's second half in native calls on plain arrays (decodeSiluMlpResidual, the GGUF decode
// path): h + down(silu(gate(n)) · up(n)), n = rmsNorm(h), equals the modules' forwards bit for bit
// for one and several rows (up to DECODE_ROWS), with biases, over mixed block types; null where the
// modules must run (adapters, gradients, more rows than a decode step's).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../../src/tensor/native/index.js';
import { Tensor, enableGrad, noGrad, silu } from '../../src/tensor/index.js';
import { Linear, Parameter, RMSNorm } from '../../src/nn/index.js';
import { GgmlLinear, ggmlTensor, quantizeGgml } from '../../src/gguf/quant/index.js';
import { decodeSiluMlpResidual } from '../../src/models/decode/mlp.js';
import { gaussian } from '../quant/data.js';
import { denseLinear } from './dense-linear.js';

const HIDDEN = 96;
const INNER = 160;
const onIntegerPath = ['avx512', 'avx2'].includes(native.simdLevel());

function layers(withBias: boolean) {
  const bias = (seed: number, n: number) => (withBias ? new Parameter(Tensor.fromArray(gaussian(seed, n), [n], 'float32'), false) : null);
  const gate = new GgmlLinear(ggmlTensor('Q4_0', [INNER, HIDDEN], quantizeGgml('Q4_0', gaussian(1, INNER * HIDDEN))), bias(11, INNER));
  const up = new GgmlLinear(ggmlTensor('Q8_0', [INNER, HIDDEN], quantizeGgml('Q8_0', gaussian(2, INNER * HIDDEN))), bias(12, INNER));
  const down = new GgmlLinear(ggmlTensor('Q4_0', [HIDDEN, INNER], quantizeGgml('Q4_0', gaussian(3, HIDDEN * INNER))), bias(13, HIDDEN));
  const norm = new RMSNorm(HIDDEN, 1e-5);
  norm.weight = new Parameter(Tensor.fromArray(gaussian(4, HIDDEN), [HIDDEN], 'float32'));
  return { norm, gate, up, down };
}

for (const rows of [1, 3, 8])
  for (const withBias of [false, true])
    test(`decodeSiluMlpResidual equals the modules' forwards bit for bit (${rows} rows${withBias ? ', biases' : ''})`, () => {
      const { norm, gate, up, down } = layers(withBias);
      const h = Tensor.fromArray(gaussian(20 + rows, rows * HIDDEN), [1, rows, HIDDEN], 'float32');
      const fused = noGrad(() => decodeSiluMlpResidual(h, norm, gate, up, down));
      if (!onIntegerPath) return assert.equal(fused, null);
      const n = noGrad(() => norm.forward(h));
      const expected = noGrad(() => h.add(down.forward(silu(gate.forward(n)).mul(up.forward(n)))));
      assert.deepEqual(fused!.shape, h.shape);
      assert.deepEqual(fused!.data(), expected.data());
    });

test('decodeSiluMlpResidual steps aside (null) for adapters, recorded gradients, float64 and a prompt\'s rows', { skip: !onIntegerPath }, () => {
  const { norm, gate, up, down } = layers(false);
  const h = Tensor.fromArray(gaussian(30, HIDDEN), [1, 1, HIDDEN], 'float32');
  assert.equal(decodeSiluMlpResidual(h, norm, new Linear(HIDDEN, INNER), up, down), null);
  const trainable = new RMSNorm(HIDDEN, 1e-5); // LN tuning: the norm's weight takes a gradient
  enableGrad(() => assert.equal(decodeSiluMlpResidual(h, trainable, gate, up, down), null));
  const tracked = Tensor.fromArray(gaussian(31, HIDDEN), [1, 1, HIDDEN], 'float32').requiresGrad_(true);
  enableGrad(() => assert.equal(decodeSiluMlpResidual(tracked, norm, gate, up, down), null));
  assert.equal(decodeSiluMlpResidual(h.to('float64'), norm, gate, up, down), null);
  const prompt = Tensor.fromArray(gaussian(32, 9 * HIDDEN), [1, 9, HIDDEN], 'float32');
  assert.equal(noGrad(() => decodeSiluMlpResidual(prompt, norm, gate, up, down)), null);
});

// Plain Linears (float32 / bf16 weights, an HF checkpoint or an F32 GGUF file) take the same path
// through the GEMM call linear() makes: the modules' bits, on every backend.
function denseLayers(dtype: 'float32' | 'bfloat16', withBias: boolean) {
  const norm = new RMSNorm(HIDDEN, 1e-5);
  norm.weight = new Parameter(Tensor.fromArray(gaussian(4, HIDDEN), [HIDDEN], 'float32'), false);
  return {
    norm,
    gate: denseLinear(dtype, INNER, HIDDEN, 1, withBias),
    up: denseLinear(dtype, INNER, HIDDEN, 2, withBias),
    down: denseLinear(dtype, HIDDEN, INNER, 3, withBias),
  };
}

for (const dtype of ['float32', 'bfloat16'] as const)
  for (const rows of [1, 5])
    test(`decodeSiluMlpResidual over plain ${dtype} Linears equals the modules' forwards bit for bit (${rows} rows, biases)`, () => {
      const { norm, gate, up, down } = denseLayers(dtype, true);
      const h = Tensor.fromArray(gaussian(40 + rows, rows * HIDDEN), [rows, 1, HIDDEN], 'float32');
      const fused = noGrad(() => decodeSiluMlpResidual(h, norm, gate, up, down));
      const n = noGrad(() => norm.forward(h));
      const expected = noGrad(() => h.add(down.forward(silu(gate.forward(n)).mul(up.forward(n)))));
      assert.notEqual(fused, null);
      assert.deepEqual(fused!.data(), expected.data());
    });

test('decodeSiluMlpResidual steps aside for a trainable Linear weight while gradients are recorded', () => {
  const { norm, gate, up, down } = denseLayers('float32', false);
  gate.weight.requiresGrad_(true); // full fine-tuning: the forward must record
  const h = Tensor.fromArray(gaussian(50, HIDDEN), [1, 1, HIDDEN], 'float32');
  enableGrad(() => assert.equal(decodeSiluMlpResidual(h, norm, gate, up, down), null));
  assert.notEqual(noGrad(() => decodeSiluMlpResidual(h, norm, gate, up, down)), null);
});
