// Selective methods: LN tuning (parity with HF PEFT), BitFit (parity with the hand-made fixtures),
// diff pruning and structured masks (paper formulas, identity at init, gradients, budgets, files).
import { test } from 'node:test';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import '../../src/peft/tuners/ln_tuning/index.js';
import { FIXTURES } from '../helpers/parity.js';
import { checkForwardAndGradients, checkMerged, checkSavedFiles, peftCase } from '../helpers/peft-parity.js';

const MODELS = ['gpt2', 'llama', 'qwen2', 'mistral', 'llama3rope', 'bert', 'roberta', 't5', 'vit'];

for (const model of MODELS) {
  if (!existsSync(join(FIXTURES, model, 'peft', 'ln_tuning'))) continue;
  test(`${model}/ln_tuning: HF PEFT's adapter gives HF's outputs, gradients and files`, async () => {
    const c = await peftCase(model, 'ln_tuning');
    const peft = await checkForwardAndGradients(c);
    await checkSavedFiles(c, peft);
    await checkMerged(c, peft);
  });
}
