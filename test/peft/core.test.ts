// The PEFT model beyond parity: fresh adapters, targeting rules, trainability, adapter management,
// merging, mixed batches, save/load round trips, and typed errors that leave the base untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, cp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AutoModelForCausalLM, PeftModel, getPeftModel, noGrad, tidy, manualSeed, tensor, saveSafetensors, loadSafetensors,
  PeftConfigError, TargetModulesError, AdapterNameError, AdapterWeightsError, MissingFileError, ValueError, LoraLinear,
  type PretrainedModel, type Tensor,
} from '../../src/index.js';
import { FIXTURES, loadCase, maxAbsDiff, modelInputs } from '../helpers/parity.js';

const llamaDir = join(FIXTURES, 'llama');
const loraDir = join(llamaDir, 'peft', 'lora');
const llama = () => AutoModelForCausalLM.fromPretrained(llamaDir);

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'peftjs-core-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function logits(model: { forward(i: ReturnType<typeof modelInputs>): { logits: Tensor } }, inputs: Map<string, Tensor>): Tensor {
  return noGrad(() => model.forward({ ...modelInputs(inputs), labels: undefined }).logits);
}

function weightsOf(model: PretrainedModel): Map<string, number[]> {
  return new Map([...model.stateDict()].map(([k, t]) => [k, t.toFlatArray() as number[]]));
}

test('a fresh LoRA adapter starts as the identity, trains only A and B, and prints HF-style counts', async () => {
  const { inputs } = await loadCase(llamaDir);
  const model = await llama();
  const before = logits(model, inputs);
  manualSeed(0);
  const peft = getPeftModel(model, { peftType: 'LORA', r: 8, loraAlpha: 16, targetModules: ['q_proj', 'v_proj'], taskType: 'CAUSAL_LM' });
  assert.equal(maxAbsDiff(logits(peft, inputs), before), 0);
  const trainable = peft.namedParameters().filter(([, p]) => p.requiresGrad).map(([n]) => n);
  assert.ok(trainable.length === 8 && trainable.every((n) => /\.lora_[AB]\.default\.weight$/.test(n)), trainable.join());
  const lines: string[] = [];
  peft.printTrainableParameters((l) => lines.push(l));
  const { trainable: t, total } = peft.trainableParameters();
  assert.equal(t, 2 * (8 * 32 + 32 * 8 + 8 * 32 + 16 * 8), 'two layers of q [32 → 32] and v [32 → 16] at r = 8');
  assert.equal(lines[0], `trainable params: ${t.toLocaleString('en-US')} || all params: ${total.toLocaleString('en-US')} || trainable%: ${((100 * t) / total).toFixed(4)}`);
});

test('one training step changes only the adapter; save → load reproduces the trained outputs', async () => {
  const { inputs } = await loadCase(llamaDir);
  manualSeed(1);
  const peft = getPeftModel(await llama(), { peftType: 'LORA', r: 4, targetModules: 'all-linear', initLoraWeights: 'gaussian' });
  const frozen = weightsOf(peft.model);
  tidy(() => {
    peft.forward(modelInputs(inputs)).loss!.backward();
    for (const [, p] of peft.namedParameters()) {
      if (p.grad) noGrad(() => p.copy_(p.sub(p.grad!.mul(0.5))));
    }
    return null;
  });
  const after = weightsOf(peft.model);
  for (const [k, v] of frozen) {
    if (!k.includes('lora_')) assert.deepEqual(after.get(k), v, `${k} must stay frozen`);
  }
  const trained = logits(peft, inputs);
  await withTempDir(async (dir) => {
    await peft.savePretrained(dir);
    const loaded = await PeftModel.fromPretrained(await llama(), dir);
    assert.equal(maxAbsDiff(logits(loaded, inputs), trained), 0);
    assert.ok(loaded.trainableParameters().trainable === 0, 'loaded for inference: nothing trains');
    const config = JSON.parse(await readFile(join(dir, 'adapter_config.json'), 'utf8'));
    assert.deepEqual(config.target_modules, 'all-linear');
    assert.equal(config.init_lora_weights, 'gaussian');
  });
});

