// Prefix tuning seeds a fresh key/value cache in every training forward: its tensors must be freed
// with the step (a kept cache leaked every step's prefixes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AutoModelForCausalLM, getPeftModel, memoryStats, tidy, manualSeed } from '../../src/index.js';
import { FIXTURES, loadCase, modelInputs } from '../helpers/parity.js';

test('prefix-tuning training steps hold constant live memory', async () => {
  manualSeed(0);
  const peft = getPeftModel(await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama')), {
    peftType: 'PREFIX_TUNING', numVirtualTokens: 4, taskType: 'CAUSAL_LM',
  });
  const { inputs } = await loadCase(join(FIXTURES, 'llama'));
  const step = () =>
    tidy(() => {
      peft.forward(modelInputs(inputs)).loss!.backward();
      for (const p of peft.parameters()) {
        p.grad?.dispose();
        p.grad = null;
      }
      return null;
    });
  step();
  const before = memoryStats().liveBytes;
  for (let i = 0; i < 5; i++) step();
  assert.equal(memoryStats().liveBytes, before);
});
