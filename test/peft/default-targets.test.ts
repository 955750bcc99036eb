// Adapters whose config leaves target_modules (IA3: also feedforward_modules) null take HF PEFT's
// per-architecture defaults (utils/constants.py), as HF's _prepare_adapter_config fills them: the
// wrapped modules are the ones HF's table names, and the saved adapter_config.json holds them.
// Architectures without an entry are a typed error that leaves the model untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PeftModel, getPeftModel, type PretrainedModel } from '../../src/index.js';
import { TargetModulesError } from '../../src/peft/errors.js';
import { TunerLayer } from '../../src/peft/tuners/tuner-layer.js';
import { Ia3Linear } from '../../src/peft/tuners/ia3/index.js';
import '../../src/peft/tuners/adalora/index.js';
import '../../src/peft/tuners/ln_tuning/index.js';
import '../../src/peft/tuners/loha/index.js';
import '../../src/peft/tuners/lokr/index.js';
import '../../src/peft/tuners/oft/index.js';
import '../../src/peft/tuners/vera/index.js';
import { baseModel, peftCase } from '../helpers/peft-parity.js';
import { FIXTURES } from '../helpers/parity.js';

type Table = Record<string, string[]>;

// HF PEFT 0.21's tables, written out here (not imported) so the test checks our copies against them.
const LORA: Table = {
  t5: ['q', 'v'], gpt2: ['c_attn'], bert: ['query', 'value'], roberta: ['query', 'value'],
  llama: ['q_proj', 'v_proj'], mistral: ['q_proj', 'v_proj'], qwen2: ['q_proj', 'v_proj'],
};
const ADALORA: Table = {
  t5: ['q', 'k', 'v', 'o', 'wi', 'wo'], gpt2: ['c_attn'], llama: ['q_proj', 'v_proj'], bert: ['query', 'value'],
  roberta: ['query', 'key', 'value', 'dense'], qwen2: ['q_proj', 'v_proj'],
};
const IA3: Table = {
  t5: ['k', 'v', 'wo'], gpt2: ['c_attn', 'mlp.c_proj'], roberta: ['key', 'value', 'output.dense'], llama: ['k_proj', 'v_proj', 'down_proj'],
  mistral: ['k_proj', 'v_proj', 'down_proj'], bert: ['key', 'value', 'output.dense'], qwen2: ['q_proj', 'v_proj', 'down_proj'],
};
const IA3_FEEDFORWARD: Table = {
  t5: ['wo'], gpt2: ['mlp.c_proj'], roberta: ['output.dense'], llama: ['down_proj'], mistral: ['down_proj'], bert: ['output.dense'], qwen2: ['down_proj'],
};
const LN_TUNING: Table = {
  llama: ['input_layernorm', 'post_attention_layernorm', 'norm'], t5: ['layer_norm', 'final_layer_norm'], gpt2: ['ln_1', 'ln_2', 'ln_f'],
  mistral: ['input_layernorm', 'post_attention_layernorm', 'norm'], qwen2: ['post_attention_layernorm'],
};

const METHODS: { peftType: string; table: Table; options?: Record<string, unknown> }[] = [
  { peftType: 'LORA', table: LORA },
  { peftType: 'LOHA', table: LORA },
  { peftType: 'LOKR', table: LORA },
  { peftType: 'OFT', table: LORA },
  { peftType: 'VERA', table: LORA },
  { peftType: 'ADALORA', table: ADALORA, options: { totalStep: 10 } },
  { peftType: 'IA3', table: IA3 },
  { peftType: 'LN_TUNING', table: LN_TUNING },
];

const MODELS = ['gpt2', 'llama', 'qwen2', 'mistral', 'bert', 'roberta', 't5', 'vit'];

async function fixtureModel(model: string): Promise<PretrainedModel> {
  return baseModel(await peftCase(model, 'lora'));
}

/** HF's rule for a list of names: the module's path is the name or ends with `.name`. */
function pathsNamed(model: PretrainedModel, names: string[]): string[] {
  return [...model.namedModules()].map(([p]) => p).filter((p) => p !== '' && names.some((n) => p === n || p.endsWith(`.${n}`)));
}

function wrappedPaths(peft: PeftModel): string[] {
  return peft.base_model.tunerLayers().map(([p]) => p);
}

