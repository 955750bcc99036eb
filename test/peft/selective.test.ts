// Selective methods: LN tuning (parity with HF PEFT), BitFit (parity with the hand-made fixtures),
// diff pruning and structured masks (paper formulas, identity at init, gradients, budgets, files).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PeftModel, PeftConfigError, getPeftModel, loadAdapterStateDict, loadSafetensors, noGrad, tidy, type PretrainedModel } from '../../src/index.js';
import '../../src/peft/tuners/ln_tuning/index.js';
import '../../src/peft/tuners/bitfit/index.js';
import { diffDensity, finalizeDiffPruning, l0Penalty, type DiffPruningConfig } from '../../src/peft/tuners/diff_pruning/index.js';
import '../../src/peft/tuners/structured/index.js';
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

/** The fixture model's inputs and a fresh copy of the model. */
async function fixtureModel(model: string, kind: PeftCase['kind'] = 'causal') {
  const c = { model, kind } as PeftCase;
  const { inputs } = await loadCase(join(FIXTURES, model));
  return { base: await baseModel(c), fresh: () => baseModel(c), inputs: modelInputs(inputs) };
}

/** The shapes of the weights of the modules whose paths end in `suffixes` (in a model without adapters). */
function weightSizes(model: PretrainedModel, suffixes: string[]): number[][] {
  return [...model.stateDict()]
    .filter(([k]) => suffixes.some((s) => k.endsWith(`${s}.weight`)))
    .map(([, t]) => [...t.shape]);
}

/** Names of the parameters that got a gradient (and checks they are exactly the trainable ones). */
function backwardAndGradNames(peft: PeftModel, inputs: ReturnType<typeof modelInputs>): string[] {
  tidy(() => {
    peft.forward(inputs).loss!.backward();
    return null;
  });
  const withGrad = peft.namedParameters().filter(([, p]) => p.grad).map(([n]) => n).sort();
  assert.deepEqual(withGrad, peft.namedParameters().filter(([, p]) => p.requiresGrad).map(([n]) => n).sort());
  return withGrad;
}

/** Plain SGD steps on the active adapter. */
function sgdSteps(peft: PeftModel, inputs: ReturnType<typeof modelInputs>, steps: number, lr: number): void {
  peft.train();
  for (let i = 0; i < steps; i++) {
    tidy(() => {
      peft.forward(inputs).loss!.backward();
      return null;
    });
    noGrad(() => {
      for (const p of peft.parameters().filter((q) => q.requiresGrad)) {
        p.copy_(p.sub(p.grad!.mul(lr)));
        p.grad = null;
      }
    });
  }
}

async function savedAndReloadedLogitsEqual(peft: PeftModel, fresh: () => Promise<PretrainedModel>, inputs: ReturnType<typeof modelInputs>): Promise<void> {
  peft.eval();
  const before = peft.forward(inputs).logits;
  await withTempDir(async (dir) => {
    await peft.savePretrained(dir);
    const reloaded = await PeftModel.fromPretrained(await fresh(), dir);
    assert.equal(maxAbsDiff(reloaded.forward(inputs).logits, before), 0, 'save → load gives the same logits');
    const again = await withTempDir(async (dir2) => {
      await reloaded.savePretrained(dir2);
      return readFile(join(dir2, 'adapter_config.json'), 'utf8');
    });
    assert.equal(again, await readFile(join(dir, 'adapter_config.json'), 'utf8'), 'the config round-trips exactly');
  });
}

test('diff pruning: 2·Σ out·in parameters (w and log α), the base at init, gradients only to them, L0 penalty in the loss', async () => {
  const { base, inputs } = await fixtureModel('gpt2');
  const baseLogits = base.forward(inputs).logits;
  const n = weightSizes(base, ['c_attn', 'c_proj']).reduce((s, [a, b]) => s + a! * b!, 0);
  const peft = getPeftModel(base, { peftType: 'DIFF_PRUNING', targetModules: ['c_attn', 'c_proj'], l0Penalty: 0.5 });
  assert.equal(peft.trainableParameters().trainable, 2 * n);
  peft.eval();
  assert.equal(maxAbsDiff(peft.forward(inputs).logits, baseLogits), 0);
  peft.train();
  const names = backwardAndGradNames(peft, inputs);
  assert.ok(names.length === 2 * 6 && names.every((name) => /\.diff_(weight|log_alpha)\.default$/.test(name)), names.join());
  // The penalty starts near λ (init log α = 5 leaves nearly every gate open).
  const penalty = l0Penalty(peft.base_model)!.item();
  assert.ok(penalty > 0.45 && penalty <= 0.5, `penalty ${penalty}`);
  peft.eval();
  assert.equal(l0Penalty(peft.base_model), null, 'no penalty outside training');
});

