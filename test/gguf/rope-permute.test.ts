// One Q/K row permutation for export and load: 'to-hf' undoes 'to-ggml', the loader's row order for
// block-quantised weights is the same permutation, and bad head counts are the caller's typed error.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tensor } from '../../src/index.js';
import { permuteRopeRows } from '../../src/gguf/rope-permute.js';
import { unpermutedRowOrder } from '../../src/gguf/load/weights.js';

test('to-hf undoes to-ggml and equals the quantised loader row order', () => {
  const [heads, headDim, cols] = [3, 8, 2];
  const rows = heads * headDim;
  const w = tensor(
    Float32Array.from({ length: rows * cols }, (_, i) => i),
    [rows, cols],
  );
  const fail = (m: string) => new Error(m);
  const ggml = permuteRopeRows(w, heads, 'to-ggml', fail);
  assert.notDeepEqual(ggml.toFlatArray(), w.toFlatArray());
  assert.deepEqual(permuteRopeRows(ggml, heads, 'to-hf', fail).toFlatArray(), w.toFlatArray());
  const order = unpermutedRowOrder(rows, heads, { name: 'blk.0.attn_q.weight' } as never, 'x.gguf');
  const hf = permuteRopeRows(ggml, heads, 'to-hf', fail).toFlatArray();
  const g = ggml.toFlatArray();
  for (let r = 0; r < rows; r++)
    assert.deepEqual(hf.slice(r * cols, r * cols + cols), g.slice(order[r]! * cols, order[r]! * cols + cols));
  assert.throws(() => permuteRopeRows(w, 5, 'to-hf', fail), /24 rows are not 5 heads/);
});
