// The Trainer drives methods that adapt while training: AdaLoRA's rank allocation runs after every
// optimizer step (before the gradients are zeroed), so the budget shrinks to target_r as in HF.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AutoModelForCausalLM, getPeftModel, manualSeed, type AdaLoraConfig } from '../../src/index.js';
import { Trainer } from '../../src/train/index.js';
import { FIXTURES } from '../helpers/parity.js';
import { tokenBatches } from './helpers.js';

test('Trainer runs AdaLoRA rank allocation every step and fixes the rank pattern at total_step − tfinal', async () => {
  manualSeed(3);
  const model = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama'));
  const peft = getPeftModel(model, {
    peftType: 'ADALORA', initR: 6, targetR: 2, tinit: 1, tfinal: 2, deltaT: 1, totalStep: 8, targetModules: ['q_proj', 'v_proj'], taskType: 'CAUSAL_LM',
  });
  assert.equal((peft.peftConfig.get('default') as AdaLoraConfig).rankPattern, null);
  await new Trainer({ model: peft, trainDataset: tokenBatches(2, 2), args: { lr: 1e-2, maxSteps: 8, lrScheduler: 'constant' } }).train();
  const pattern = (peft.peftConfig.get('default') as AdaLoraConfig).rankPattern!;
  assert.ok(pattern !== null, 'the rank pattern was fixed');
  const kept = Object.values(pattern).flat().filter(Boolean).length;
  assert.equal(kept, 2 * 4, 'target_r triplets per adapted module (4 modules)');
});