test('diff pruning: after training, finalize keeps exactly the budget; merge, save → load and further training keep it', async () => {
  const { base, fresh, inputs } = await fixtureModel('llama');
  const n = weightSizes(base, ['q_proj', 'v_proj', 'down_proj']).reduce((s, [a, b]) => s + a! * b!, 0);
  const peft = getPeftModel(base, { peftType: 'DIFF_PRUNING', targetModules: ['q_proj', 'v_proj', 'down_proj'], targetDensity: 0.05, l0Penalty: 1 });
  sgdSteps(peft, inputs, 3, 0.05);
  assert.equal(diffDensity(peft), 1, 'before finalize every entry may differ');
  finalizeDiffPruning(peft);
  const budget = Math.round(0.05 * n) / n;
  assert.equal(diffDensity(peft), budget);
  assert.equal(peft.trainableParameters().trainable, n, 'only w trains once the gates are gone');
  assert.equal((peft.peftConfig.get('default') as DiffPruningConfig).finalized, true, 'the config records it (saved as finalized: true)');
  sgdSteps(peft, inputs, 2, 0.05);
  assert.equal(diffDensity(peft), budget, 'the pruned entries stay zero');
  await savedAndReloadedLogitsEqual(peft, fresh, inputs);
  const logits = peft.forward(inputs).logits;
  peft.mergeAdapter();
  assert.ok(maxAbsDiff(peft.forward(inputs).logits, logits) < 1e-5, 'merging adds δ to the weights');
  peft.unmergeAdapter();
});

test('structured masks, heads: Σ |heads|·head_dim·in (q/k/v rows, GQA k/v by group) + out·|heads|·head_dim (o columns); base at init; only those slices change', async () => {
  const { base, fresh, inputs } = await fixtureModel('llama');
  const original = new Map([...base.stateDict()].map(([k, t]) => [k, t.clone()]));
  const baseLogits = base.forward(inputs).logits;
  const heads = { 0: [1], 1: [0, 3] };
  const peft = getPeftModel(base, { peftType: 'STRUCTURED_MASK', targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], headsToTransform: heads });
  // hidden 32, head_dim 8, 4 query heads sharing 2 k/v heads (groups of 2).
  const [hidden, d, group] = [32, 8, 2];
  const formula = Object.values(heads).reduce((s, hs) => {
    const kv = new Set(hs.map((h) => Math.floor(h / group))).size;
    return s + hs.length * d * hidden * 2 + kv * d * hidden * 2;
  }, 0);
  assert.equal(peft.trainableParameters().trainable, formula);
  peft.eval();
  assert.equal(maxAbsDiff(peft.forward(inputs).logits, baseLogits), 0);
  const names = backwardAndGradNames(peft, inputs);
  assert.equal(names.length, 8);
  assert.ok(names.every((name) => name.endsWith('.structured_delta.default')));
  sgdSteps(peft, inputs, 2, 0.1);
  await savedAndReloadedLogitsEqual(peft, fresh, inputs);
  const merged = peft.mergeAndUnload().stateDict();
  const changed = (key: string, rows: number[] | null, cols: number[] | null) => {
    const before = original.get(key)!.toArray() as number[][];
    const after = merged.get(key)!.toArray() as number[][];
    after.forEach((row, r) => row.forEach((v, c) => {
      const inside = (rows === null || rows.includes(r)) && (cols === null || cols.includes(c));
      if (!inside) assert.equal(v, before[r]![c], `${key}[${r}][${c}] is outside the chosen heads but changed`);
    }));
    assert.ok(maxAbsDiff(merged.get(key)!, original.get(key)!) > 0, `${key} trained`);
  };
  const span = (hs: number[]) => hs.flatMap((h) => Array.from({ length: d }, (_, i) => h * d + i));
  changed('model.layers.0.self_attn.q_proj.weight', span([1]), null);
  changed('model.layers.0.self_attn.k_proj.weight', span([0]), null);
  changed('model.layers.1.self_attn.v_proj.weight', span([0, 1]), null);
  changed('model.layers.1.self_attn.o_proj.weight', null, span([0, 3]));
  assert.deepEqual(merged.get('model.layers.0.mlp.up_proj.weight')!.toFlatArray(), original.get('model.layers.0.mlp.up_proj.weight')!.toFlatArray());
});

