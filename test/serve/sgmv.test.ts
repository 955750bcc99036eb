// The grouped LoRA kernel (native sgmvLora, Punica's SGMV) in mixed batches: LoRA and rsLoRA rows
// of different ranks, rows out of order, base rows and a DoRA group beside them give logits
// bit-equal to the per-group path (the same GEMMs on the same rows), each row as it is alone; bad
// arguments are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  AutoModelForCausalLM,
  getPeftModel,
  native,
  noGrad,
  tensor,
  type DType,
  type Tensor,
} from '../../src/index.js';
import { FIXTURES } from './helpers.js';
import { maxAbsDiff } from '../helpers/parity.js';

const lora = (r: number, extra: object = {}) => ({
  peftType: 'LORA',
  r,
  loraAlpha: 3 * r,
  targetModules: ['c_attn', 'c_proj', 'c_fc'],
  initLoraWeights: false,
  ...extra,
});

// seq 5: segments of 10-15 rows; seq 1: a decode step's segments of a few rows, one task each on the
// threads, ranks 4 to 64.
async function mixedLogits(
  dtype: DType,
  seq = 5,
): Promise<{ grouped: Tensor; perGroup: Tensor; solo: Tensor[]; calls: number }> {
  const base = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'gpt2'), { dtype });
  const peft = getPeftModel(base, lora(8) as never, 'r8');
  peft.addAdapter('r16', lora(16) as never);
  peft.addAdapter('rs4', lora(4, { useRslora: true, loraAlpha: 5 }) as never);
  peft.addAdapter('dora', lora(8, { useDora: true }) as never);
  peft.addAdapter('r64', lora(64) as never);
  peft.eval();
  const rows = ['r16', 'r8', null, 'rs4', 'r16', 'dora', 'r8', 'r16', 'r64', 'r64'];
  const ids = tensor(
    Array.from({ length: rows.length * seq }, (_, i) => (i * 37) % 50),
    [rows.length, seq],
    'int64',
  );
  const forward = () => noGrad(() => peft.forward({ inputIds: ids, adapterNames: rows }).logits);
  const kernel = native.sgmvLora!;
  let calls = 0;
  native.sgmvLora = (...args) => {
    calls++;
    kernel(...args);
  };
  try {
    const grouped = forward();
    native.sgmvLora = undefined;
    const perGroup = forward();
    // Each row alone with its adapter active (the base for null), as generate runs it.
    const solo = rows.map((name, i) => {
      const row = ids.narrow(0, i, 1);
      if (name === null) return noGrad(() => peft.disableAdapter(() => peft.forward({ inputIds: row }).logits));
      peft.setAdapter(name);
      return noGrad(() => peft.forward({ inputIds: row }).logits);
    });
    return { grouped, perGroup, solo, calls };
  } finally {
    native.sgmvLora = kernel;
  }
}

for (const [dtype, seq] of [
  ['float32', 5],
  ['bfloat16', 5],
  ['float32', 1],
  ['bfloat16', 1],
] as const) {
  test(`gpt2 ${dtype}, ${seq} position(s) a row: a mixed batch through the grouped kernel equals the per-group path bit for bit`, async () => {
    const { grouped, perGroup, solo, calls } = await mixedLogits(dtype, seq);
    assert.ok(calls >= 2 * 4, `the kernel ran once per adapted layer (${calls} calls)`);
    assert.deepEqual([...grouped.to('float32').buffer], [...perGroup.to('float32').buffer]);
    // And each row (DoRA's too, added in place from its rows of the base output) is that row run alone.
    solo.forEach((logits, i) => assert.ok(maxAbsDiff(grouped.narrow(0, i, 1), logits) < 1e-4, `row ${i}`));
  });
}

test('sgmvLora refuses rows outside the batch and weights of the wrong size, naming them', () => {
  const x = new Float32Array(2 * 4);
  const out = new Float32Array(2 * 3);
  const a = new Float32Array(2 * 4);
  const b = new Float32Array(3 * 2);
  const call = (rows: number[], bw: Float32Array) =>
    native.sgmvLora!(
      x,
      out,
      2,
      1,
      4,
      3,
      Int32Array.from(rows),
      Int32Array.from([0, rows.length]),
      Int32Array.from([2]),
      Float32Array.from([1]),
      [a],
      [bw],
    );
  assert.throws(() => call([0, 2], b), /row 2 is outside the batch of 2/);
  assert.throws(() => call([1], new Float32Array(5)), /loraB\[0\] has 5 elements; expected 6/);
  call([1, 0], b);
  assert.deepEqual([...out], [0, 0, 0, 0, 0, 0]);
});
