// VeRA's shared projections are drawn as HF PEFT draws them (torch's CPU generator seeded with
// projection_prng_key), so fresh adapters match HF's bit for bit and adapters saved without their
// projections (save_projection false) reload, from peftjs or from HF.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  PeftModel, TorchCpuGenerator, ValueError, configFromJson, getPeftModel, loadSafetensors, noGrad, randn, saveSafetensors,
  type ModelInputs, type PeftModel as PeftModelType, type Tensor,
} from '../../src/index.js';
import '../../src/peft/tuners/vera/index.js';
import { FIXTURES, loadCase, maxAbsDiff, modelInputs } from '../helpers/parity.js';
import { baseModel, logitsDiff, peftCase } from '../helpers/peft-parity.js';

const MODELS = ['llama', 'mistral', 'qwen2', 'llama3rope'];
const PROJECTIONS = ['base_model.vera_A', 'base_model.vera_B'];

function logits(m: PeftModelType, inputs: ModelInputs): Tensor {
  return noGrad(() => m.forward(inputs).logits);
}

/** Indices where two float32 tensors differ in value (exact comparison, every element). */
function differingElements(ours: Tensor, theirs: Tensor): number[] {
  assert.deepEqual(ours.shape, theirs.shape);
  const a = ours.data() as Float32Array;
  const b = theirs.data() as Float32Array;
  return [...a.keys()].filter((i) => a[i] !== b[i]);
}

test('MT19937 reference value: seeded with 5489, the 10000th draw is 4123659995', () => {
  const generator = new TorchCpuGenerator(5489);
  let draw = 0;
  for (let i = 0; i < 10000; i++) draw = generator.randomU32();
  assert.equal(draw, 4123659995);
});

test("torch's manual_seed takes the low 32 bits of a 64-bit seed (two's complement)", () => {
  const first = (seed: number | bigint) => new TorchCpuGenerator(seed).randomU32();
  assert.equal(first(2n ** 32n + 7n), first(7));
  assert.equal(first(-1), first(2 ** 32 - 1));
  assert.throws(() => new TorchCpuGenerator(0.5), ValueError);
});

test('uniformFloat32 rounds unit · range + from once, as the fused multiply-add of torch does', () => {
  // With from tiny and positive, unit · 3 lies on a float32 midpoint for about a third of the
  // draws; the one rounding goes up there, where rounding the double sum would tie to even.
  const tiny = 1e-30;
  const values = new TorchCpuGenerator(1).uniformFloat32(new Float32Array(64), tiny, 3);
  const units = new TorchCpuGenerator(1);
  let midpoints = 0;
  for (const value of values) {
    const product = (units.randomU32() & 0xffffff) * 2 ** -24 * 3;
    if (Math.fround(product) !== product) midpoints++;
    assert.equal(value, Math.fround(product + 2 ** -40), `unit · 3 = ${product}`);
  }
  assert.ok(midpoints > 0, 'some draws hit a midpoint');
  assert.throws(() => new TorchCpuGenerator(0).uniformFloat32(new Float32Array(1), 1, 0), /from <= to/);
});

for (const model of MODELS) {
  test(`${model}: a fresh VeRA adapter has HF's vera_A and vera_B, bit for bit`, async () => {
    const c = await peftCase(model, 'vera');
    const { config } = configFromJson(JSON.parse(await readFile(join(c.dir, 'adapter_config.json'), 'utf8')), c.dir);
    const ours = getPeftModel(await baseModel(c), config).adapterStateDict();
    const theirs = (await loadSafetensors(join(c.dir, 'adapter_model.safetensors'))).tensors;
    for (const key of PROJECTIONS) {
      const differing = differingElements(ours.get(key)!, theirs.get(key)!);
      assert.equal(differing.length, 0, `${key}: ${differing.length} of ${theirs.get(key)!.size} elements differ`);
    }
  });
}

test("HF's adapter without its projections (save_projection false) regenerates them and gives HF's logits", async () => {
  const c = await peftCase('llama', 'vera');
  const { inputs } = await loadCase(join(FIXTURES, 'llama'));
  const expected = (await loadSafetensors(join(c.dir, 'expected.safetensors'))).tensors;
  const dir = await mkdtemp(join(tmpdir(), 'peftjs-vera-projections-'));
  try {
    const hfConfig = JSON.parse(await readFile(join(c.dir, 'adapter_config.json'), 'utf8'));
    await writeFile(join(dir, 'adapter_config.json'), JSON.stringify({ ...hfConfig, save_projection: false }));
    const { tensors } = await loadSafetensors(join(c.dir, 'adapter_model.safetensors'));
    for (const key of PROJECTIONS) tensors.delete(key);
    await saveSafetensors(join(dir, 'adapter_model.safetensors'), tensors);
    const peft = await PeftModel.fromPretrained(await baseModel(c), dir);
    peft.eval();
    const diff = logitsDiff(c, logits(peft, modelInputs(inputs)), expected.get('eval_logits')!, inputs);
    assert.ok(diff < 1e-4, `max |logits - HF| = ${diff}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a VeRA adapter saved with saveProjection false holds no projections and reloads to identical logits', async () => {
  const c = await peftCase('llama', 'vera');
  const inputs = modelInputs((await loadCase(join(FIXTURES, 'llama'))).inputs);
  const peft = getPeftModel(await baseModel(c), {
    peftType: 'VERA', targetModules: ['q_proj', 'v_proj', 'down_proj'], r: 4, projectionPrngKey: 1234, saveProjection: false, initWeights: false,
  });
  noGrad(() => {
    for (const p of peft.parameters()) if (p.requiresGrad) p.copy_(p.add(randn(p.shape, { std: 0.05 })));
  });
  peft.eval();
  const adapted = logits(peft, inputs);
  const dir = await mkdtemp(join(tmpdir(), 'peftjs-vera-projections-'));
  try {
    await peft.savePretrained(dir);
    const saved = (await loadSafetensors(join(dir, 'adapter_model.safetensors'))).tensors;
    assert.ok([...saved.keys()].every((k) => !k.includes('vera_A') && !k.includes('vera_B')), 'no projections in the file');
    const loaded = await PeftModel.fromPretrained(await baseModel(c), dir);
    loaded.eval();
    assert.equal(maxAbsDiff(logits(loaded, inputs), adapted), 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
