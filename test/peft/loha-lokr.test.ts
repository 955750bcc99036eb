// LoHa and LoKr: parity with every HF PEFT fixture (logits, loss, gradients, eval logits,
// generation, saved files, parameter counts, merged weights), and the behaviour of fresh adapters:
// HF's init leaves the model unchanged, save → load, merge → unmerge, dropout, typed errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AutoModelForCausalLM, ConfigError, PeftConfigError, PeftModel, TargetModulesError, TunerLayer, getPeftModel, noGrad,
  type PretrainedModel, type Tensor,
} from '../../src/index.js';
import '../../src/peft/tuners/loha/index.js';
import '../../src/peft/tuners/lokr/index.js';
import { LoKrLinear, factorization } from '../../src/peft/tuners/lokr/index.js';
import { LycorisLayer } from '../../src/peft/tuners/lycoris/layer.js';
import { FIXTURES, loadCase, maxAbsDiff, modelInputs } from '../helpers/parity.js';
import { parityTests } from '../helpers/peft-parity.js';

const METHODS = ['loha', 'lokr'];
const PEFT_TYPES = ['LOHA', 'LOKR'] as const;
const TARGETS = ['q_proj', 'v_proj', 'up_proj'];

parityTests(METHODS);

async function llama(): Promise<PretrainedModel> {
  return AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama'));
}

async function logits(model: { forward(inputs: ReturnType<typeof modelInputs>): { logits: Tensor } }): Promise<Tensor> {
  const { inputs } = await loadCase(join(FIXTURES, 'llama'));
  return noGrad(() => model.forward(modelInputs(inputs)).logits);
}

/** Every weight of the model, copied. */
function weights(model: PretrainedModel): Map<string, Tensor> {
  return new Map([...model.stateDict()].map(([k, t]) => [k, t.clone()]));
}

function hasAdapterLayers(model: PretrainedModel): boolean {
  return [...model.namedModules()].some(([, m]) => m instanceof TunerLayer);
}

