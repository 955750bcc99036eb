// Packed sequences (ModelInputs.packedSequences): sequences of different lengths one after another
// without padding give each sequence the hidden states a batch of its own gives, bit for bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GPT2LMHeadModel, LlamaForCausalLM, ShapeError, concat, manualSeed, noGrad, parseGPT2Config, parseLlamaConfig, randint, tensor, type ModelInputs, type Tensor,
} from '../../src/index.js';

/** Two runs packed (one with a padding mask) against each run as a batch of its own, bit for bit. */
function checkPacked(hiddenStates: (inputs: ModelInputs) => Tensor, width: number): void {
  const a = randint(0, 50, [2, 5], { dtype: 'int64' });
  const b = randint(0, 50, [3, 7], { dtype: 'int64' });
  const maskB = tensor([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0, 0]], [3, 7], 'int64');
  noGrad(() => {
    const alone = [hiddenStates({ inputIds: a }), hiddenStates({ inputIds: b, attentionMask: maskB })];
    const packed = hiddenStates({
      inputIds: concat([a.reshape([10, 1]), b.reshape([21, 1])], 0),
      packedSequences: [{ rows: 2, length: 5 }, { rows: 3, length: 7, mask: maskB }],
    });
    assert.deepEqual(packed.shape, [31, 1, width]);
    assert.deepEqual(packed.narrow(0, 0, 10).toFlatArray(), alone[0]!.toFlatArray());
    assert.deepEqual(packed.narrow(0, 10, 21).toFlatArray(), alone[1]!.toFlatArray());
    assert.throws(() => hiddenStates({ inputIds: a.reshape([10, 1]), packedSequences: [{ rows: 3, length: 5 }] }), ShapeError);
  });
}

test('GPT-2: two runs packed (one with a padding mask) equal each run as a batch of its own', () => {
  manualSeed(11);
  const model = new GPT2LMHeadModel(parseGPT2Config({ model_type: 'gpt2', n_embd: 32, n_layer: 2, n_head: 4, vocab_size: 50, n_positions: 16 }));
  model.eval();
  checkPacked((inputs) => model.transformer.hiddenStates(inputs), 32);
});

test('Llama (grouped-query attention, rotary positions): packed runs equal each run as a batch of its own', () => {
  manualSeed(12);
  const model = new LlamaForCausalLM(parseLlamaConfig({
    model_type: 'llama', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 50,
  }));
  model.eval();
  checkPacked((inputs) => model.model.hiddenStates(inputs), 32);
});
