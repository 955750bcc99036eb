// What a training forward keeps for backward: a frozen block holds only what its ops' backwards
// read (the norms' inputs, attention's packed heads and output, the MLP's pre-activations), not
// every intermediate until the step ends (releaseUnread in the blocks). Gradients through the
// blocks are checked against HF's in the parity suites (test/models, test/peft).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BertModel, GPT2LMHeadModel, LlamaForCausalLM, manualSeed, memoryStats, parseBertConfig, parseGPT2Config, parseLlamaConfig, randn, tidy, type Module, type Tensor,
} from '../../src/index.js';

const hidden = 64;
const layers = 3;
const [batch, seq] = [2, 32];

/** Bytes a frozen model's blocks keep after forward, in hidden-sized float32 activations per block. */
function keptPerBlock(model: Module, hiddenStates: (embeds: Tensor) => Tensor): number {
  for (const p of model.parameters()) p.requiresGrad = false;
  model.train();
  const embeds = randn([batch, seq, hidden]).requiresGrad_();
  const before = memoryStats().liveBytes;
  const held = tidy(() => {
    const out = hiddenStates(embeds);
    const bytes = memoryStats().liveBytes - before;
    out.sum().backward();
    return bytes;
  });
  assert.ok(embeds.grad!.toFlatArray().every(Number.isFinite));
  return held / layers / (batch * seq * hidden * 4);
}

test('a frozen GPT-2 block keeps about ten hidden-sized activations for backward', () => {
  manualSeed(3);
  const model = new GPT2LMHeadModel(parseGPT2Config({ model_type: 'gpt2', n_embd: hidden, n_layer: layers, n_head: 4, vocab_size: 100, n_positions: 64 }));
  const perBlock = keptPerBlock(model, (e) => model.transformer.hiddenStates({ inputsEmbeds: e }));
  // Per block: its input and the residual after attention (read by the norms), packed q, k, v and
  // the attention output (4), the MLP's pre-activation (4 wide): 10 units, 11.3 with the norms'
  // statistics and attention's log-sum-exp; keeping every intermediate held 25.3.
  assert.ok(perBlock < 12.5, `${perBlock.toFixed(1)} hidden-sized activations a block`);
});

test('a frozen Llama block keeps its norms\' inputs, attention\'s heads and the MLP\'s gate, up and activation', () => {
  manualSeed(3);
  const model = new LlamaForCausalLM(parseLlamaConfig({
    model_type: 'llama', hidden_size: hidden, intermediate_size: 2 * hidden, num_hidden_layers: layers, num_attention_heads: 4, num_key_value_heads: 4, vocab_size: 100,
  }));
  const perBlock = keptPerBlock(model, (e) => model.model.hiddenStates({ inputsEmbeds: e }));
  // Per block: its input and the residual (norms), rotated q and k, packed v, the attention output
  // (4), gate, up and the activation (2 wide each): 12 units, 12.3 with the statistics; 22.3 before.
  assert.ok(perBlock < 13.5, `${perBlock.toFixed(1)} hidden-sized activations a block`);
});

test('a frozen BERT layer keeps its norms\' inputs, attention\'s heads and the feed-forward pre-activation', () => {
  manualSeed(3);
  const model = new BertModel(parseBertConfig({
    model_type: 'bert', hidden_size: hidden, intermediate_size: 4 * hidden, num_hidden_layers: layers, num_attention_heads: 4, vocab_size: 100,
  }));
  const perBlock = keptPerBlock(model, (e) => model.forward({ inputsEmbeds: e }).lastHiddenState!);
  // Per layer: the two post-norm sums (norms' inputs), packed q, k, v and the attention output (4), the
  // feed-forward pre-activation (4 wide): 10 units, 13 with the embeddings' share and the statistics; 26 before.
  assert.ok(perBlock < 14.5, `${perBlock.toFixed(1)} hidden-sized activations a layer`);
});
