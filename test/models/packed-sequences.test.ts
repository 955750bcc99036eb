// Packed sequences (ModelInputs.packedSequences): sequences of different lengths one after another
// without padding give each sequence the hidden states a batch of its own gives, bit for bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT2LMHeadModel, ShapeError, concat, manualSeed, noGrad, parseGPT2Config, randint, tensor } from '../../src/index.js';

test('GPT-2: two runs packed (one with a padding mask) equal each run as a batch of its own', () => {
  manualSeed(11);
  const model = new GPT2LMHeadModel(parseGPT2Config({ model_type: 'gpt2', n_embd: 32, n_layer: 2, n_head: 4, vocab_size: 50, n_positions: 16 }));
  model.eval();
  const a = randint(0, 50, [2, 5], { dtype: 'int64' });
  const b = randint(0, 50, [3, 7], { dtype: 'int64' });
  const maskB = tensor([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0, 0]], [3, 7], 'int64');
  noGrad(() => {
    const alone = [model.transformer.hiddenStates({ inputIds: a }), model.transformer.hiddenStates({ inputIds: b, attentionMask: maskB })];
    const packed = model.transformer.hiddenStates({
      inputIds: concat([a.reshape([10, 1]), b.reshape([21, 1])], 0),
      packedSequences: [{ rows: 2, length: 5 }, { rows: 3, length: 7, mask: maskB }],
    });
    assert.deepEqual(packed.shape, [31, 1, 32]);
    assert.deepEqual(packed.narrow(0, 0, 10).toFlatArray(), alone[0]!.toFlatArray());
    assert.deepEqual(packed.narrow(0, 10, 21).toFlatArray(), alone[1]!.toFlatArray());
    assert.throws(() => model.transformer.hiddenStates({ inputIds: a.reshape([10, 1]), packedSequences: [{ rows: 3, length: 5 }] }), ShapeError);
  });
});
