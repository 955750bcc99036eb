// Bottleneck adapters (peft_type BOTTLENECK; HF PEFT has no reference): parameter counts equal to
// the papers' formulas, identity at init, gradients only where they should be, save → load, the
// file format, AdapterFusion's two stages, AdapterDrop, mixed batches and typed errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PeftError, PeftModel, getPeftModel, loadSafetensors, noGrad, randn, type ModelInputs, type PretrainedModel, type Tensor } from '../../src/index.js';
import { getActivation, type LayerNorm, type Linear, type Module, type Parameter } from '../../src/nn/index.js';
import type { AdapterOptions } from '../../src/peft/config/make-config.js';
import { AdapterNameError, PeftConfigError, TargetModulesError } from '../../src/peft/errors.js';
import { BottleneckLayer, addFusion } from '../../src/peft/tuners/bottleneck/index.js';
import { FIXTURES, loadCase, maxAbsDiff, modelInputs } from '../helpers/parity.js';
import { baseModel, peftCase } from '../helpers/peft-parity.js';

/** Every fixture has 2 layers per stack of width 32 (T5 has an encoder and a decoder stack). */
const D = 32;
const LAYERS: Record<string, number> = { gpt2: 2, llama: 2, bert: 2, t5: 4, vit: 2 };
const MODELS = Object.keys(LAYERS);

async function fresh(model: string): Promise<{ base: PretrainedModel; inputs: ModelInputs }> {
  const base = await baseModel(await peftCase(model, 'lora'));
  base.eval();
  return { base, inputs: modelInputs((await loadCase(join(FIXTURES, model))).inputs) };
}

function logits(m: { forward(i: ModelInputs): { logits: Tensor } }, inputs: ModelInputs): Tensor {
  return noGrad(() => m.forward(inputs).logits);
}

/** One adapter's parameters: down (d·m + m), up (m·d + d), and 2d per layer norm. */
function adapterSize(m: number, layerNorms = 0): number {
  return 2 * D * m + D + m + layerNorms * 2 * D;
}

const TYPES: { options: AdapterOptions; perLayer: number; size: number; models: string[] }[] = [
  // Houlsby et al. 2019: two adapters per layer, after attention and after the feed-forward block.
  { options: { peftType: 'BOTTLENECK', adapterType: 'houlsby', reductionFactor: 4 }, perLayer: 2, size: adapterSize(8), models: MODELS },
  // Pfeiffer et al. 2021: one adapter per layer, after the feed-forward block.
  { options: { peftType: 'BOTTLENECK', adapterType: 'pfeiffer', reductionFactor: 2, nonLinearity: 'gelu', lnBefore: true }, perLayer: 1, size: adapterSize(16, 1), models: MODELS },
  // He et al. 2022: one adapter per layer beside the feed-forward block (BERT: its term joins the residual sum).
  { options: { peftType: 'BOTTLENECK', adapterType: 'parallel', reductionFactor: 8, nonLinearity: 'silu' }, perLayer: 1, size: adapterSize(4), models: MODELS },
  { options: { peftType: 'BOTTLENECK', adapterType: 'scaled_parallel', reductionFactor: 4, nonLinearity: 'tanh' }, perLayer: 1, size: adapterSize(8), models: MODELS },
];

for (const { options, perLayer, size, models } of TYPES) {
  for (const model of models) {
    test(`${model}/${options.adapterType}: the paper's parameter count, the base model's outputs at init, gradients only on the adapter`, async () => {
      const { base, inputs } = await fresh(model);
      const before = logits(base, inputs);
      const peft = getPeftModel(base, options);
      assert.equal(peft.trainableParameters().trainable, LAYERS[model]! * perLayer * size);
      peft.eval();
      assert.equal(maxAbsDiff(logits(peft, inputs), before), 0, 'a zero up-projection adds nothing');

      const { base: other } = await fresh(model);
      const random = getPeftModel(other, { ...options, initWeights: 'random' });
      assert.ok(maxAbsDiff(logits(random, inputs), before) > 1e-4, 'a random adapter changes the outputs');
      random.forward(inputs).loss!.backward();
      for (const [path, p] of random.namedParameters()) {
        const isAdapter = path.includes('.bottleneck_');
        assert.equal(p.grad !== null, isAdapter, `${path}: ${isAdapter ? 'no gradient' : 'a gradient on a frozen parameter'}`);
        if (isAdapter) assert.ok(Number(p.grad!.abs().sum().item()) > 0, `${path}: zero gradient`);
      }
    });
  }
}

