// A Llama layer's attention on the GGUF decode path (LlamaAttention.decodeResidual over
// models/decode/attention.ts): projections, rotation and residual as native calls on plain arrays
// around the KV cache give what h + forward(norm(h)) gives, bit for bit, step after step, for one and
// two rows (Qwen2-style q/k/v biases too); null where forward must run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../../src/tensor/native/index.js';
import { Tensor, noGrad, tensor } from '../../src/tensor/index.js';
import { Linear, Parameter, RMSNorm } from '../../src/nn/index.js';
import { parseLlamaConfig } from '../../src/index.js';
import { LlamaAttention } from '../../src/models/llama.js';
import { KVCache } from '../../src/models/cache.js';
import { rotaryTables } from '../../src/models/rope.js';
import { GgmlLinear, ggmlTensor, quantizeGgml } from '../../src/gguf/quant/index.js';
import { gaussian } from '../quant/data.js';
import { denseLinear } from './dense-linear.js';

const HIDDEN = 128;
const config = parseLlamaConfig({
  vocab_size: 64, hidden_size: HIDDEN, intermediate_size: 256, num_hidden_layers: 1,
  num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, bos_token_id: 0, eos_token_id: 0,
});
const onIntegerPath = ['avx512', 'avx2'].includes(native.simdLevel());

function ggml(type: 'Q4_0' | 'Q8_0', rows: number, cols: number, seed: number, bias: boolean): GgmlLinear {
  const b = bias ? new Parameter(Tensor.fromArray(gaussian(seed + 100, rows), [rows], 'float32'), false) : null;
  return new GgmlLinear(ggmlTensor(type, [rows, cols], quantizeGgml(type, gaussian(seed, rows * cols))), b);
}

type Weights = 'ggml' | 'float32' | 'bfloat16';

function attention(biases: boolean, weights: Weights = 'ggml'): { attn: LlamaAttention; norm: RMSNorm } {
  const attn = new LlamaAttention(config, 0, 'float32');
  const layer = (type: 'Q4_0' | 'Q8_0', rows: number, cols: number, seed: number, bias: boolean) =>
    weights === 'ggml' ? ggml(type, rows, cols, seed, bias) : denseLinear(weights, rows, cols, seed, bias);
  attn.q_proj = layer('Q4_0', HIDDEN, HIDDEN, 1, biases);
  attn.k_proj = layer('Q8_0', HIDDEN / 2, HIDDEN, 2, biases);
  attn.v_proj = layer('Q4_0', HIDDEN / 2, HIDDEN, 3, biases);
  attn.o_proj = layer('Q4_0', HIDDEN, HIDDEN, 4, false);
  const norm = new RMSNorm(HIDDEN, 1e-5);
  norm.weight = new Parameter(Tensor.fromArray(gaussian(5, HIDDEN), [HIDDEN], 'float32'), false);
  return { attn, norm };
}

function context(batch: number, start: number, seq: number, cache: KVCache) {
  const positions = tensor(Array.from({ length: batch * seq }, (_, i) => start + (i % seq)), [batch, seq], 'int64');
  return { mask: null, ...rotaryTables(config.rope_parameters, config.head_dim, positions), cache };
}

for (const weights of ['ggml', 'float32', 'bfloat16'] as const)
  for (const batch of [1, 2])
    for (const biases of [false, true])
      test(`decodeResidual equals h + forward(norm(h)) bit for bit over a cache (${weights} weights, ${batch} row${batch > 1 ? 's' : ''}${biases ? ', q/k/v biases' : ''})`, () => {
        const { attn, norm } = attention(biases, weights);
        const fastPath = weights !== 'ggml' || onIntegerPath;
        const [fast, reference] = [new KVCache(), new KVCache()];
        const prompt = Tensor.fromArray(gaussian(6, batch * 5 * HIDDEN), [batch, 5, HIDDEN], 'float32');
        noGrad(() => {
          // The prompt (5 positions) takes forward on both caches: decodeResidual is for one position.
          assert.equal(attn.decodeResidual(prompt, norm, context(batch, 0, 5, fast)), null);
          attn.forward(norm.forward(prompt), context(batch, 0, 5, fast));
          attn.forward(norm.forward(prompt), context(batch, 0, 5, reference));
          for (let step = 0; step < 3; step++) {
            const h = Tensor.fromArray(gaussian(7 + step, batch * HIDDEN), [batch, 1, HIDDEN], 'float32');
            const got = attn.decodeResidual(h, norm, context(batch, 5 + step, 1, fast));
            const expected = h.add(attn.forward(norm.forward(h), context(batch, 5 + step, 1, reference)));
            if (!fastPath) return assert.equal(got, null);
            assert.deepEqual(got!.shape, [batch, 1, HIDDEN]);
            assert.deepEqual(got!.data(), expected.data(), `step ${step}`);
          }
        });
        assert.deepEqual(fast.get(0)![0].data(), reference.get(0)![0].data());
        fast.dispose();
        reference.dispose();
      });

test('decodeResidual steps aside (null) for an adapter on a projection and for more rows than a decode step\'s', { skip: !onIntegerPath }, () => {
  const { attn, norm } = attention(false);
  const h = Tensor.fromArray(gaussian(9, HIDDEN), [1, 1, HIDDEN], 'float32');
  noGrad(() => {
    const wide = Tensor.fromArray(gaussian(10, 9 * HIDDEN), [9, 1, HIDDEN], 'float32');
    assert.equal(attn.decodeResidual(wide, norm, context(9, 0, 1, new KVCache())), null);
    attn.v_proj = new Linear(HIDDEN, HIDDEN / 2);
    assert.equal(attn.decodeResidual(h, norm, context(1, 0, 1, new KVCache())), null);
  });
});