test('structured masks, layers: whole weights of the chosen layers (Σ out·in), GPT-2 fused c_attn heads, typed errors leave the model untouched', async () => {
  const { base, fresh, inputs } = await fixtureModel('gpt2');
  const peft = getPeftModel(base, { peftType: 'STRUCTURED_MASK', targetModules: ['c_attn', 'mlp.c_proj'], layersToTransform: [1] });
  assert.equal(peft.trainableParameters().trainable, 32 * 96 + 128 * 32);
  assert.deepEqual(backwardAndGradNames(peft, inputs), [
    'base_model.model.transformer.h.1.attn.c_attn.structured_delta.default',
    'base_model.model.transformer.h.1.mlp.c_proj.structured_delta.default',
  ]);
  sgdSteps(peft, inputs, 1, 0.1);
  await savedAndReloadedLogitsEqual(peft, fresh, inputs);

  // Fused c_attn holds each head in its q, k and v sections: 3 · head_dim · in per head.
  peft.addAdapter('heads', { peftType: 'STRUCTURED_MASK', targetModules: ['c_attn', 'attn.c_proj'], headsToTransform: { 0: [2] } });
  peft.setAdapter('heads');
  assert.equal(peft.trainableParameters().trainable, 3 * 8 * 32 + 32 * 8);

  const model = await fresh();
  const before = model.parameters().length;
  for (const heads of [{ 0: [4] }, { 5: [0] }]) {
    assert.throws(
      () => getPeftModel(model, { peftType: 'STRUCTURED_MASK', targetModules: ['c_attn'], headsToTransform: heads }),
      (e: unknown) => e instanceof PeftConfigError && /head 4|layer\(s\) 5/.test((e as Error).message),
    );
    assert.equal(model.parameters().length, before, 'the base model is untouched');
  }
});

test('selective adapters: several on one base (add, set, disable, delete) for LN tuning and BitFit', async () => {
  const { base, inputs } = await fixtureModel('llama');
  const baseLogits = base.forward(inputs).logits;
  const peft = getPeftModel(base, { peftType: 'LN_TUNING', targetModules: ['input_layernorm', 'norm'] });
  peft.addAdapter('b', { peftType: 'LN_TUNING', targetModules: ['post_attention_layernorm'] });
  sgdSteps(peft, inputs, 1, 0.5);
  peft.eval();
  const a = peft.forward(inputs).logits;
  assert.ok(maxAbsDiff(a, baseLogits) > 1e-4);
  peft.setAdapter('b');
  assert.equal(maxAbsDiff(peft.forward(inputs).logits, baseLogits), 0, 'adapter b is still a copy of the base');
  assert.equal(maxAbsDiff(peft.disableAdapter(() => peft.forward(inputs).logits), baseLogits), 0);
  assert.ok(maxAbsDiff(peft.forward({ ...inputs, adapterNames: ['default', 'b'] }).logits.narrow(0, 0, 1), a.narrow(0, 0, 1)) < 1e-6, 'mixed batch');
  peft.setAdapter('default');
  peft.mergeAdapter();
  assert.ok(maxAbsDiff(peft.forward(inputs).logits, a) < 1e-6, 'merged');
  peft.unmergeAdapter();
  peft.deleteAdapter('b');
  assert.deepEqual([...peft.peftConfig.keys()], ['default']);

  const gpt2 = await fixtureModel('gpt2');
  const bit = getPeftModel(gpt2.base, { peftType: 'BITFIT', targetModules: ['c_fc'] });
  bit.addAdapter('ln', { peftType: 'BITFIT', targetModules: ['ln_f'] });
  assert.throws(() => bit.addAdapter('bad', { peftType: 'BITFIT', targetModules: ['wte'] }), /without a bias/);
  assert.equal(bit.trainableParameters().trainable, 2 * 128);
  bit.setAdapter('ln');
  assert.equal(bit.trainableParameters().trainable, 32);
});