test('the Houlsby init draws both projections near zero; the layer norms and residual options apply', async () => {
  const { base, inputs } = await fresh('gpt2');
  const before = logits(base, inputs);
  const peft = getPeftModel(base, { peftType: 'BOTTLENECK', initWeights: 'near_identity', lnBefore: true, lnAfter: true, residualBeforeLn: false });
  const layer = base.getSubmodule('transformer.h.0.mlp.c_proj') as BottleneckLayer;
  assert.ok(layer.bottleneck_ln_before.has('default') && layer.bottleneck_ln_after.has('default'));
  assert.ok(Number(layer.bottleneck_up.get('default')!.weight.abs().max().item()) < 0.1);
  assert.equal(peft.trainableParameters().trainable, 2 * 2 * adapterSize(2, 2));
  peft.eval();
  const diff = maxAbsDiff(logits(peft, inputs), before);
  assert.ok(diff > 0 && diff < 10, `near the base (with layer norms on the sublayer outputs), differs by ${diff}`);
});

test('save → load: identical outputs, HF-style names, every option in adapter_config.json', async () => {
  const { base, inputs } = await fresh('gpt2');
  const options: AdapterOptions = { peftType: 'BOTTLENECK', adapterType: 'houlsby', reductionFactor: 4, lnBefore: true, initWeights: 'random', nonLinearity: 'gelu' };
  const peft = getPeftModel(base, options);
  peft.eval();
  const adapted = logits(peft, inputs);
  const dir = await mkdtemp(join(tmpdir(), 'peftjs-bottleneck-'));
  try {
    await peft.savePretrained(dir);
    const config = JSON.parse(await readFile(join(dir, 'adapter_config.json'), 'utf8'));
    assert.equal(config.peft_type, 'BOTTLENECK');
    for (const key of ['adapter_type', 'reduction_factor', 'non_linearity', 'scaling', 'residual_before_ln', 'ln_before', 'ln_after', 'init_weights', 'drop_lowest_layers', 'fusion_of', 'target_modules']) {
      assert.ok(key in config, `adapter_config.json has ${key}`);
    }
    const { tensors } = await loadSafetensors(join(dir, 'adapter_model.safetensors'));
    assert.deepEqual([...tensors.keys()].filter((k) => k.includes('h.0.attn.')).sort(), [
      'base_model.model.transformer.h.0.attn.c_proj.bottleneck_down.bias',
      'base_model.model.transformer.h.0.attn.c_proj.bottleneck_down.weight',
      'base_model.model.transformer.h.0.attn.c_proj.bottleneck_ln_before.bias',
      'base_model.model.transformer.h.0.attn.c_proj.bottleneck_ln_before.weight',
      'base_model.model.transformer.h.0.attn.c_proj.bottleneck_up.bias',
      'base_model.model.transformer.h.0.attn.c_proj.bottleneck_up.weight',
    ]);
    const loaded = await PeftModel.fromPretrained((await fresh('gpt2')).base, dir);
    assert.equal(maxAbsDiff(logits(loaded, inputs), adapted), 0, 'reloaded adapter');
    const again = await mkdtemp(join(tmpdir(), 'peftjs-bottleneck-'));
    await loaded.savePretrained(again);
    assert.equal(await readFile(join(again, 'adapter_config.json'), 'utf8'), await readFile(join(dir, 'adapter_config.json'), 'utf8'));
    assert.deepEqual(await readFile(join(again, 'adapter_model.safetensors')), await readFile(join(dir, 'adapter_model.safetensors')));
    await rm(again, { recursive: true, force: true });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('several adapters: switching, disabling, mixed batches, deleting', async () => {
  const { base, inputs } = await fresh('llama');
  const plain = logits(base, inputs);
  const peft = getPeftModel(base, { peftType: 'BOTTLENECK', adapterType: 'parallel', initWeights: 'random' }, 'a');
  peft.addAdapter('b', { peftType: 'BOTTLENECK', adapterType: 'scaled_parallel', initWeights: 'random' });
  peft.eval();
  const a = logits(peft, inputs);
  peft.setAdapter('b');
  const b = logits(peft, inputs);
  assert.ok(maxAbsDiff(a, b) > 1e-4);
  assert.equal(maxAbsDiff(peft.disableAdapter(() => logits(peft, inputs)), plain), 0);
  const rows = inputs.inputIds!.shape[0]!;
  const names = Array.from({ length: rows }, (_, i) => (['a', 'b', null] as const)[i % 3]!);
  const mixed = noGrad(() => peft.forward({ ...inputs, adapterNames: names }).logits);
  names.forEach((name, i) => {
    const expected = name === 'a' ? a : name === 'b' ? b : plain;
    assert.ok(maxAbsDiff(mixed.narrow(0, i, 1), expected.narrow(0, i, 1)) < 1e-5, `row ${i} (${name})`);
  });
  assert.throws(() => peft.mergeAdapter(), (e: unknown) => e instanceof PeftConfigError && /cannot be merged/.test(e.message));
  peft.deleteAdapter('b');
  peft.deleteAdapter('a');
  assert.ok(!(base.getSubmodule('model.layers.0.mlp') instanceof BottleneckLayer), 'the last delete unwraps the block');
  assert.equal(maxAbsDiff(logits(base, inputs), plain), 0);
});

/** Parameters with a gradient after one backward. */
function withGradient(peft: PeftModel): string[] {
  return peft.namedParameters().filter(([, p]: [string, Parameter]) => p.grad !== null).map(([path]) => path);
}

test('AdapterFusion: stage 2 trains only the fusion, which saves and loads on its own', async () => {
  const { base, inputs } = await fresh('gpt2');
  const options: AdapterOptions = { peftType: 'BOTTLENECK', adapterType: 'pfeiffer', reductionFactor: 4, initWeights: 'random' };
  const peft = getPeftModel(base, options, 'a');
  peft.addAdapter('b', options);
  noGrad(() => {
    // Stage 1 stand-in: the two task adapters differ.
    for (const [path, p] of peft.namedParameters()) if (path.includes('.b.')) p.copy_(p.add(randn(p.shape, { std: 0.1 })));
  });
  assert.throws(() => addFusion(peft, ['a', 'missing'], 'ab'), (e: unknown) => e instanceof AdapterNameError && /'missing', which does not exist/.test(e.message));
  assert.deepEqual([...peft.peftConfig.keys()], ['a', 'b'], 'a failed fusion adds nothing');
  addFusion(peft, ['a', 'b'], 'ab', { initWeights: 'random' });
  peft.setAdapter('ab');
  // Pfeiffer et al. 2021: query, key and value are d × d with biases, one fusion per adapted sublayer.
  assert.equal(peft.trainableParameters().trainable, 2 * 3 * (D * D + D));
  peft.train();
  peft.forward(inputs).loss!.backward();
  const graded = withGradient(peft);
  assert.ok(graded.length === 2 * 6 && graded.every((p) => /\.bottleneck_fusion_(query|key|value)\.ab\./.test(p)), graded.join(', '));
  assert.throws(() => peft.deleteAdapter('a'), (e: unknown) => e instanceof AdapterNameError && /fused by 'ab'/.test(e.message));
  assert.deepEqual([...peft.peftConfig.keys()], ['a', 'b', 'ab']);

  peft.eval();
  const fused = logits(peft, inputs);
  const dir = await mkdtemp(join(tmpdir(), 'peftjs-fusion-'));
  try {
    await peft.savePretrained(dir);
    const { tensors } = await loadSafetensors(join(dir, 'ab', 'adapter_model.safetensors'));
    assert.ok([...tensors.keys()].every((k) => k.includes('.bottleneck_fusion_')), 'the fusion saves only its own weights');
    const loaded = await PeftModel.fromPretrained((await fresh('gpt2')).base, join(dir, 'a'), { adapterName: 'a' });
    await loaded.loadAdapter(join(dir, 'b'), 'b');
    await loaded.loadAdapter(join(dir, 'ab'), 'ab');
    loaded.setAdapter('ab');
    loaded.eval();
    assert.equal(maxAbsDiff(logits(loaded, inputs), fused), 0);
    const lone = await PeftModel.fromPretrained((await fresh('gpt2')).base, join(dir, 'a'), { adapterName: 'a' });
    await assert.rejects(lone.loadAdapter(join(dir, 'ab'), 'ab'), (e: unknown) => e instanceof AdapterNameError && /'b', which does not exist/.test(e.message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** The output of the first transformer block of GPT-2 on `x`. */
function firstBlock(model: Module, x: Tensor): Tensor {
  const block = model.getSubmodule('transformer.h.0') as Module & { forward(h: Tensor, mask: null, cache: undefined, i: number): Tensor };
  return block.forward(x, null, undefined, 0);
}

test('AdapterDrop: no adapters in the lowest layers, whose outputs stay the base model\'s and get no gradient', async () => {
  const { base, inputs } = await fresh('gpt2');
  const x = randn([2, 5, D]);
  const blockBefore = noGrad(() => firstBlock(base, x));
  const peft = getPeftModel(base, { peftType: 'BOTTLENECK', reductionFactor: 4, initWeights: 'random', dropLowestLayers: 1 });
  assert.equal(peft.trainableParameters().trainable, 1 * 2 * adapterSize(8));
  assert.deepEqual((peft.peftConfig.get('default') as { layersToTransform: number[] }).layersToTransform, [1]);
  assert.ok(!(base.getSubmodule('transformer.h.0.attn.c_proj') instanceof BottleneckLayer));
  assert.ok(base.getSubmodule('transformer.h.1.attn.c_proj') instanceof BottleneckLayer);
  assert.equal(maxAbsDiff(noGrad(() => firstBlock(base, x)), blockBefore), 0);
  // With the lowest layers frozen and adapter-free, autograd records nothing there: backward stops above them.
  assert.equal(firstBlock(base, x).requiresGrad, false);
  peft.forward(inputs).loss!.backward();
  assert.ok(withGradient(peft).every((p) => p.includes('.h.1.')));
  assert.throws(
    () => getPeftModel(peft.unload(), { peftType: 'BOTTLENECK', dropLowestLayers: 2 }),
    (e: unknown) => e instanceof PeftConfigError && /drop_lowest_layers 2 drops every adapted layer/.test(e.message),
  );
});

test('BERT: the parallel adapter reads the feed-forward input x and joins the residual sum, LN(ffn(x) + s·f(x) + x)', async () => {
  const { base, inputs } = await fresh('bert');
  const peft = getPeftModel(base, { peftType: 'BOTTLENECK', adapterType: 'scaled_parallel', reductionFactor: 4, nonLinearity: 'tanh', initWeights: 'random' }, 'a');
  peft.addAdapter('b', { peftType: 'BOTTLENECK', adapterType: 'parallel', reductionFactor: 8, initWeights: 'random' });
  peft.eval();
  const layer = base.getSubmodule('bert.encoder.layer.1.output') as BottleneckLayer;
  assert.ok(layer instanceof BottleneckLayer && layer.parallel);
  const output = layer.base_layer as unknown as { dense: Linear; LayerNorm: LayerNorm };
  const h = randn([2, 5, output.dense.inFeatures]);
  const x = randn([2, 5, D]);
  const adapter = (name: string, act: string, s: number) =>
    layer.bottleneck_up.get(name)!.forward(getActivation(act)(layer.bottleneck_down.get(name)!.forward(x))).mul(s);
  noGrad(() => {
    const expected = output.LayerNorm.forward(output.dense.forward(h).add(x).add(adapter('a', 'tanh', 4)));
    assert.ok(maxAbsDiff(layer.forward(h, x), expected) < 1e-5, 'adapter a');
    peft.setAdapter('b');
    const expectedB = output.LayerNorm.forward(output.dense.forward(h).add(x).add(adapter('b', 'relu', 1)));
    assert.ok(maxAbsDiff(layer.forward(h, x), expectedB) < 1e-5, 'adapter b');
    const plain = output.LayerNorm.forward(output.dense.forward(h).add(x));
    assert.equal(maxAbsDiff(peft.disableAdapter(() => layer.forward(h, x)), plain), 0, 'disabled: the plain output');
  });
  assert.throws(() => layer.forward(h), /needs its residual input/);

  // A mixed batch routes each row through its own adapter's residual term.
  const [a, b] = ['a', 'b'].map((name) => {
    peft.setAdapter(name);
    return logits(peft, inputs);
  });
  const names = Array.from({ length: inputs.inputIds!.shape[0]! }, (_, i) => (i % 2 === 0 ? 'a' : 'b'));
  const mixed = noGrad(() => peft.forward({ ...inputs, adapterNames: names }).logits);
  names.forEach((name, i) => assert.ok(maxAbsDiff(mixed.narrow(0, i, 1), (name === 'a' ? a! : b!).narrow(0, i, 1)) < 1e-5, `row ${i} (${name})`));
  const plainModel = peft.unload();
  assert.ok(!(plainModel.getSubmodule('bert.encoder.layer.1.output') instanceof BottleneckLayer), 'unload puts BertOutput back');
});

test('typed errors: a placement the architecture lacks, a bad reduction factor, mixed kinds; the base untouched', async () => {
  const { base, inputs } = await fresh('bert');
  const before = logits(base, inputs);
  const throws = (options: AdapterOptions, type: new (...a: never[]) => PeftError, pattern: RegExp) =>
    assert.throws(() => getPeftModel(base, options), (e: unknown) => e instanceof type && pattern.test(e.message));
  throws({ peftType: 'BOTTLENECK', adapterType: 'parallel', targetModules: ['intermediate'] }, TargetModulesError, /'bert.encoder.layer.0.intermediate' is a BertIntermediate; .*wraps a feed-forward module/);
  throws({ peftType: 'BOTTLENECK', reductionFactor: 0 }, PeftConfigError, /reduction_factor 0 must be a positive number/);
  throws({ peftType: 'BOTTLENECK', reductionFactor: 64 }, PeftConfigError, /reduction_factor 64 leaves no bottleneck .* use at most 32/);
  throws({ peftType: 'BOTTLENECK', adapterType: 'parallel', lnAfter: true }, PeftConfigError, /ln_after is for sequential adapters/);
  throws({ peftType: 'BOTTLENECK', adapterType: 'pfeifer' }, PeftError, /pfeifer/);
  assert.ok(!(base.getSubmodule('bert.encoder.layer.0.attention.output.dense') instanceof BottleneckLayer), 'a failed injection leaves no adapter layer');
  assert.equal(maxAbsDiff(logits(base, inputs), before), 0);

  const { base: llama } = await fresh('llama');
  const peft = getPeftModel(llama, { peftType: 'BOTTLENECK' });
  assert.throws(() => peft.addAdapter('p', { peftType: 'BOTTLENECK', adapterType: 'parallel' }), (e: unknown) => e instanceof PeftConfigError && /use one kind per model/.test(e.message));
  assert.throws(() => addFusion(peft, ['default'], 'f'), (e: unknown) => e instanceof PeftConfigError && /two or more different adapters/.test(e.message));
  assert.deepEqual([...peft.peftConfig.keys()], ['default']);
});
