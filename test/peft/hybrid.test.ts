// Hybrid methods (peft_types MAM and UNIPELT; HF PEFT has no reference): parameter counts equal to
// the sum of each part's formula, what holds at init (the adapters and LoRA add nothing; prefixes
// always take attention mass, so outputs equal the base model's fed the same prefixes through its
// KV cache), gates inside (0, 1), gradients exactly on the trainable parts, save → load, adapter
// management and typed errors with the base untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PeftModel, arange, concat, getPeftModel, loadSafetensors, noGrad, ones, randn, type ModelInputs, type PretrainedModel, type Tensor } from '../../src/index.js';
import { KVCache } from '../../src/models/index.js';
import type { Module } from '../../src/nn/index.js';
import type { AdapterOptions } from '../../src/peft/config/make-config.js';
import { PeftConfigError, TargetModulesError } from '../../src/peft/errors.js';
import { TunerLayer } from '../../src/peft/tuners/tuner-layer.js';
import { layerEntries, seedPrefixCache } from '../../src/peft/prompt/prefix-tuning/past-key-values.js';
import { GatedBottleneckLayer, GatedLoraLinear, PrefixAttentionLayer, gateValue, parseMamConfig } from '../../src/peft/tuners/hybrid/index.js';
import { layerPrefix } from '../../src/peft/tuners/hybrid/inject.js';
import { PrefixCollector } from '../../src/peft/tuners/hybrid/prefixed-cache.js';
import { FIXTURES, loadCase, maxAbsDiff, modelInputs } from '../helpers/parity.js';
import { baseModel, peftCase } from '../helpers/peft-parity.js';

/** Every fixture: 2 layers of width 32; the prefix's width T is the keys' (Llama: 2 KV heads of 8). */
const D = 32;
const LAYERS = 2;
const PREFIX_WIDTH: Record<string, number> = { gpt2: 32, llama: 16, bert: 32 };

async function fresh(model: string): Promise<{ base: PretrainedModel; inputs: ModelInputs }> {
  const base = await baseModel(await peftCase(model, 'lora'));
  base.eval();
  return { base, inputs: modelInputs((await loadCase(join(FIXTURES, model))).inputs) };
}

function logits(m: { forward(i: ModelInputs): { logits: Tensor } }, inputs: ModelInputs): Tensor {
  return noGrad(() => m.forward(inputs).logits);
}

function layersOf<T>(root: Module, kind: abstract new (...args: never[]) => T): [string, T][] {
  return [...root.namedModules()].filter((e): e is [string, T & Module] => e[1] instanceof kind) as [string, T][];
}

/** Bottleneck adapter of width m on D: down (D·m + m) and up (m·D + D). */
const adapter = (m: number) => 2 * D * m + m + D;
/** A gate σ(W·x + b) on D inputs. */
const gate = D + 1;
/** A prefix of P tokens: keys and values (2·P·T), or with the MLP: table P·T, T→h, h→2T. */
const prefix = (p: number, t: number, hidden: number | null) => (hidden === null ? 2 * p * t : p * t + t * hidden + hidden + hidden * 2 * t + 2 * t);
/** UniPELT's LoRA with rank r on its query/value projections (GPT-2: the fused c_attn, 32 → 96), each with a gate. */
const LORA_SHAPES: Record<string, [number, number][]> = { gpt2: [[D, 3 * D]], llama: [[D, D], [D, 16]], bert: [[D, D], [D, D]] };
const lora = (model: string, r: number) => LORA_SHAPES[model]!.reduce((n, [i, o]) => n + r * (i + o) + i + 1, 0);

/** The base model's inputs with the hybrid's own prefixes as a KV cache, positions kept at 0.. as the hybrid does. */
function withLayerPrefixes(peft: PeftModel, base: PretrainedModel, inputs: ModelInputs): ModelInputs {
  const cache = new KVCache();
  const config = layerPrefix(parseMamConfig(peft.base_model.method.writeConfig(peft.peftConfig.get('default')!) as never), base);
  const batch = inputs.inputIds!.shape[0]!;
  const seq = inputs.inputIds!.shape[1]!;
  layersOf(base, PrefixAttentionLayer).forEach(([, layer], i) => {
    const collector = new PrefixCollector();
    seedPrefixCache(collector, layer.prefix_encoder.get('default')!.prompts(), config, batch, layerEntries);
    cache.update(i, ...collector.collected!);
  });
  const attentionMask = concat([ones([batch, config.numVirtualTokens], inputs.attentionMask!.dtype), inputs.attentionMask!], 1);
  return { ...inputs, attentionMask, pastKeyValues: cache, positionIds: arange(0, seq).unsqueeze(0).expand([batch, seq]) };
}