test('all-linear skips the output head; exclude_modules, layers_to_transform and regexes select as HF', async () => {
  const paths = (options: Record<string, unknown>) =>
    getPeftModel((llamaModel as PretrainedModel), { peftType: 'LORA', r: 2, ...options })
      .base_model.tunerLayers()
      .map(([p]) => p);
  let llamaModel = await llama();
  const all = paths({ targetModules: 'all-linear' });
  assert.equal(all.length, 14);
  assert.ok(!all.some((p) => p.includes('lm_head')));
  llamaModel = await llama();
  assert.deepEqual(paths({ targetModules: ['q_proj', 'k_proj'], excludeModules: ['k_proj'], layersToTransform: [1] }), ['model.layers.1.self_attn.q_proj']);
  llamaModel = await llama();
  assert.deepEqual(paths({ targetModules: String.raw`.*\.0\.mlp\.(up|down)_proj` }), ['model.layers.0.mlp.up_proj', 'model.layers.0.mlp.down_proj']);
});

test('rank_pattern, alpha_pattern and rsLoRA set each layer\'s rank and scaling', async () => {
  const peft = getPeftModel(await llama(), {
    peftType: 'LORA', r: 4, loraAlpha: 8, useRslora: true, targetModules: ['q_proj', 'v_proj'], rankPattern: { v_proj: 2 }, alphaPattern: { 'layers.1.self_attn.q_proj': 3 },
  });
  const layer = (p: string) => peft.model.getSubmodule(p) as LoraLinear;
  assert.equal(layer('model.layers.0.self_attn.v_proj').ranks.get('default'), 2);
  assert.equal(layer('model.layers.0.self_attn.v_proj').scaling.get('default'), 8 / Math.sqrt(2));
  assert.equal(layer('model.layers.1.self_attn.q_proj').scaling.get('default'), 3 / 2);
});

test('PiSSA moves the top singular directions of W into A and B and keeps W + ΔW unchanged', async () => {
  const { inputs } = await loadCase(llamaDir);
  const model = await llama();
  const before = logits(model, inputs);
  const w = model.getSubmodule('model.layers.0.self_attn.q_proj') as unknown as { weight: Tensor };
  const original = w.weight.toFlatArray();
  const peft = getPeftModel(model, { peftType: 'LORA', r: 4, loraAlpha: 8, targetModules: ['q_proj'], initLoraWeights: 'pissa' });
  const layer = peft.model.getSubmodule('model.layers.0.self_attn.q_proj') as LoraLinear;
  assert.notDeepEqual(layer.base_layer.weight.toFlatArray(), original, 'the residual replaces W');
  assert.ok(maxAbsDiff(noGrad(() => layer.base_layer.weight.add(layer.deltaOutIn('default'))), tensor(original as number[], [32, 32])) < 1e-5);
  assert.ok(maxAbsDiff(logits(peft, inputs), before) < 1e-4);
});

test('merge, unmerge, safe merge and unload', async () => {
  const { inputs } = await loadCase(llamaDir);
  const peft = await PeftModel.fromPretrained(await llama(), loraDir);
  const base = weightsOf(peft.disableAdapter(() => peft.model));
  const adapted = logits(peft, inputs);
  peft.mergeAdapter();
  assert.ok(maxAbsDiff(logits(peft, inputs), adapted) < 1e-4, 'merged forward = adapter forward');
  peft.unmergeAdapter();
  for (const [k, v] of weightsOf(peft.model)) {
    if (base.has(k) && !k.includes('lora_')) assert.ok(maxAbsDiff(tensor(v), tensor(base.get(k)!)) < 1e-6, k);
  }
  // A NaN in the adapter: safe merge refuses and leaves every base weight as it was.
  const layer = peft.model.getSubmodule('model.layers.1.mlp.down_proj') as LoraLinear;
  noGrad(() => layer.lora_B.get('default')!.weight.fill_(NaN));
  const beforeMerge = weightsOf(peft.model);
  assert.throws(() => peft.mergeAdapter({ safeMerge: true }), ValueError);
  for (const [k, v] of weightsOf(peft.model)) if (!k.includes('lora_')) assert.deepEqual(v, beforeMerge.get(k), k);
  const plain = peft.unload();
  assert.ok(!plain.namedParameters().some(([n]) => n.includes('lora_')));
});

