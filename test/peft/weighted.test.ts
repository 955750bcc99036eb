// addWeightedAdapter beyond 'cat' (which has an HF fixture): the factor-space and SVD combinations,
// and the task-arithmetic rules they use, against hand computations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AutoModelForCausalLM, PeftModel, combineTensors, magnitudePrune, tensor, noGrad, ValueError, type LoraLinear } from '../../src/index.js';
import { FIXTURES, maxAbsDiff } from '../helpers/parity.js';

const dir = join(FIXTURES, 'llama', 'peft', 'multi_adapter');

async function twoAdapters() {
  const peft = await PeftModel.fromPretrained(await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama')), join(dir, 'a'), { adapterName: 'a' });
  await peft.loadAdapter(join(dir, 'b'), 'b');
  await peft.loadAdapter(join(dir, 'a'), 'a2');
  return { peft, layer: peft.model.getSubmodule('model.layers.0.self_attn.q_proj') as LoraLinear };
}

test("'svd' at full rank reproduces HF's weighted sum of the updates", async () => {
  const { peft, layer } = await twoAdapters();
  peft.addWeightedAdapter(['a', 'b'], [0.7, 0.3], 'mix', 'svd', { svdRank: 6 });
  const s = (n: string) => layer.scaling.get(n)!;
  // HF weights each ΔWᵢ = sᵢBᵢAᵢ by wᵢ·sᵢ.
  const expected = noGrad(() => layer.deltaOutIn('a').mul(0.7 * s('a')).add(layer.deltaOutIn('b').mul(0.3 * s('b'))));
  assert.equal(layer.scaling.get('mix'), 1);
  assert.ok(maxAbsDiff(noGrad(() => layer.deltaOutIn('mix')), expected) < 1e-5);
});

test("'linear' puts √(w·s) on both factors; it needs equal ranks", async () => {
  const { peft, layer } = await twoAdapters();
  peft.addWeightedAdapter(['a', 'a2'], [0.5, 0.5], 'lin', 'linear');
  const k = Math.sqrt(0.5 * layer.scaling.get('a')!);
  const A = layer.lora_A.get('a')!.weight;
  assert.ok(maxAbsDiff(layer.lora_A.get('lin')!.weight, noGrad(() => A.mul(2 * k))) < 1e-6);
  assert.throws(() => peft.addWeightedAdapter(['a', 'b'], [0.5, 0.5], 'bad', 'linear'), /one rank/);
  assert.throws(() => peft.addWeightedAdapter(['a', 'b'], [0.5], 'bad2', 'cat'), ValueError);
  assert.throws(() => peft.addWeightedAdapter(['a', 'b'], [0.5, 0.5], 'bad3', 'mean' as never), /unknown combination/);
  assert.throws(() => peft.addWeightedAdapter(['a', 'b'], [0.5, 0.5], 'bad4', 'ties_svd'), /density/);
});

test('task arithmetic rules: magnitude pruning, TIES sign election and disjoint mean, DARE at density 1', () => {
  assert.deepEqual(magnitudePrune(tensor([0.1, -3, 2, -0.5]), 0.5).toFlatArray().map((v) => Math.abs(v) === 0 ? 0 : v), [0, -3, 2, 0]);
  const t1 = tensor([1, -2, 3]);
  const t2 = tensor([-3, -1, 1]);
  // 'total' elects the sign of the sums [-2, -3, 4]; position 0 then keeps t2 alone.
  assert.deepEqual(combineTensors('ties', [t1, t2], [1, 1], { density: 1 }).toFlatArray(), [-3, -1.5, 2]);
  assert.deepEqual(combineTensors('ties', [t1, t2], [1, 1], { density: 1, majoritySignMethod: 'frequency' }).toFlatArray(), [1, -1.5, 2]);
  assert.deepEqual(combineTensors('dare_linear', [t1, t2], [0.5, 2], { density: 1 }).toFlatArray(), combineTensors('linear', [t1, t2], [0.5, 2]).toFlatArray());
  assert.throws(() => magnitudePrune(t1, -1), /density/);
});
