// Recipe errors name the key, its line and what is expected; flags override recipe fields.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRecipe, RecipeError, parseOverride } from '../../src/cli/recipe/load.js';
import { EXIT } from '../../src/cli/exit-codes.js';
import { peft, RECIPE, tempDir } from './helpers.js';

const GOOD = `model: ./m
method:
  peft_type: LORA
  r: 4
data:
  train: train.jsonl
  format: text
  max_length: 16
training:
  lr: 0.001
output: out
`;

const rejects = (text: string, pattern: RegExp, overrides: [string, unknown][] = []) =>
  assert.throws(() => parseRecipe(text, 'r.yaml', overrides), (e: Error) => e instanceof RecipeError && pattern.test(e.message));

test('a good recipe parses; paths are relative to the recipe, flags override fields', () => {
  const recipe = parseRecipe(GOOD, '/runs/r.yaml', [parseOverride('training.batch_size=2'), parseOverride('output=/abs/out')]);
  assert.equal(recipe.model, '/runs/m');
  assert.equal(recipe.data.train, '/runs/train.jsonl');
  assert.equal(recipe.output, '/abs/out');
  assert.deepEqual(recipe.training, { lr: 0.001, batch_size: 2 });
});

test('an unknown key names the key, its line and the keys expected', () => {
  rejects(GOOD.replace('  lr: 0.001', '  lr: 0.001\n  learning_rate: 0.1'), /r\.yaml:11: training\.learning_rate: unknown key; expected one of epochs, max_steps/);
  rejects(GOOD.replace('output: out', 'output: out\nouptut: x'), /r\.yaml:12: ouptut: unknown key; expected one of model, method, data, training, output/);
});

test('a wrong type names the key, its line and the type expected', () => {
  rejects(GOOD.replace('max_length: 16', 'max_length: sixteen'), /r\.yaml:8: data\.max_length: .*expected number, received string/i);
  rejects(GOOD.replace('format: text', 'format: prose'), /r\.yaml:7: data\.format: .*"text"/);
  rejects(GOOD.replace('model: ./m\n', ''), /data|model: .*expected string/);
  rejects(GOOD, /from --set: training\.lr: .*expected number/, [['training.lr', 'fast']]);
});

test("a method option the method does not have names it and its line; a bad value names the field", () => {
  rejects(GOOD.replace('  r: 4', '  r: 4\n  lora_alpah: 8'), /r\.yaml:5: method\.lora_alpah: unknown LORA option/);
  rejects(GOOD.replace('  r: 4', '  r: eight'), /^r\.yaml:4: method\.r must be an integer >= 1; it is "eight"/);
  rejects(GOOD.replace('  r: 4', '  r: 4\n  lora_dropout: 2'), /^r\.yaml:5: method\.lora_dropout must be a probability in \[0, 1\]/);
});

test('YAML syntax errors give the line', () => {
  rejects('model: ./m\nmethod: [unclosed\n', /r\.yaml:\d+: not valid YAML/);
});

test('peft train with a bad recipe exits 2 and says which key and line', async () => {
  const dir = tempDir();
  const path = join(dir, 'bad.yaml');
  writeFileSync(path, GOOD.replace('  lr: 0.001', '  lr: 0.001\n  batchsize: 4'));
  const run = await peft('train', path);
  assert.equal(run.code, EXIT.USAGE);
  assert.match(run.stderr, /bad\.yaml:11: training\.batchsize: unknown key/);
  const flag = await peft('train', RECIPE, '--max-steps', 'many');
  assert.equal(flag.code, EXIT.USAGE);
  assert.match(flag.stderr, /'many' is not an integer/);
});