async function savedConfig(peft: PeftModel): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'peftjs-default-targets-'));
  try {
    await peft.savePretrained(dir);
    return JSON.parse(await readFile(join(dir, 'adapter_config.json'), 'utf8'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function assertNoDefault(error: unknown, peftType: string, field: string, modelType: string): boolean {
  assert.ok(error instanceof TargetModulesError, `a TargetModulesError, got ${String(error)}`);
  assert.match(error.message, new RegExp(`^${peftType} has no default ${field} for model_type '${modelType}' .*; set ${field} in the adapter config`));
  if (field === 'target_modules') assert.match(error.message, /or 'all-linear'$/);
  return true;
}

for (const { peftType, table, options = {} } of METHODS) {
  for (const model of MODELS) {
    const names = table[model];
    if (names === undefined) {
      test(`${peftType} on ${model}: no HF default, so a typed error naming the fix and the model untouched`, async () => {
        const base = await fixtureModel(model);
        const before = [...base.namedModules()].map(([p]) => p);
        assert.throws(() => getPeftModel(base, { peftType, ...options }), (e: unknown) => assertNoDefault(e, peftType, 'target_modules', model));
        assert.deepEqual([...base.namedModules()].map(([p]) => p), before);
      });
      continue;
    }
    test(`${peftType} on ${model}: without target_modules it wraps HF's default ${JSON.stringify(names)} and saves them`, async () => {
      const base = await fixtureModel(model);
      const expected = pathsNamed(base, names);
      assert.ok(expected.length > 0, `the fixture has modules named ${names.join(', ')}`);
      const peft = getPeftModel(base, { peftType, ...options });
      assert.deepEqual(wrappedPaths(peft), expected);
      const saved = await savedConfig(peft);
      assert.deepEqual(saved.target_modules, names);
      if (peftType === 'IA3') assert.deepEqual(saved.feedforward_modules, IA3_FEEDFORWARD[model]);
    });
  }
}

test("IA3 with target_modules given and feedforward_modules null takes the architecture's feedforward_modules (HF fills each on its own)", async () => {
  const peft = getPeftModel(await fixtureModel('llama'), { peftType: 'IA3', targetModules: ['k_proj', 'down_proj'] });
  const scalesInput = Object.fromEntries(peft.base_model.tunerLayers().map(([p, l]) => [p, (l as Ia3Linear).isFeedforward]));
  assert.deepEqual(scalesInput, {
    'model.layers.0.self_attn.k_proj': false,
    'model.layers.0.mlp.down_proj': true,
    'model.layers.1.self_attn.k_proj': false,
    'model.layers.1.mlp.down_proj': true,
  });
  const saved = await savedConfig(peft);
  assert.deepEqual([saved.target_modules, saved.feedforward_modules], [['k_proj', 'down_proj'], ['down_proj']]);
});

test('IA3 with feedforward_modules given and target_modules null takes the default target_modules and keeps its feedforward_modules', async () => {
  const peft = getPeftModel(await fixtureModel('gpt2'), { peftType: 'IA3', feedforwardModules: [] });
  assert.deepEqual(peft.base_model.tunerLayers().map(([p, l]) => [p, (l as Ia3Linear).isFeedforward]), [
    ['transformer.h.0.attn.c_attn', false],
    ['transformer.h.0.mlp.c_proj', false],
    ['transformer.h.1.attn.c_attn', false],
    ['transformer.h.1.mlp.c_proj', false],
  ]);
  assert.deepEqual((await savedConfig(peft)).feedforward_modules, []);
});

test('IA3 on ViT with target_modules but no feedforward_modules: a typed error for feedforward_modules', async () => {
  const base = await fixtureModel('vit');
  assert.throws(() => getPeftModel(base, { peftType: 'IA3', targetModules: ['query'] }), (e: unknown) => assertNoDefault(e, 'IA3', 'feedforward_modules', 'vit'));
  assert.ok(![...base.namedModules()].some(([, m]) => m instanceof TunerLayer), 'no adapter layer was left');
});

test('a config loaded from a file keeps its target_modules; one saved with null target_modules loads onto the defaults', async () => {
  const hfDir = join(FIXTURES, 'llama', 'peft', 'lora');
  const file = JSON.parse(await readFile(join(hfDir, 'adapter_config.json'), 'utf8'));
  const loaded = await PeftModel.fromPretrained(await fixtureModel('llama'), hfDir);
  assert.deepEqual(loaded.peftConfig.get('default')!.targetModules, file.target_modules);
  assert.deepEqual(wrappedPaths(loaded), pathsNamed(loaded.model, file.target_modules));

  const dir = await mkdtemp(join(tmpdir(), 'peftjs-default-targets-'));
  try {
    await getPeftModel(await fixtureModel('llama'), { peftType: 'LORA' }).savePretrained(dir);
    const config = JSON.parse(await readFile(join(dir, 'adapter_config.json'), 'utf8'));
    await writeFile(join(dir, 'adapter_config.json'), JSON.stringify({ ...config, target_modules: null }));
    const reloaded = await PeftModel.fromPretrained(await fixtureModel('llama'), dir);
    assert.deepEqual(reloaded.peftConfig.get('default')!.targetModules, LORA.llama);
    assert.deepEqual(wrappedPaths(reloaded), ['model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.v_proj', 'model.layers.1.self_attn.q_proj', 'model.layers.1.self_attn.v_proj']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
