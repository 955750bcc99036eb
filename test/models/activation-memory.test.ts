// What a training forward keeps for backward: a frozen GPT-2 block holds only what its ops'
// backwards read (the norms' inputs, attention's packed heads and output, the MLP's pre-activation),
// not every intermediate until the step ends (releaseUnread in the blocks). Gradients through the
// blocks are checked against HF's in the parity suites (test/models, test/peft).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT2LMHeadModel, manualSeed, memoryStats, parseGPT2Config, randn, tidy } from '../../src/index.js';

test('a frozen GPT-2 block keeps about ten hidden-sized activations for backward', () => {
  manualSeed(3);
  const hidden = 64;
  const layers = 3;
  const config = parseGPT2Config({ model_type: 'gpt2', n_embd: hidden, n_layer: layers, n_head: 4, vocab_size: 100, n_positions: 64 });
  const model = new GPT2LMHeadModel(config);
  for (const p of model.parameters()) p.requiresGrad = false;
  model.train();
  const rows = 2 * 32;
  const unit = rows * hidden * 4; // one float32 activation of the hidden size
  const embeds = randn([2, 32, hidden]).requiresGrad_();
  const before = memoryStats().liveBytes;
  const held = tidy(() => {
    const out = model.transformer.hiddenStates({ inputsEmbeds: embeds });
    const bytes = memoryStats().liveBytes - before;
    out.sum().backward();
    return bytes;
  });
  // Per block: its input and the residual after attention (read by the norms), packed q, k, v and
  // the attention output (4), the MLP's pre-activation (4 wide): 10 units, 11.3 with the norms'
  // statistics and attention's log-sum-exp; keeping every intermediate held 25.3.
  const perBlock = held / layers / unit;
  assert.ok(perBlock < 12.5, `${perBlock.toFixed(1)} hidden-sized activations a block`);
  assert.ok(embeds.grad !== null && embeds.grad.toFlatArray().every(Number.isFinite));
});
