// Selective methods: LN tuning (parity with HF PEFT), BitFit (parity with the hand-made fixtures),
// diff pruning and structured masks (paper formulas, identity at init, gradients, budgets, files).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PeftModel, getPeftModel, loadAdapterStateDict, loadSafetensors, tidy, type Tensor } from '../../src/index.js';
import '../../src/peft/tuners/ln_tuning/index.js';
import '../../src/peft/tuners/bitfit/index.js';
import { FIXTURES, loadCase, maxAbsDiff, modelInputs, relativeError } from '../helpers/parity.js';
import { baseModel, checkForwardAndGradients, checkMerged, checkSavedFiles, logitsDiff, peftCase, type PeftCase } from '../helpers/peft-parity.js';

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

/** A temporary folder for `fn`, removed afterwards. */
async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'peftjs-selective-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The bitfit fixtures hold the whole tuned model (model.safetensors) and the names of the tensors
 * that trained: the adapter is those tensors, saved under base_model.model.<name>.
 */
async function bitfitParity(c: PeftCase): Promise<void> {
  const caseJson = JSON.parse(await readFile(join(c.dir, 'case.json'), 'utf8')) as { trainable_params: Record<string, number[]> };
  const trainedNames = Object.keys(caseJson.trainable_params).sort();
  const tuned = (await loadSafetensors(join(c.dir, 'model.safetensors'))).tensors;
  const { inputs } = await loadCase(join(FIXTURES, c.model));
  const expected = (await loadSafetensors(join(c.dir, 'expected.safetensors'))).tensors;

  const base = await baseModel(c);
  const untouched = base.stateDict();
  for (const [name, t] of tuned) if (!trainedNames.includes(name)) assert.equal(maxAbsDiff(untouched.get(name)!, t), 0, `${name} is the base model's`);
  const peft = getPeftModel(base, { peftType: 'BITFIT', taskType: c.kind === 'seqcls' ? 'SEQ_CLS' : 'CAUSAL_LM' });
  const { trainable, total } = peft.trainableParameters();
  // Each adapter trains copies of the biases (and of the classifier), so the total counts them twice.
  assert.deepEqual({ trainable, total }, { trainable: c.params.trainable, total: c.params.total + c.params.trainable });

  const live = peft.adapterStateDict();
  assert.deepEqual([...live.keys()].sort(), trainedNames.map((n) => `base_model.model.${n}`).sort(), 'saved names are the model bias names');
  loadAdapterStateDict(peft.base_model, 'default', new Map(trainedNames.map((n) => [`base_model.model.${n}`, tuned.get(n)!])), c.dir);

  peft.train();
  const out = peft.forward(modelInputs(inputs));
  assert.ok(logitsDiff(c, out.logits, expected.get('logits')!, inputs) < 1e-4, 'logits');
  assert.ok(Math.abs(out.loss!.item() - expected.get('loss')!.item()) < 1e-4, 'loss');
  tidy(() => {
    out.loss!.backward();
    return null;
  });
  const trainableParams = new Set(peft.parameters().filter((p) => p.requiresGrad));
  assert.equal(trainableParams.size, trainedNames.length);
  for (const name of trainedNames) {
    const p = live.get(`base_model.model.${name}`)!;
    assert.ok(trainableParams.has(p), `${name} trains`);
    const ref = expected.get(`grad/${name}`)!;
    // A key bias adds the same amount to every score of a query, which softmax ignores: its exact
    // gradient is zero, and both sides hold float noise (~1e-8) there, compared absolutely.
    const err = maxAbsDiff(ref, ref.mul(0)) < 1e-6 ? maxAbsDiff(p.grad!, ref) : relativeError(p.grad!, ref);
    assert.ok(err < 1e-4, `${c.model}: grad of ${name} error ${err}`);
  }

  peft.eval();
  const evalLogits = peft.forward(modelInputs(inputs)).logits;
  assert.ok(logitsDiff(c, evalLogits, expected.get('eval_logits')!, inputs) < 1e-4, 'eval logits');
  const generated = expected.get('generated');
  if (generated !== undefined) {
    const prompt = inputs.get('input_ids')!.narrow(0, 0, 1);
    assert.deepEqual(peft.generate(prompt, { maxNewTokens: generated.shape[1]! - prompt.shape[1]! }).toFlatArray(), generated.toFlatArray());
  }

  await withTempDir(async (dir) => {
    await peft.savePretrained(dir);
    const saved = (await loadSafetensors(join(dir, 'adapter_model.safetensors'))).tensors;
    for (const name of trainedNames) assert.equal(maxAbsDiff(saved.get(`base_model.model.${name}`)!, tuned.get(name)!), 0, `saved ${name}`);
    const config = JSON.parse(await readFile(join(dir, 'adapter_config.json'), 'utf8'));
    assert.equal(config.peft_type, 'BITFIT');
    const reloaded = await PeftModel.fromPretrained(await baseModel(c), dir);
    assert.equal(maxAbsDiff(reloaded.forward(modelInputs(inputs)).logits, evalLogits), 0, 'save → load gives the same logits');
  });

  const merged = peft.mergeAndUnload({ safeMerge: true });
  const mergedState = merged.stateDict();
  for (const name of trainedNames) assert.equal(maxAbsDiff(mergedState.get(name)!, tuned.get(name)!), 0, `merged ${name}`);
  assert.ok(logitsDiff(c, merged.forward(modelInputs(inputs)).logits, expected.get('eval_logits')!, inputs) < 1e-4, 'merged logits');
}

for (const model of MODELS) {
  if (!existsSync(join(FIXTURES, model, 'peft', 'bitfit'))) continue;
  test(`${model}/bitfit: the tuned biases give the fixture's outputs and gradients, and save under the model's bias names`, async () => {
    await bitfitParity(await peftCase(model, 'bitfit'));
  });
}
