// The Trainer drives methods that adapt while training: AdaLoRA's rank allocation runs after every
// optimizer step (before the gradients are zeroed), so the budget shrinks to target_r as in HF, and
// its checkpoints carry the allocator's state, so a resumed run ends on the same bits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AutoModelForCausalLM, getPeftModel, manualSeed, type AdaLoraConfig, type PeftModel } from '../../src/index.js';
import { Trainer, type TrainingArguments } from '../../src/train/index.js';
import { FIXTURES } from '../helpers/parity.js';
import { adapterValues, tokenBatches, withTempDir } from './helpers.js';

/** Budgeting from step 1, the pattern fixed at step 6 (total 8 − tfinal 2), masking every step. */
const SCHEDULE = { initR: 6, targetR: 2, tinit: 1, tfinal: 2, deltaT: 1, totalStep: 8 };

async function adaloraLlama(seed: number): Promise<PeftModel> {
  manualSeed(seed);
  const model = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama'));
  return getPeftModel(model, { peftType: 'ADALORA', ...SCHEDULE, targetModules: ['q_proj', 'v_proj'], taskType: 'CAUSAL_LM' });
}

const rankPattern = (peft: PeftModel) => (peft.peftConfig.get('default') as AdaLoraConfig).rankPattern;

test('Trainer runs AdaLoRA rank allocation every step and fixes the rank pattern at total_step − tfinal', async () => {
  const peft = await adaloraLlama(3);
  assert.equal(rankPattern(peft), null);
  await new Trainer({ model: peft, trainDataset: tokenBatches(2, 2), args: { lr: 1e-2, maxSteps: 8, lrScheduler: 'constant' } }).train();
  const pattern = rankPattern(peft)!;
  assert.ok(pattern !== null, 'the rank pattern was fixed');
  const kept = Object.values(pattern).flat().filter(Boolean).length;
  assert.equal(kept, 2 * 4, 'target_r triplets per adapted module (4 modules)');
});

for (const crashAt of [3, 7]) {
  test(`AdaLoRA resumed from checkpoint-${crashAt} (${crashAt < 6 ? 'while budgeting' : 'after the pattern was fixed'}) ends on the uninterrupted run's bits`, async () => {
    await withTempDir(async (dir) => {
      const args = (outputDir: string): TrainingArguments => ({ outputDir, lr: 1e-2, maxSteps: 8, saveSteps: 1, lrScheduler: 'constant', seed: 5 });
      const data = tokenBatches(4, 2);
      const whole = await adaloraLlama(3);
      await new Trainer({ model: whole, trainDataset: data, args: args(join(dir, 'whole')) }).train();

      const crash = new Error(`simulated crash at checkpoint-${crashAt}`);
      const first = await adaloraLlama(3);
      const crashing = { onSave: (path: string) => { if (path.endsWith(`checkpoint-${crashAt}`)) throw crash; } };
      await assert.rejects(new Trainer({ model: first, trainDataset: data, args: args(join(dir, 'parts')), callbacks: [crashing] }).train(), crash);

      const resumed = await adaloraLlama(3);
      const result = await new Trainer({ model: resumed, trainDataset: data, args: args(join(dir, 'parts')) }).train({ resumeFromCheckpoint: join(dir, 'parts', `checkpoint-${crashAt}`) });
      assert.equal(result.globalStep, 8);
      assert.deepEqual(rankPattern(resumed), rankPattern(whole));
      assert.deepEqual(adapterValues(resumed), adapterValues(whole));
    });
  });
}