for (const model of ['gpt2', 'llama', 'bert']) {
  for (const encoderHiddenSize of [null, 12]) {
    test(`${model}/MAM (prefix ${encoderHiddenSize === null ? 'table' : 'MLP'}): the formula's parameter count; at init the base model fed the same prefixes`, async () => {
      const { base, inputs } = await fresh(model);
      const options: AdapterOptions = { peftType: 'MAM', numVirtualTokens: 5, reductionFactor: 4, prefixProjection: encoderHiddenSize !== null, encoderHiddenSize };
      const peft = getPeftModel(base, options);
      assert.equal(peft.trainableParameters().trainable, LAYERS * (prefix(5, PREFIX_WIDTH[model]!, encoderHiddenSize) + adapter(8)));
      peft.eval();
      const adapted = logits(peft, inputs);
      const expected = peft.disableAdapter(() => logits(base, withLayerPrefixes(peft, base, inputs)));
      assert.ok(maxAbsDiff(adapted, expected) < 1e-5, `the zero-init scaled parallel adapter adds nothing: ${maxAbsDiff(adapted, expected)}`);
      assert.ok(maxAbsDiff(adapted, peft.disableAdapter(() => logits(peft, inputs))) > 1e-4, 'prefixes take attention mass: outputs differ from the base at init');
    });
  }
}

test('MAM: defaults (30 tokens, s = 4); generation runs with the prefix', async () => {
  const { base, inputs } = await fresh('gpt2');
  const peft = getPeftModel(base, { peftType: 'MAM', initWeights: 'random' });
  const config = peft.peftConfig.get('default') as unknown as { numVirtualTokens: number; scaling: number };
  assert.deepEqual([config.numVirtualTokens, config.scaling], [30, 4]);
  peft.eval();
  const row = inputs.inputIds!.narrow(0, 0, 1);
  const next = logits(peft, { inputIds: row }).select(1, row.shape[1]! - 1).argmax(-1);
  const generated = peft.generate(row, { maxNewTokens: 3 });
  assert.equal(Number(generated.select(1, row.shape[1]!).item()), Number(next.item()), 'the first generated token is the forward pass\'s argmax');
});

for (const model of ['gpt2', 'llama', 'bert']) {
  test(`${model}/UNIPELT: the formula's parameter count, zero LoRA and adapter updates at init, gates in (0, 1), gradients exactly on the parts`, async () => {
    const { base, inputs } = await fresh(model);
    const peft = getPeftModel(base, { peftType: 'UNIPELT', numVirtualTokens: 3, r: 4, reductionFactor: 8 });
    assert.equal(peft.trainableParameters().trainable, LAYERS * (prefix(3, PREFIX_WIDTH[model]!, null) + gate + lora(model, 4) + adapter(4) + gate));

    const x = randn([2, 5, D]);
    const loraLayers = layersOf(base, GatedLoraLinear);
    const adapters = layersOf(base, GatedBottleneckLayer);
    assert.equal(loraLayers.length, LAYERS * LORA_SHAPES[model]!.length);
    assert.equal(adapters.length, LAYERS);
    for (const [path, layer] of [...loraLayers, ...adapters]) {
      const input = layer instanceof GatedBottleneckLayer ? randn([2, 5, layer.inFeatures]) : x;
      assert.equal(maxAbsDiff(noGrad(() => layer.forward(input)), noGrad(() => layer.base_layer.forward(input))), 0, `${path}: adds nothing at init`);
    }
    const gates = [
      ...loraLayers.map(([, l]) => l.lora_gate.get('default')!),
      ...adapters.map(([, l]) => l.bottleneck_gate.get('default')!),
      ...layersOf(base, PrefixAttentionLayer).map(([, l]) => l.prefix_gate.get('default')!),
    ];
    for (const g of gates) {
      noGrad(() => g.weight.copy_(randn(g.weight.shape, { std: 3 })));
      const values = noGrad(() => gateValue(g, x.mul(10)));
      assert.ok(Number(values.min().item()) >= 0 && Number(values.max().item()) <= 1, 'gate values in [0, 1]');
    }

    // Perturb every trainable tensor (LoRA's B and the adapters' up start at zero) so every part has a gradient.
    peft.train();
    const trainable = new Set(peft.parameters().filter((p) => p.requiresGrad));
    noGrad(() => trainable.forEach((p) => p.copy_(p.add(randn(p.shape, { std: 0.1 })))));
    peft.forward(inputs).loss!.backward();
    for (const [path, p] of peft.namedParameters()) {
      const isPart = /\.(prefix_encoder|prefix_gate|lora_A|lora_B|lora_gate|bottleneck_down|bottleneck_up|bottleneck_gate)\./.test(path) || (model === 'bert' && /\.classifier\.modules_to_save\./.test(path));
      assert.equal(trainable.has(p), isPart, `${path}: ${isPart ? 'frozen' : 'trainable'}`);
      assert.equal(p.grad !== null, isPart, `${path}: ${isPart ? 'no gradient' : 'a gradient on a frozen parameter'}`);
      if (isPart) assert.ok(Number(p.grad!.abs().sum().item()) > 0, `${path}: zero gradient`);
    }
  });
}

