// LSTM: torch's parameter names and shapes, outputs equal to a step-by-step scalar reference of
// torch's equations (both directions, two layers), and gradients equal to finite differences.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LSTM, Parameter, manualSeed, noGrad, randn, type Tensor } from '../../src/index.js';
import { gradcheck } from '../helpers/gradcheck.js';

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** One direction of one layer, in plain numbers: rows of x [seq][in] → hidden states [seq][hidden]. */
function referenceDirection(x: number[][], wih: number[][], whh: number[][], bih: number[], bhh: number[], reverse: boolean): number[][] {
  const hidden = whh[0]!.length;
  let h = new Array<number>(hidden).fill(0);
  let c = new Array<number>(hidden).fill(0);
  const out = new Array<number[]>(x.length);
  for (let i = 0; i < x.length; i++) {
    const t = reverse ? x.length - 1 - i : i;
    const gates = wih.map((row, g) => row.reduce((s, w, k) => s + w * x[t]![k]!, bih[g]! + bhh[g]!) + whh[g]!.reduce((s, w, k) => s + w * h[k]!, 0));
    const gate = (n: number, j: number) => gates[n * hidden + j]!;
    c = c.map((cj, j) => sigmoid(gate(1, j)) * cj + sigmoid(gate(0, j)) * Math.tanh(gate(2, j)));
    h = c.map((cj, j) => sigmoid(gate(3, j)) * Math.tanh(cj));
    out[t] = h;
  }
  return out;
}

const rows = (t: Tensor) => t.toArray() as number[][];

test('LSTM: torch names and shapes; bidirectional two-layer outputs equal the scalar reference', () => {
  manualSeed(3);
  const lstm = new LSTM(3, 4, { numLayers: 2, bidirectional: true });
  assert.deepEqual(
    lstm.namedParameters().map(([n, p]) => `${n}:${p.shape.join('x')}`),
    ['weight_ih_l0:16x3', 'weight_hh_l0:16x4', 'bias_ih_l0:16', 'bias_hh_l0:16',
      'weight_ih_l0_reverse:16x3', 'weight_hh_l0_reverse:16x4', 'bias_ih_l0_reverse:16', 'bias_hh_l0_reverse:16',
      'weight_ih_l1:16x8', 'weight_hh_l1:16x4', 'bias_ih_l1:16', 'bias_hh_l1:16',
      'weight_ih_l1_reverse:16x8', 'weight_hh_l1_reverse:16x4', 'bias_ih_l1_reverse:16', 'bias_hh_l1_reverse:16'],
  );
  const x = randn([2, 5, 3]);
  const out = lstm.forward(x).toArray() as number[][][];
  const p = Object.fromEntries(lstm.namedParameters()) as Record<string, Parameter>;
  const vec = (t: Tensor) => t.toFlatArray();
  for (let b = 0; b < 2; b++) {
    let input = (x.toArray() as number[][][])[b]!;
    for (let layer = 0; layer < 2; layer++) {
      const dir = (s: string) => referenceDirection(input, rows(p[`weight_ih_l${layer}${s}`]!), rows(p[`weight_hh_l${layer}${s}`]!),
        vec(p[`bias_ih_l${layer}${s}`]!), vec(p[`bias_hh_l${layer}${s}`]!), s !== '');
      const fwd = dir('');
      const bwd = dir('_reverse');
      input = fwd.map((h, t) => [...h, ...bwd[t]!]);
    }
    input.forEach((row, t) => row.forEach((v, j) => assert.ok(Math.abs(out[b]![t]![j]! - v) < 1e-5, `b${b} t${t} j${j}`)));
  }
});

test('LSTM: gradients of the input and of every parameter equal finite differences (float64)', () => {
  manualSeed(4);
  const lstm = new LSTM(2, 3, { bidirectional: true });
  const params = lstm.namedParameters().map(([, p]) => p);
  const inputs = [randn([1, 3, 2], { dtype: 'float64' }).requiresGrad_(true), ...params.map((p) => noGrad(() => p.to('float64')).requiresGrad_(true))];
  const fields = lstm as unknown as Record<string, Tensor>;
  const names = lstm.namedParameters().map(([n]) => n);
  gradcheck((x, ...ws) => {
    names.forEach((n, i) => (fields[n] = ws[i]!));
    return lstm.forward(x!);
  }, inputs, { atol: 1e-5 });
});

test('LSTM: bad sizes are typed errors', () => {
  assert.throws(() => new LSTM(2, 3, { numLayers: 0 }), /numLayers must be a positive integer/);
  assert.throws(() => new LSTM(2, 3).forward(randn([1, 3, 5])), /input must be \[batch, seq, 2\]/);
});
