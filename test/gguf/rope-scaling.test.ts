// Rope scaling read from GGUF files: Llama 3's rope_freqs.weight divisors back to HF's llama3
// parameters (the fixture's round trip is in load-model.test.ts; here the real models' shapes).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { llama3RopeFactors, llama3RopeFromFactors } from '../../src/gguf/rope-freqs.js';

const llama3 = (factor: number, context: number) =>
  ({ rope_type: 'llama3', rope_theta: 500000, factor, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: context }) as const;

test('Llama 3.1 and 3.2 rope parameters survive the converter divisors both ways', () => {
  for (const rope of [llama3(8, 8192), llama3(32, 8192), llama3(8, 16)]) {
    for (const dim of [128, 64, 8]) {
      const factors = llama3RopeFactors(rope, dim);
      assert.deepEqual(llama3RopeFromFactors(factors, rope.rope_theta, dim), rope, `${JSON.stringify(rope)} dim ${dim}`);
    }
  }
});

test('divisors that are all 1 are no scaling; divisors Llama 3 cannot give are named', () => {
  assert.equal(llama3RopeFromFactors(new Float32Array(64).fill(1), 500000, 128), null);
  const odd = llama3RopeFactors(llama3(8, 8192), 128).map((d, i) => (i % 2 ? d : 1));
  const read = llama3RopeFromFactors(odd, 500000, 128);
  assert.ok(read !== null && 'mismatch' in read && /not Llama 3/.test(read.mismatch));
  const short = llama3RopeFromFactors(new Float32Array(3).fill(2), 500000, 128);
  assert.ok(short !== null && 'mismatch' in short && /3 values for 64/.test(short.mismatch));
});