async function roundTrip(model: string, options: AdapterOptions, names: string[]): Promise<void> {
  const { base, inputs } = await fresh(model);
  const peft = getPeftModel(base, { ...options, initWeights: 'random' });
  noGrad(() => peft.parameters().filter((p) => p.requiresGrad).forEach((p) => p.copy_(p.add(randn(p.shape, { std: 0.1 })))));
  peft.eval();
  const adapted = logits(peft, inputs);
  const dir = await mkdtemp(join(tmpdir(), 'peftjs-hybrid-'));
  const again = await mkdtemp(join(tmpdir(), 'peftjs-hybrid-'));
  try {
    await peft.savePretrained(dir);
    const config = JSON.parse(await readFile(join(dir, 'adapter_config.json'), 'utf8'));
    assert.equal(config.peft_type, options.peftType);
    const keys = ['num_virtual_tokens', 'prefix_projection', 'encoder_hidden_size', 'prefix_init', 'reduction_factor', 'non_linearity', 'scaling', 'init_weights', 'layers_to_transform'];
    for (const key of [...keys, ...(options.peftType === 'UNIPELT' ? ['r', 'lora_alpha', 'lora_dropout'] : [])]) assert.ok(key in config, `adapter_config.json has ${key}`);
    const { tensors } = await loadSafetensors(join(dir, 'adapter_model.safetensors'));
    assert.deepEqual([...tensors.keys()].filter((k) => /\.(h|layers|layer)\.0\./.test(k)).sort(), names);
    const loaded = await PeftModel.fromPretrained((await fresh(model)).base, dir);
    assert.equal(maxAbsDiff(logits(loaded, inputs), adapted), 0, 'reloaded adapter');
    await loaded.savePretrained(again);
    assert.equal(await readFile(join(again, 'adapter_config.json'), 'utf8'), await readFile(join(dir, 'adapter_config.json'), 'utf8'));
    assert.deepEqual(await readFile(join(again, 'adapter_model.safetensors')), await readFile(join(dir, 'adapter_model.safetensors')));
  } finally {
    await rm(dir, { recursive: true, force: true });
    await rm(again, { recursive: true, force: true });
  }
}

test('MAM save → load: identical outputs, HF-style names, every option in adapter_config.json', async () => {
  const at = 'base_model.model.transformer.h.0.';
  await roundTrip('gpt2', { peftType: 'MAM', numVirtualTokens: 4, prefixProjection: true, encoderHiddenSize: 8, reductionFactor: 4 }, [
    `${at}attn.prefix_encoder.embedding.weight`,
    `${at}attn.prefix_encoder.transform.0.bias`,
    `${at}attn.prefix_encoder.transform.0.weight`,
    `${at}attn.prefix_encoder.transform.2.bias`,
    `${at}attn.prefix_encoder.transform.2.weight`,
    `${at}mlp.bottleneck_down.bias`,
    `${at}mlp.bottleneck_down.weight`,
    `${at}mlp.bottleneck_up.bias`,
    `${at}mlp.bottleneck_up.weight`,
  ]);
});

