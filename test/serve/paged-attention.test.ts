import { test } from 'node:test';
import assert from 'node:assert/strict';
import { concat, native, noGrad, randn, scaledDotProductAttention, type Tensor } from '../../src/tensor/index.js';
import { BlockPool } from '../../src/serve/kv-pool.js';
import { StepCache } from '../../src/serve/step-cache.js';

const D = 8;
const KV_HEADS = 2;
const Q_HEADS = 4;
const BLOCK = 4;

/** Rows with `cached` past positions written through a prefill StepCache, blocks taken in a scrambled order. */
function filledPool(dtype: 'float32' | 'bfloat16', cached: number[], D = 8) {
  const pool = new BlockPool(
    { layers: 1, kvHeads: KV_HEADS, headDim: D, dtype },
    BLOCK,
    64 * BlockPool.bytesPerBlock({ layers: 1, kvHeads: KV_HEADS, headDim: D, dtype }, BLOCK),
  );
  for (let i = 0; i < 5; i++) pool.allocate(); // rows do not start at block 0
  const rows = cached.map((n) => ({
    blocks: [] as number[],
    cached: 0,
    keys: randn([1, KV_HEADS, n + 1, D]).to(dtype),
    values: randn([1, KV_HEADS, n + 1, D]).to(dtype),
  }));
  for (let b = 0; b < 4; b++) for (const row of rows) row.blocks.push(pool.allocate()!);
  rows.forEach((row, i) => {
    if (cached[i]! > 0)
      new StepCache(pool, [row], cached[i]!).update(
        0,
        row.keys.narrow(2, 0, cached[i]!),
        row.values.narrow(2, 0, cached[i]!),
      );
    row.cached = cached[i]!;
  });
  return { pool, rows };
}

/** Position cached[i] of each row i's keys and values, each as one batch. */
function freshKv(rows: { keys: Tensor; values: Tensor }[], cached: number[]): [Tensor, Tensor] {
  const at = (t: Tensor, i: number) => t.narrow(2, cached[i]!, 1);
  return [
    concat(
      rows.map((r, i) => at(r.keys, i)),
      0,
    ),
    concat(
      rows.map((r, i) => at(r.values, i)),
      0,
    ),
  ];
}

// Head dims 8, 12 (a tail past the last 8) and 64 (GPT-2's: the wide chunks); float32 pools are read
// in place, bf16 ones converted first.
for (const [dtype, D] of [
  ['float32', 8],
  ['float32', 12],
  ['float32', 64],
  ['bfloat16', 8],
  ['bfloat16', 64],
] as const) {
  test(`paged attention (${dtype}, head dim ${D}): a decode step over block tables equals attention over each row's own keys, bit for bit`, () =>
    noGrad(() => {
      const cached = [5, 0, 9];
      const { pool, rows } = filledPool(dtype, cached, D);
      const q = randn([rows.length, Q_HEADS, 1, D]).to(dtype);
      // The second step writes the same fresh keys again: the pool holds what the first left.
      for (const slidingWindow of [0, 3]) {
        const out = new StepCache(pool, rows, 1).attend(0, q, ...freshKv(rows, cached), {
          causal: true,
          scale: 0.3,
          slidingWindow,
        });
        rows.forEach((row, i) => {
          const alone = scaledDotProductAttention(q.narrow(0, i, 1), row.keys, row.values, {
            causal: true,
            scale: 0.3,
            slidingWindow,
          });
          assert.deepEqual(out.narrow(0, i, 1).data(), alone.data(), `row ${i} (window ${slidingWindow})`);
        });
      }
    }));
}

test('StepCache.update writes the new positions and returns every row left-padded', () =>
  noGrad(() => {
    const cached = [3, 6];
    const { pool, rows } = filledPool('bfloat16', cached);
    const [keys, values] = new StepCache(pool, rows, 1).update(0, ...freshKv(rows, cached));
    assert.deepEqual(keys.shape, [2, KV_HEADS, 7, D]);
    rows.forEach((row, i) => {
      const pad = 7 - (cached[i]! + 1);
      const positions = (t: Tensor, from: number, count: number) => t.narrow(0, i, 1).narrow(2, from, count);
      assert.deepEqual(positions(keys, pad, cached[i]! + 1).data(), row.keys.data(), `keys of row ${i}`);
      assert.deepEqual(positions(values, pad, cached[i]! + 1).data(), row.values.data(), `values of row ${i}`);
      assert.ok(
        positions(keys, 0, pad)
          .toFlatArray()
          .every((x) => x === 0),
        `row ${i} padding is zero`,
      );
    });
  }));

test('the paged kernels refuse a block id outside the pool and a row longer than its block table', () => {
  const pool = new Float32Array(4 * KV_HEADS * BLOCK * D);
  const x = new Float32Array(KV_HEADS * D);
  assert.throws(
    () => native.pagedKvWrite(pool, x, Int32Array.of(4), Int32Array.of(0), 1, KV_HEADS, 1, D, BLOCK, 1),
    /block 0 is 4; the pool has 4 blocks/,
  );
  assert.throws(
    () => native.pagedKvWrite(pool, x, Int32Array.of(1), Int32Array.of(BLOCK), 1, KV_HEADS, 1, D, BLOCK, 1),
    /row 0 has 4 cached \+ 1 new positions; its block table holds 4/,
  );
  assert.throws(
    () =>
      native.pagedAttention(
        new Float32Array(Q_HEADS * D),
        pool,
        pool,
        Int32Array.of(-1),
        Int32Array.of(0),
        new Float32Array(Q_HEADS * D),
        1,
        KV_HEADS,
        1,
        D,
        BLOCK,
        1,
        Q_HEADS,
        1,
        0,
      ),
    /block 0 is -1/,
  );
});
