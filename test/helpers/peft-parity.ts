// The parity checks of one HF PEFT fixture case (test/fixtures/hf/<model>/peft/<method>): load
// HF's adapter into our model, compare logits, loss, gradients, eval logits, generation, the
// files we save, parameter counts, and the merged model.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoModelForSequenceClassification, AutoModelForImageClassification,
  PeftModel, concat, configFromJson, getPeftModel, loadSafetensors, ones, tidy, type PretrainedModel, type Tensor,
} from '../../src/index.js';
import { FIXTURES, loadCase, maxAbsDiff, modelInputs, relativeError } from './parity.js';

export interface PeftCase {
  model: string;
  method: string;
  dir: string;
  kind: 'causal' | 'seqcls' | 'seq2seq' | 'image';
  params: { trainable: number; total: number };
  mergedChanged?: string[];
}

export async function peftCase(model: string, method: string): Promise<PeftCase> {
  const dir = join(FIXTURES, model, 'peft', method);
  const json = JSON.parse(await readFile(join(dir, 'case.json'), 'utf8'));
  return { model, method, dir, kind: json.kind, params: json.params, mergedChanged: json.merged_changed };
}

const AUTO = {
  causal: AutoModelForCausalLM,
  seqcls: AutoModelForSequenceClassification,
  seq2seq: AutoModelForSeq2SeqLM,
  image: AutoModelForImageClassification,
};

export async function baseModel(c: PeftCase): Promise<PretrainedModel> {
  return AUTO[c.kind].fromPretrained(join(FIXTURES, c.model));
}

/**
 * Logits are compared where attention_mask is 1 for token-level outputs of causal models; the
 * positions HF returns beyond the mask (prompt learning's virtual tokens, in front) are all compared.
 */
export function logitsDiff(c: PeftCase, ours: Tensor, ref: Tensor, inputs: Map<string, Tensor>): number {
  if (c.kind !== 'causal') return maxAbsDiff(ours, ref);
  const mask = inputs.get('attention_mask')!;
  const virtual = ref.shape[1]! - mask.shape[1]!;
  return maxAbsDiff(ours, ref, virtual > 0 ? concat([ones([mask.shape[0]!, virtual], mask.dtype), mask], 1) : mask);
}

export interface ForwardCheckOptions {
  /**
   * The adapter file holds the outputs of a reparameterising encoder but not its weights (HF
   * saves P-tuning's and projected prefix tuning's prompt_embeddings only), so HF's gradients of
   * those weights cannot be reproduced from it: outputs are checked with the adapter loaded for
   * inference, and the trainable parameters (names, shapes, counts, each reached by the gradient)
   * on a fresh adapter made from the same config.
   */
  savedOutputsOnly?: boolean;
}

/** A fresh trainable adapter from the case's config has HF's trainable parameters, and the loss's gradient reaches each of them. */
async function checkFreshTrainable(c: PeftCase, expected: Map<string, Tensor>, inputs: Map<string, Tensor>): Promise<void> {
  const config = JSON.parse(await readFile(join(c.dir, 'adapter_config.json'), 'utf8'));
  const fresh = getPeftModel(await baseModel(c), { ...configFromJson(config, c.dir).config, inferenceMode: false });
  const { trainable, total } = fresh.trainableParameters();
  assert.deepEqual({ trainable, total }, c.params, `${c.model}/${c.method}: parameter counts of a fresh adapter`);
  const params = fresh.namedParameters().filter(([, p]) => p.requiresGrad);
  const gradKeys = [...expected.keys()].filter((k) => k.startsWith('grad/'));
  assert.deepEqual(params.map(([n, p]) => `${n}:${p.shape.join('x')}`).sort(), gradKeys.map((k) => `${k.slice(5)}:${expected.get(k)!.shape.join('x')}`).sort());
  const loss = fresh.forward(modelInputs(inputs)).loss!;
  tidy(() => {
    loss.backward();
    return null;
  });
  for (const [name, p] of params) assert.ok(p.grad && p.grad.abs().sum().item() > 0, `${c.model}/${c.method}: ${name} got no gradient`);
}

/** Checks 1 (logits, loss, gradients, eval logits, generation) and 4 (parameter counts). */
export async function checkForwardAndGradients(c: PeftCase, { savedOutputsOnly = false }: ForwardCheckOptions = {}): Promise<PeftModel> {
  const { inputs } = await loadCase(join(FIXTURES, c.model));
  const expected = (await loadSafetensors(join(c.dir, 'expected.safetensors'))).tensors;
  if (savedOutputsOnly) await checkFreshTrainable(c, expected, inputs);
  const peft = await PeftModel.fromPretrained(await baseModel(c), c.dir, { isTrainable: !savedOutputsOnly });
  if (!savedOutputsOnly) {
    const { trainable, total } = peft.trainableParameters();
    assert.deepEqual({ trainable, total }, c.params, `${c.model}/${c.method}: parameter counts`);
  }

  peft.train();
  const out = peft.forward(modelInputs(inputs));
  const diff = logitsDiff(c, out.logits, expected.get('logits')!, inputs);
  assert.ok(diff < 1e-4, `${c.model}/${c.method}: max |logits - HF| = ${diff}`);
  const lossDiff = Math.abs(out.loss!.item() - expected.get('loss')!.item());
  assert.ok(lossDiff < 1e-4, `${c.model}/${c.method}: |loss - HF| = ${lossDiff}`);
  if (!savedOutputsOnly) checkGradients(c, peft, out.loss!, expected);

  peft.eval();
  const evalDiff = logitsDiff(c, peft.forward(modelInputs(inputs)).logits, expected.get('eval_logits')!, inputs);
  assert.ok(evalDiff < 1e-4, `${c.model}/${c.method}: max |eval logits - HF| = ${evalDiff}`);

  const generated = expected.get('generated');
  if (generated !== undefined) {
    const prompt = inputs.get('input_ids')!.narrow(0, 0, 1);
    const newTokens = c.kind === 'seq2seq' ? generated.shape[1]! - 1 : generated.shape[1]! - prompt.shape[1]!;
    const out = peft.generate(prompt, { maxNewTokens: newTokens });
    assert.deepEqual(out.toFlatArray(), generated.toFlatArray(), `${c.model}/${c.method}: greedy generation`);
  }
  return peft;
}