test('disableAdapter is scoped, for sync and async functions, and restores on error', async () => {
  const { inputs } = await loadCase(llamaDir);
  const base = logits(await llama(), inputs);
  const peft = await PeftModel.fromPretrained(await llama(), loraDir);
  const adapted = logits(peft, inputs);
  assert.equal(maxAbsDiff(peft.disableAdapter(() => logits(peft, inputs)), base), 0);
  assert.equal(maxAbsDiff(await peft.disableAdapter(async () => logits(peft, inputs)), base), 0);
  assert.throws(() => peft.disableAdapter(() => { throw new Error('boom'); }), /boom/);
  assert.equal(maxAbsDiff(logits(peft, inputs), adapted), 0);
});

test('mixed batches: null rows use the base model, gradients reach each row\'s adapter only', async () => {
  const { inputs } = await loadCase(llamaDir);
  const base = logits(await llama(), inputs);
  const peft = await PeftModel.fromPretrained(await llama(), loraDir, { isTrainable: true });
  peft.addAdapter('other', { peftType: 'LORA', r: 2, targetModules: ['q_proj'], initLoraWeights: false });
  const adapted = logits(peft, inputs);
  const mixed = noGrad(() => peft.forward({ ...modelInputs(inputs), labels: undefined, adapterNames: [null, 'default'] }).logits);
  const mask = inputs.get('attention_mask')!;
  assert.equal(maxAbsDiff(mixed.narrow(0, 0, 1), base.narrow(0, 0, 1), mask.narrow(0, 0, 1)), 0);
  assert.ok(maxAbsDiff(mixed.narrow(0, 1, 1), adapted.narrow(0, 1, 1), mask.narrow(0, 1, 1)) < 1e-5);
  assert.throws(() => peft.forward({ ...modelInputs(inputs), adapterNames: ['default'] }), /2 rows/);
  assert.throws(() => peft.forward({ ...modelInputs(inputs), adapterNames: ['default', 'nope'] }), AdapterNameError);
});

test('adapter management: add, set, delete, and name errors', async () => {
  const peft = getPeftModel(await llama(), { peftType: 'LORA', r: 2, targetModules: ['q_proj'] });
  peft.addAdapter('second', { peftType: 'LORA', r: 3, targetModules: ['q_proj', 'v_proj'] });
  assert.equal(peft.activeAdapter, 'default');
  assert.ok(peft.namedParameters().filter(([n, p]) => n.includes('.second.') && p.requiresGrad).length === 0, 'a new adapter is not trainable until set');
  peft.setAdapter('second');
  assert.ok(peft.namedParameters().filter(([n, p]) => n.includes('.default.') && p.requiresGrad).length === 0);
  assert.throws(() => peft.addAdapter('second', { peftType: 'LORA', r: 2, targetModules: ['q_proj'] }), AdapterNameError);
  assert.throws(() => peft.addAdapter('bad name', { peftType: 'LORA', r: 2, targetModules: ['q_proj'] }), AdapterNameError);
  assert.throws(() => peft.addAdapter('keys', { peftType: 'LORA', r: 2, targetModules: ['q_proj'] }), /reserved/);
  assert.throws(() => peft.setAdapter('missing'), /the adapters are: default, second/);
  peft.deleteAdapter('second');
  assert.equal(peft.activeAdapter, 'default');
  assert.ok(!peft.model.getSubmodule('model.layers.0.self_attn.v_proj').constructor.name.startsWith('Lora'), 'a layer without adapters is unwrapped');
});

test('bad configs: typed errors that name the value, and the base model is left untouched', async () => {
  const model = await llama();
  const before = weightsOf(model);
  const names = () => [...model.namedModules()].map(([p]) => p).join();
  const tree = names();
  assert.throws(() => getPeftModel(model, { peftType: 'LORA', r: 0, targetModules: ['q_proj'] }), /r/);
  assert.throws(() => getPeftModel(model, { peftType: 'LORA', targetModules: ['qkv'] }), (e: unknown) => e instanceof TargetModulesError && /q_proj/.test(e.message));
  assert.throws(() => getPeftModel(model, { peftType: 'NOPE' }), (e: unknown) => e instanceof PeftConfigError && /LORA/.test(e.message));
  assert.throws(() => getPeftModel(model, { peftType: 'LORA', targetModules: ['q_proj'], loraAlfa: 3 }), /loraAlfa/);
  assert.throws(() => getPeftModel(model, { peftType: 'LORA', targetModules: ['norm'] }), TargetModulesError);
  assert.throws(() => getPeftModel(model, { peftType: 'LORA', targetModules: ['q_proj', 'v_proj'], rankPattern: { v_proj: -1 } }), PeftConfigError);
  assert.equal(names(), tree);
  assert.deepEqual(weightsOf(model), before);
});

