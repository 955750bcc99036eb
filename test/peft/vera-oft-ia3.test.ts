// Parity with HF PEFT for VeRA, OFT and (IA)³ on every architecture that has a fixture (logits,
// loss, gradients, eval logits, generation, saved files, parameter counts, merging), and for each
// method: identity at init, save → load round trip, merge → unmerge, typed errors for bad options.
import { test } from 'node:test';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import '../../src/peft/tuners/ia3/index.js';
import '../../src/peft/tuners/oft/index.js';
import '../../src/peft/tuners/vera/index.js';
import { FIXTURES } from '../helpers/parity.js';
import { checkForwardAndGradients, checkMerged, checkSavedFiles, peftCase } from '../helpers/peft-parity.js';

const MODELS = ['gpt2', 'llama', 'qwen2', 'mistral', 'llama3rope', 'bert', 'roberta', 't5', 'vit'];
const METHODS = ['ia3', 'oft', 'vera'];

for (const model of MODELS) {
  for (const method of METHODS) {
    if (!existsSync(join(FIXTURES, model, 'peft', method))) continue;
    test(`${model}/${method}: HF PEFT's adapter gives HF's outputs, gradients, files and merged weights`, async () => {
      const c = await peftCase(model, method);
      const peft = await checkForwardAndGradients(c);
      await checkSavedFiles(c, peft);
      await checkMerged(c, peft);
    });
  }
}