/** The gradient of every trainable parameter equals HF's, and exactly HF's parameters train. */
function checkGradients(c: PeftCase, peft: PeftModel, loss: Tensor, expected: Map<string, Tensor>): void {
  tidy(() => {
    loss.backward();
    return null;
  });
  const params = new Map(peft.namedParameters());
  const gradKeys = [...expected.keys()].filter((k) => k.startsWith('grad/'));
  assert.ok(gradKeys.length > 0);
  const trainableNames = [...params].filter(([, p]) => p.requiresGrad).map(([n]) => n).sort();
  assert.deepEqual(trainableNames, gradKeys.map((k) => k.slice(5)).sort(), `${c.model}/${c.method}: the trainable parameters are HF's`);
  for (const key of gradKeys) {
    const p = params.get(key.slice(5))!;
    assert.ok(p.grad, `${key} got no gradient`);
    const err = relativeError(p.grad, expected.get(key)!);
    assert.ok(err < 1e-4, `${c.model}/${c.method}: ${key} relative error ${err}`);
  }
}

/** Check 2: saving gives HF's tensor names, shapes and values, and HF's config keys and values. */
export async function checkSavedFiles(c: PeftCase, peft: PeftModel, adapterName = 'default', hfDir = c.dir): Promise<void> {
  const out = await mkdtemp(join(tmpdir(), 'peftjs-save-'));
  try {
    await peft.savePretrained(out, { selectedAdapters: [adapterName] });
    const folder = adapterName === 'default' ? out : join(out, adapterName);
    const ours = await loadSafetensors(join(folder, 'adapter_model.safetensors'));
    const theirs = await loadSafetensors(join(hfDir, 'adapter_model.safetensors'));
    assert.deepEqual(ours.metadata, theirs.metadata);
    assert.deepEqual([...ours.tensors.keys()].sort(), [...theirs.tensors.keys()].sort(), `${c.model}/${c.method}: saved tensor names`);
    for (const [k, t] of theirs.tensors) {
      assert.deepEqual(ours.tensors.get(k)!.shape, t.shape, k);
      assert.equal(ours.tensors.get(k)!.dtype, t.dtype, k);
      assert.equal(maxAbsDiff(ours.tensors.get(k)!, t), 0, `${k}: saved values`);
    }
    const ourConfig = asSets(JSON.parse(await readFile(join(folder, 'adapter_config.json'), 'utf8')));
    const hfConfig = asSets(JSON.parse(await readFile(join(hfDir, 'adapter_config.json'), 'utf8')));
    assert.deepEqual(ourConfig, hfConfig, `${c.model}/${c.method}: adapter_config.json`);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** HF PEFT keeps target_modules and exclude_modules as Python sets: their saved order is arbitrary. */
function asSets(config: Record<string, unknown>): Record<string, unknown> {
  const sorted = (v: unknown) => (Array.isArray(v) ? [...v].sort() : v);
  return { ...config, target_modules: sorted(config.target_modules), exclude_modules: sorted(config.exclude_modules) };
}

/** Merging: merged weights and logits equal HF's merge_and_unload (for cases that have them). */
export async function checkMerged(c: PeftCase, peft: PeftModel): Promise<void> {
  const { inputs } = await loadCase(join(FIXTURES, c.model));
  const expected = (await loadSafetensors(join(c.dir, 'expected.safetensors'))).tensors;
  if (!expected.has('merged_logits')) return;
  const merged = peft.mergeAndUnload({ safeMerge: true });
  merged.eval();
  const state = merged.stateDict();
  const mergedKeys = [...expected.keys()].filter((k) => k.startsWith('merged/'));
  assert.ok(mergedKeys.length > 0);
  for (const key of mergedKeys) {
    const w = state.get(key.slice(7));
    assert.ok(w, `${c.model}/${c.method}: merged model has no ${key.slice(7)}`);
    const diff = maxAbsDiff(w, expected.get(key)!);
    assert.ok(diff < 1e-4, `${c.model}/${c.method}: ${key} differs by ${diff}`);
  }
  const diff = logitsDiff(c, merged.forward(modelInputs(inputs)).logits, expected.get('merged_logits')!, inputs);
  assert.ok(diff < 1e-4, `${c.model}/${c.method}: max |merged logits - HF| = ${diff}`);
}

/** Every fixture architecture (test/fixtures/hf/<model>). */
export const FIXTURE_MODELS = ['gpt2', 'llama', 'qwen2', 'mistral', 'llama3rope', 'bert', 'roberta', 't5', 'vit'];

/** One test per fixture of each method: HF's adapter gives HF's outputs, gradients, saved files and merged weights. */
export function parityTests(methods: readonly string[]): void {
  for (const model of FIXTURE_MODELS) {
    for (const method of methods) {
      if (!existsSync(join(FIXTURES, model, 'peft', method))) continue;
      test(`${model}/${method}: HF PEFT's adapter gives HF's outputs, gradients, files and merged weights`, async () => {
        const c = await peftCase(model, method);
        const peft = await checkForwardAndGradients(c);
        await checkSavedFiles(c, peft);
        await checkMerged(c, peft);
      });
    }
  }
}