test('bad adapter folders: missing files, wrong shapes, missing or extra tensors, another architecture', async () => {
  const model = await llama();
  const tree = [...model.namedModules()].map(([p]) => p).join();
  await assert.rejects(PeftModel.fromPretrained(model, join(FIXTURES, 'nowhere')), MissingFileError);
  await withTempDir(async (dir) => {
    await cp(loraDir, dir, { recursive: true });
    const weights = (await loadSafetensors(join(loraDir, 'adapter_model.safetensors'))).tensors;
    const edited = new Map(weights);
    const key = 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight';
    edited.set(key, tensor(new Array(3 * 32).fill(0), [3, 32]));
    edited.delete('base_model.model.model.layers.1.mlp.up_proj.lora_B.weight');
    edited.set('base_model.model.model.layers.9.mlp.up_proj.lora_B.weight', tensor([1], [1]));
    await saveSafetensors(join(dir, 'adapter_model.safetensors'), edited);
    await assert.rejects(PeftModel.fromPretrained(model, dir), (e: unknown) => {
      const m = (e as Error).message;
      return e instanceof AdapterWeightsError && m.includes(`${key}: file [3, 32], model [4, 32]`) && m.includes('layers.1.mlp.up_proj.lora_B') && m.includes('layers.9');
    });
    assert.equal([...model.namedModules()].map(([p]) => p).join(), tree, 'the failed load left the model as it was');
    await writeFile(join(dir, 'adapter_config.json'), '{"peft_type": "LORA", "r": 4');
    await assert.rejects(PeftModel.fromPretrained(model, dir), PeftConfigError);
  });
  await assert.rejects(PeftModel.fromPretrained(await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'gpt2')), loraDir), TargetModulesError);
  await assert.rejects(
    PeftModel.fromPretrained(await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'qwen2')), join(FIXTURES, 'gpt2', 'peft', 'lora')),
    TargetModulesError,
  );
});

test('a ViT adapter saved with the older module names (query/value) loads as the current one', async () => {
  const { AutoModelForImageClassification } = await import('../../src/index.js');
  const vitDir = join(FIXTURES, 'vit');
  const adapterDir = join(vitDir, 'peft', 'lora');
  const { inputs } = await loadCase(vitDir);
  const current = await PeftModel.fromPretrained(await AutoModelForImageClassification.fromPretrained(vitDir), adapterDir);
  const expected = logits(current, inputs);
  await withTempDir(async (dir) => {
    const old = (name: string) =>
      name.replace(/\.layers\.(\d+)\.attention\.q_proj\./, '.encoder.layer.$1.attention.attention.query.').replace(/\.layers\.(\d+)\.attention\.v_proj\./, '.encoder.layer.$1.attention.attention.value.');
    const weights = (await loadSafetensors(join(adapterDir, 'adapter_model.safetensors'))).tensors;
    const renamed = new Map([...weights].map(([k, t]) => [old(k), t]));
    assert.ok([...renamed.keys()].some((k) => k.includes('attention.attention.query')), 'the fixture uses q_proj/v_proj');
    await saveSafetensors(join(dir, 'adapter_model.safetensors'), renamed, { format: 'pt' });
    const config = JSON.parse(await readFile(join(adapterDir, 'adapter_config.json'), 'utf8'));
    config.target_modules = config.target_modules.map((n: string) => ({ q_proj: 'query', v_proj: 'value' })[n] ?? n);
    await writeFile(join(dir, 'adapter_config.json'), JSON.stringify(config));
    const legacy = await PeftModel.fromPretrained(await AutoModelForImageClassification.fromPretrained(vitDir), dir);
    assert.equal(maxAbsDiff(logits(legacy, inputs), expected), 0);
  });
});
