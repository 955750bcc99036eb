// Parity with HF PEFT for VeRA, OFT and (IA)³ on every architecture that has a fixture (logits,
// loss, gradients, eval logits, generation, saved files, parameter counts, merging), and for each
// method: identity at init, save → load round trip, merge → unmerge, typed errors for bad options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PeftError, PeftModel, getPeftModel, noGrad, randn, type ModelInputs, type PretrainedModel, type Tensor } from '../../src/index.js';
import { TunerLayer } from '../../src/peft/tuners/tuner-layer.js';
import type { AdapterOptions } from '../../src/peft/config/make-config.js';
import '../../src/peft/tuners/ia3/index.js';
import type { Ia3Config } from '../../src/peft/tuners/ia3/index.js';
import '../../src/peft/tuners/oft/index.js';
import '../../src/peft/tuners/vera/index.js';
import { FIXTURES, loadCase, maxAbsDiff, modelInputs } from '../helpers/parity.js';
import { baseModel, parityTests, peftCase } from '../helpers/peft-parity.js';

const METHODS = ['ia3', 'oft', 'vera'];

parityTests(METHODS);

// Method checks on fresh adapters (llama; GPT-2 for IA3's Conv1D layers).
const FRESH: Record<string, { model: string; options: AdapterOptions; random: Record<string, unknown> }> = {
  ia3: { model: 'llama', options: { peftType: 'IA3', targetModules: ['k_proj', 'v_proj', 'down_proj'], feedforwardModules: ['down_proj'] }, random: {} },
  ia3_gpt2: { model: 'gpt2', options: { peftType: 'IA3', targetModules: ['c_attn', 'mlp.c_proj'], feedforwardModules: ['mlp.c_proj'], fanInFanOut: true }, random: {} },
  oft: { model: 'llama', options: { peftType: 'OFT', targetModules: ['q_proj', 'v_proj'], oftBlockSize: 8 }, random: { initWeights: false } },
  oft_exact_coft_shared: {
    model: 'llama',
    options: { peftType: 'OFT', targetModules: ['q_proj', 'down_proj'], r: 4, oftBlockSize: 0, useCayleyNeumann: false, coft: true, eps: 0.5, blockShare: true },
    random: { initWeights: false },
  },
  oft_gpt2: { model: 'gpt2', options: { peftType: 'OFT', targetModules: ['c_attn', 'c_fc'], oftBlockSize: 8 }, random: { initWeights: false } },
  vera: { model: 'llama', options: { peftType: 'VERA', targetModules: ['q_proj', 'o_proj', 'down_proj'], r: 4 }, random: { initWeights: false } },
  vera_no_projection: { model: 'llama', options: { peftType: 'VERA', targetModules: ['q_proj', 'v_proj'], r: 4, saveProjection: false }, random: { initWeights: false } },
};

async function fresh(model: string): Promise<{ base: PretrainedModel; inputs: ModelInputs }> {
  const c = await peftCase(model, 'lora');
  const base = await baseModel(c);
  base.eval();
  return { base, inputs: modelInputs((await loadCase(join(FIXTURES, model))).inputs) };
}

function logits(m: { forward(i: ModelInputs): { logits: Tensor } }, inputs: ModelInputs): Tensor {
  return noGrad(() => m.forward(inputs).logits);
}