test('UNIPELT save → load: identical outputs, HF-style names (nested LoRA under base_layer), every option', async () => {
  const at = 'base_model.model.model.layers.0.';
  await roundTrip('llama', { peftType: 'UNIPELT', numVirtualTokens: 3, r: 2 }, [
    `${at}mlp.down_proj.bottleneck_down.bias`,
    `${at}mlp.down_proj.bottleneck_down.weight`,
    `${at}mlp.down_proj.bottleneck_gate.bias`,
    `${at}mlp.down_proj.bottleneck_gate.weight`,
    `${at}mlp.down_proj.bottleneck_up.bias`,
    `${at}mlp.down_proj.bottleneck_up.weight`,
    `${at}self_attn.base_layer.q_proj.lora_A.weight`,
    `${at}self_attn.base_layer.q_proj.lora_B.weight`,
    `${at}self_attn.base_layer.q_proj.lora_gate.bias`,
    `${at}self_attn.base_layer.q_proj.lora_gate.weight`,
    `${at}self_attn.base_layer.v_proj.lora_A.weight`,
    `${at}self_attn.base_layer.v_proj.lora_B.weight`,
    `${at}self_attn.base_layer.v_proj.lora_gate.bias`,
    `${at}self_attn.base_layer.v_proj.lora_gate.weight`,
    `${at}self_attn.prefix_encoder.embedding.weight`,
    `${at}self_attn.prefix_gate.bias`,
    `${at}self_attn.prefix_gate.weight`,
  ]);
});

test('several UniPELT adapters: switching, disabling, no mixed batches or merging, deleting and unloading restore the base', async () => {
  const { base, inputs } = await fresh('llama');
  const plain = logits(base, inputs);
  const peft = getPeftModel(base, { peftType: 'UNIPELT', initWeights: 'random' }, 'a');
  peft.addAdapter('b', { peftType: 'UNIPELT', numVirtualTokens: 2, initWeights: 'random', layersToTransform: [1] });
  peft.eval();
  const a = logits(peft, inputs);
  peft.setAdapter('b');
  const b = logits(peft, inputs);
  assert.ok(maxAbsDiff(a, b) > 1e-4);
  const bParams = new Set(peft.parameters().filter((p) => p.requiresGrad));
  assert.ok(peft.namedParameters().every(([path, p]) => bParams.has(p) === (p.requiresGrad && path.split('.').includes('b'))));
  assert.equal(maxAbsDiff(peft.disableAdapter(() => logits(peft, inputs)), plain), 0);
  assert.throws(() => peft.forward({ ...inputs, adapterNames: inputs.inputIds!.shape[0] === 2 ? ['a', 'b'] : ['a'] }), PeftConfigError);
  assert.throws(() => peft.mergeAdapter(), PeftConfigError);
  peft.deleteAdapter('a');
  assert.equal(maxAbsDiff(logits(peft, inputs), b), 0, 'b is unchanged by deleting a');
  assert.equal(layersOf(base.getSubmodule('model.layers.0'), TunerLayer).length, 0, 'layer 0 (only a\'s) is unwrapped, inner LoRA included');
  const plainModel = peft.unload();
  assert.equal(layersOf(plainModel, TunerLayer).length, 0, 'unload leaves no adapter layer, nested ones included');
  assert.equal(maxAbsDiff(logits(plainModel, inputs), plain), 0);
});

test('bad options and architectures without the needed placement: typed errors, the base untouched', async () => {
  const { base, inputs } = await fresh('bert');
  const plain = logits(base, inputs);
  const params = base.namedParameters().map(([p]) => p).join();
  const rejects = (options: AdapterOptions, kind: new (...a: never[]) => Error, pattern: RegExp) =>
    assert.throws(() => getPeftModel(base, options), (e: unknown) => e instanceof kind && pattern.test((e as Error).message), JSON.stringify(options));
  rejects({ peftType: 'UNIPELT', reductionFactor: 0 }, PeftConfigError, /reduction_factor 0/);
  rejects({ peftType: 'UNIPELT', reductionFactor: 64 }, PeftConfigError, /reduction_factor 64 leaves no bottleneck/);
  rejects({ peftType: 'UNIPELT', r: 0 }, Error, /\br\b/);
  rejects({ peftType: 'UNIPELT', numVirtualTokens: 0 }, Error, /num_virtual_tokens/);
  rejects({ peftType: 'UNIPELT', targetModules: ['query'] }, PeftConfigError, /target_modules .* layers_to_transform/);
  rejects({ peftType: 'UNIPELT', prefixInit: 'ones' }, PeftConfigError, /prefix_init/);
  rejects({ peftType: 'UNIPELT', lora_rank: 4 } as AdapterOptions, PeftConfigError, /unknown UNIPELT option/);
  assert.equal(layersOf(base, TunerLayer).length, 0);
  assert.equal(base.namedParameters().map(([p]) => p).join(), params);
  assert.equal(maxAbsDiff(logits(base, inputs), plain), 0);

  const t5 = await fresh('t5');
  assert.throws(() => getPeftModel(t5.base, { peftType: 'UNIPELT' }), (e: unknown) => e instanceof TargetModulesError && /model_type 't5'/.test((e as Error).message));
  assert.equal(layersOf(t5.base, TunerLayer).length, 0);
});