for (const peftType of PEFT_TYPES) {
  test(`${peftType}: a fresh adapter with HF's default init leaves the outputs unchanged`, async () => {
    const base = await llama();
    base.eval();
    const before = await logits(base);
    const peft = getPeftModel(base, { peftType, r: 4, targetModules: TARGETS });
    peft.eval();
    assert.equal(maxAbsDiff(await logits(peft), before), 0);
    assert.ok(peft.trainableParameters().trainable > 0);
  });

  test(`${peftType}: save → load gives identical outputs and the same config`, async () => {
    const peft = getPeftModel(await llama(), { peftType, taskType: 'CAUSAL_LM', r: 2, alpha: 5, targetModules: TARGETS, initWeights: false, layersToTransform: [1] });
    peft.eval();
    const ours = await logits(peft);
    const dir = await mkdtemp(join(tmpdir(), 'peftjs-lycoris-'));
    try {
      await peft.savePretrained(dir);
      const loaded = await PeftModel.fromPretrained(await llama(), dir);
      assert.equal(maxAbsDiff(await logits(loaded), ours), 0);
      assert.deepEqual({ ...loaded.peftConfig.get('default')!, inferenceMode: false }, peft.peftConfig.get('default'));
      assert.deepEqual([...loaded.adapterStateDict().keys()], [...peft.adapterStateDict().keys()]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test(`${peftType}: merge → unmerge restores the base weights; merged outputs equal the adapter's`, async () => {
    const base = await llama();
    const original = weights(base);
    const peft = getPeftModel(base, { peftType, r: 4, targetModules: TARGETS, initWeights: false });
    peft.eval();
    const adapted = await logits(peft);
    peft.mergeAdapter();
    assert.ok(maxAbsDiff(await logits(peft), adapted) < 1e-5);
    const q = 'model.layers.0.self_attn.q_proj.base_layer.weight';
    assert.ok(maxAbsDiff(peft.model.stateDict().get(q)!, original.get('model.layers.0.self_attn.q_proj.weight')!) > 1e-3, 'merging changed q_proj');
    peft.unmergeAdapter();
    const restored = peft.unload().stateDict();
    for (const [name, w] of original) assert.ok(maxAbsDiff(restored.get(name)!, w) < 1e-6, `${name} restored`);
  });

  test(`${peftType}: GPT-2's Conv1D is adapted and merged in its [in, out] layout`, async () => {
    const gpt2 = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'gpt2'));
    const { inputs } = await loadCase(join(FIXTURES, 'gpt2'));
    const peft = getPeftModel(gpt2, { peftType, r: 2, targetModules: ['c_attn', 'c_fc'], initWeights: false });
    peft.eval();
    const adapted = noGrad(() => peft.forward(modelInputs(inputs)).logits);
    const merged = peft.mergeAndUnload();
    const diff = maxAbsDiff(noGrad(() => merged.forward(modelInputs(inputs)).logits), adapted, inputs.get('attention_mask'));
    assert.ok(diff < 1e-5, `merged Conv1D logits differ by ${diff}`);
  });

  test(`${peftType}: module_dropout 1 skips the adapter in training only`, async () => {
    const base = await llama();
    base.eval();
    const before = await logits(base);
    const peft = getPeftModel(base, { peftType, r: 4, targetModules: TARGETS, initWeights: false, moduleDropout: 1 });
    peft.train();
    assert.equal(maxAbsDiff(await logits(peft), before), 0);
    peft.eval();
    assert.ok(maxAbsDiff(await logits(peft), before) > 1e-3);
  });

  test(`${peftType}: rank dropout trains and changes the training outputs only`, async () => {
    const peft = getPeftModel(await llama(), { peftType, r: 4, targetModules: TARGETS, initWeights: false, rankDropout: 0.5 });
    const { inputs } = await loadCase(join(FIXTURES, 'llama'));
    peft.eval();
    const evalLogits = await logits(peft);
    assert.equal(maxAbsDiff(await logits(peft), evalLogits), 0);
    peft.train();
    const out = peft.forward(modelInputs(inputs));
    assert.ok(maxAbsDiff(out.logits, evalLogits) > 1e-4);
    out.loss!.backward();
    assert.ok(peft.parameters().filter((p) => p.requiresGrad).every((p) => p.grad !== null));
  });

  test(`${peftType}: two adapters: switching, a mixed batch (one adapter per row) and deleting`, async () => {
    const { inputs } = await loadCase(join(FIXTURES, 'llama'));
    const peft = getPeftModel(await llama(), { peftType, r: 4, targetModules: TARGETS, initWeights: false });
    peft.addAdapter('b', { peftType, r: 2, targetModules: ['q_proj'], initWeights: false });
    peft.eval();
    const a = await logits(peft);
    peft.setAdapter('b');
    const b = await logits(peft);
    assert.ok(maxAbsDiff(a, b) > 1e-3);
    const mixed = noGrad(() => peft.forward({ ...modelInputs(inputs), adapterNames: ['default', 'b'] }).logits);
    const mask = inputs.get('attention_mask')!;
    assert.ok(maxAbsDiff(mixed.narrow(0, 0, 1), a.narrow(0, 0, 1), mask.narrow(0, 0, 1)) < 1e-5);
    assert.ok(maxAbsDiff(mixed.narrow(0, 1, 1), b.narrow(0, 1, 1), mask.narrow(0, 1, 1)) < 1e-5);
    peft.deleteAdapter('b');
    assert.equal(peft.activeAdapter, 'default');
    assert.equal(maxAbsDiff(await logits(peft), a), 0);
    assert.ok(!peft.namedParameters().some(([n]) => n.endsWith('.b')));
  });

  test(`${peftType}: r <= 0 is a typed error and the model stays as it was`, async () => {
    const base = await llama();
    assert.throws(() => getPeftModel(base, { peftType, r: 0, targetModules: TARGETS }), ConfigError);
    assert.throws(() => getPeftModel(base, { peftType, r: 4, targetModules: TARGETS, rankPattern: { up_proj: 0 } }), PeftConfigError);
    assert.equal(hasAdapterLayers(base), false);
  });

  test(`${peftType}: a target that is not a linear layer is a typed error and the model stays as it was`, async () => {
    const base = await llama();
    assert.throws(() => getPeftModel(base, { peftType, targetModules: ['q_proj', 'input_layernorm'] }), TargetModulesError);
    assert.throws(() => getPeftModel(base, { peftType, targetModules: ['embed_tokens'] }), /embed_tokens.*Linear and Conv1D/);
    assert.equal(hasAdapterLayers(base), false);
  });

  test(`${peftType}: options HF does not have are refused`, async () => {
    const base = await llama();
    assert.throws(() => getPeftModel(base, { peftType, targetModules: TARGETS, loraAlpha: 3 }), PeftConfigError);
  });
}

test('LOHA: rank_pattern and alpha_pattern set the rank and scale per module', async () => {
  const peft = getPeftModel(await llama(), { peftType: 'LOHA', r: 4, alpha: 8, targetModules: TARGETS, rankPattern: { up_proj: 2 }, alphaPattern: { 'layers\\.1\\.self_attn\\.q_proj': 3 } });
  const shapes = new Map([...peft.adapterStateDict()].map(([k, t]) => [k.replace('base_model.model.model.', ''), t.shape]));
  assert.deepEqual(shapes.get('layers.0.mlp.up_proj.hada_w1_a'), [64, 2]);
  assert.deepEqual(shapes.get('layers.0.self_attn.q_proj.hada_w1_a'), [32, 4]);
  const q1 = peft.model.getSubmodule('model.layers.1.self_attn.q_proj') as unknown as { scaling: Map<string, number> };
  const q0 = peft.model.getSubmodule('model.layers.0.self_attn.q_proj') as unknown as { scaling: Map<string, number> };
  assert.equal(q1.scaling.get('default'), 3 / 4);
  assert.equal(q0.scaling.get('default'), 2);
});

test("LOKR: factorization splits a dimension as HF's (LyCORIS's) does", () => {
  assert.deepEqual(factorization(256), [16, 16]);
  assert.deepEqual(factorization(128), [8, 16]);
  assert.deepEqual(factorization(127), [1, 127]);
  assert.deepEqual(factorization(128, 4), [4, 32]);
  assert.deepEqual(factorization(32), [4, 8]);
  assert.deepEqual(factorization(24, 5), [4, 6]);
});

test('LOKR: small r factors w2 (and w1 with decompose_both) into rank-r products, and HF inits keep ΔW = 0', async () => {
  const base = await llama();
  base.eval();
  const before = await logits(base);
  for (const initWeights of [true, 'lycoris'] as const) {
    const peft = getPeftModel(await llama(), { peftType: 'LOKR', r: 1, targetModules: ['q_proj'], decomposeBoth: true, initWeights });
    peft.eval();
    const names = [...peft.adapterStateDict().keys()].filter((k) => k.includes('layers.0.')).map((k) => k.split('.').pop());
    assert.deepEqual(names.sort(), ['lokr_w1_a', 'lokr_w1_b', 'lokr_w2_a', 'lokr_w2_b']);
    assert.equal(maxAbsDiff(await logits(peft), before), 0, `init_weights ${initWeights}`);
  }
  const q = getPeftModel(await llama(), { peftType: 'LOKR', r: 1, targetModules: ['q_proj'], decomposeFactor: 2 }).model.getSubmodule('model.layers.0.self_attn.q_proj') as LoKrLinear;
  // 32 = 2·16 on both sides: w1 [2, 2] full, w2 [16, 16] as [16, 1]·[1, 16].
  assert.deepEqual(q.lokr_w1.get('default')!.shape, [2, 2]);
  assert.deepEqual(q.lokr_w2_a.get('default')!.shape, [16, 1]);
  assert.deepEqual(q.deltaOutIn('default').shape, [32, 32]);
});

test('keepDeltas (the server): inference forwards use the ΔW built once, equal to the rebuilt one; training rebuilds it', async () => {
  for (const peftType of PEFT_TYPES) {
    const peft = getPeftModel(await llama(), { peftType, r: 4, targetModules: TARGETS, initWeights: false });
    peft.eval();
    const fresh = await logits(peft);
    const layers = [...peft.model.namedModules()].map(([, m]) => m).filter((m): m is LycorisLayer => m instanceof LycorisLayer);
    const bytes = layers.reduce((n, m) => n + m.keepDeltas(), 0);
    assert.equal(bytes, layers.reduce((n, m) => n + m.outFeatures * m.inFeatures * 4, 0), `${peftType}: one float32 ΔW per layer`);
    assert.equal(maxAbsDiff(await logits(peft), fresh), 0, `${peftType}: the kept ΔW is the one a forward builds`);
    // Kept, not rebuilt: zeroing a factor in place does not reach no-grad eval forwards, but does reach training ones.
    for (const p of peft.adapterStateDict().values()) p.fill_(0);
    assert.equal(maxAbsDiff(await logits(peft), fresh), 0, `${peftType}: kept`);
    peft.train();
    assert.ok(maxAbsDiff(await logits(peft), fresh) > 0, `${peftType}: training forwards rebuild ΔW`);
  }
});