for (const [name, { model, options, random }] of Object.entries(FRESH)) {
  test(`${name}: a new adapter leaves the outputs unchanged at HF's default init`, async () => {
    const { base, inputs } = await fresh(model);
    const before = logits(base, inputs);
    const peft = getPeftModel(base, options);
    peft.eval();
    assert.ok(maxAbsDiff(logits(peft, inputs), before) < 1e-6);
  });

  test(`${name}: save → load gives identical outputs, merge → unmerge restores the base weights`, async () => {
    const { base, inputs } = await fresh(model);
    const original = new Map([...base.stateDict()].map(([k, t]) => [k, t.clone()]));
    const plain = logits(base, inputs);
    const peft = getPeftModel(base, { ...options, ...random });
    // As the fixtures: every trained parameter moved off its init (IA3's vectors stay near one,
    // since HF's unmerge divides by l + 1e-8).
    noGrad(() => {
      for (const p of peft.parameters()) if (p.requiresGrad) p.copy_(p.add(randn(p.shape, { std: 0.05 })));
    });
    peft.eval();
    const adapted = logits(peft, inputs);
    assert.ok(maxAbsDiff(adapted, plain) > 1e-3, 'the random adapter changes the output');
    const dir = await mkdtemp(join(tmpdir(), 'peftjs-vera-oft-ia3-'));
    try {
      await peft.savePretrained(dir);
      const other = await baseModel(await peftCase(model, 'lora'));
      const loaded = await PeftModel.fromPretrained(other, dir);
      assert.equal(maxAbsDiff(logits(loaded, inputs), adapted), 0, 'reloaded adapter');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    peft.mergeAdapter();
    assert.ok(maxAbsDiff(logits(peft, inputs), adapted) < 1e-4, 'merged outputs');
    peft.unmergeAdapter();
    for (const [k, w] of peft.unload().stateDict()) assert.ok(maxAbsDiff(w, original.get(k)!) < 1e-5, `${k} restored (differs by ${maxAbsDiff(w, original.get(k)!)})`);
  });
}

test('VeRA: the projections are saved as base_model.vera_A / vera_B only with save_projection', async () => {
  const { base } = await fresh('llama');
  const saved = getPeftModel(base, FRESH.vera!.options).adapterStateDict();
  assert.deepEqual(saved.get('base_model.vera_A')!.shape, [4, 64]);
  assert.deepEqual(saved.get('base_model.vera_B')!.shape, [32, 4]);
  const { base: other } = await fresh('llama');
  const keys = [...getPeftModel(other, FRESH.vera_no_projection!.options).adapterStateDict().keys()];
  assert.ok(keys.every((k) => !k.includes('vera_A') && !k.includes('vera_B')));
});

test("IA3 without feedforward_modules takes the architecture's, as HF fills it (no config error)", async () => {
  const { base } = await fresh('llama');
  const peft = getPeftModel(base, { peftType: 'IA3', targetModules: ['k_proj'] });
  assert.deepEqual((peft.peftConfig.get('default') as Ia3Config).feedforwardModules, ['down_proj']);
});

test('typed errors for bad options, with the base model untouched', async () => {
  const { base, inputs } = await fresh('llama');
  const before = logits(base, inputs);
  const throwsConfig = (options: AdapterOptions, pattern: RegExp) => assert.throws(() => getPeftModel(base, options), (e: unknown) => e instanceof PeftError && pattern.test(e.message));
  throwsConfig({ peftType: 'IA3', targetModules: ['k_proj'], feedforwardModules: ['down_proj'] }, /\["down_proj"\] are not in target_modules/);
  throwsConfig({ peftType: 'OFT', targetModules: ['q_proj', 'down_proj'], oftBlockSize: 12 }, /oft_block_size 12 does not divide in_features 32 .* nearest is 8/);
  throwsConfig({ peftType: 'OFT', targetModules: ['q_proj'], r: 4, oftBlockSize: 8 }, /set exactly one of them/);
  assert.ok(!(base.getSubmodule('model.layers.0.self_attn.q_proj') instanceof TunerLayer), 'a failed injection leaves no adapter layer');
  assert.equal(maxAbsDiff(logits(base, inputs), before), 0);

  const peft = getPeftModel(base, { peftType: 'VERA', targetModules: ['q_proj'], r: 4 });
  assert.throws(() => peft.addAdapter('second', { peftType: 'VERA', targetModules: ['q_proj'], r: 4, projectionPrngKey: 1 }), /projection_prng_key 1 differs/);
  assert.deepEqual([...peft.peftConfig.keys()], ['default']);
  assert.ok(!('second' in ((peft.base_model as unknown as { vera_A: object }).vera_A)), 'its projections are removed again');
});
