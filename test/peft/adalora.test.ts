// AdaLoRA: parity with HF PEFT on every architecture that has a fixture (logits, loss with the
// orthogonality regulariser, gradients, eval logits, generation, saved files, merging), and the
// rank allocator (budget schedule, masks, moving averages), the regulariser and a short training.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import {
  AdaLoraLinear, adaloraOrthogonalLoss, budgetAt, parseAdaLoraConfig, rankAllocator, updateAndAllocate, writeAdaLoraConfig, type AdaLoraConfig,
} from '../../src/peft/tuners/adalora/index.js';
import {
  AutoModelForCausalLM, PeftConfigError, PeftModel, getPeftModel, loadSafetensors, manualSeed, memoryStats, noGrad, tidy, type Parameter,
} from '../../src/index.js';
import { FIXTURES, loadCase, maxAbsDiff, modelInputs } from '../helpers/parity.js';
import { baseModel, parityTests, peftCase } from '../helpers/peft-parity.js';


parityTests(['adalora']);

const llamaDir = join(FIXTURES, 'llama');

/** The llama fixture's schedule: 4 modules of init_r 6 (24 triplets), target_r 4 (16). */
const OPTIONS = {
  peftType: 'ADALORA',
  initR: 6,
  targetR: 4,
  tinit: 2,
  tfinal: 2,
  totalStep: 20,
  deltaT: 1,
  loraAlpha: 8,
  targetModules: ['q_proj', 'v_proj'],
};

async function freshAdapter(options: Record<string, unknown> = {}): Promise<PeftModel> {
  manualSeed(0);
  return getPeftModel(await AutoModelForCausalLM.fromPretrained(llamaDir), { ...OPTIONS, ...options });
}

async function fixtureAdapter(): Promise<PeftModel> {
  const c = await peftCase('llama', 'adalora');
  const peft = await PeftModel.fromPretrained(await baseModel(c), c.dir, { isTrainable: true });
  peft.train();
  return peft;
}

const llamaBatch = loadCase(llamaDir);

/** One forward and backward on the fixture batch; returns the loss. */
async function backward(peft: PeftModel): Promise<number> {
  const { inputs } = await llamaBatch;
  return tidy(() => {
    const loss = peft.forward(modelInputs(inputs)).loss!;
    loss.backward();
    return loss.item();
  });
}

function trainable(peft: PeftModel): [string, Parameter][] {
  return peft.namedParameters().filter(([, p]) => p.requiresGrad) as [string, Parameter][];
}

function sgdStep(peft: PeftModel, lr: number): void {
  tidy(() =>
    noGrad(() => {
      for (const [, p] of trainable(peft)) p.copy_(p.sub(p.grad!.mul(lr)));
    }),
  );
}

function zeroGrad(peft: PeftModel): void {
  for (const [, p] of trainable(peft)) {
    p.grad?.dispose();
    p.grad = null;
  }
}

const close = (a: number, b: number, tol = 1e-5) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

test('budget schedule: warm-up, cubic decrease, final budget, with the hand-computed values', async () => {
  const schedule = { tinit: 2, tfinal: 2, totalStep: 20, deltaT: 1 };
  assert.deepEqual(budgetAt(0, 24, 16, schedule), { budget: 24, mask: false });
  assert.deepEqual(budgetAt(2, 24, 16, schedule), { budget: 24, mask: false });
  // step 3: (24 − 16)·(1 − 1/16)³ + 16 = 22.59...; step 9: 8·(9/16)³ + 16 = 17.42...
  assert.deepEqual(budgetAt(3, 24, 16, schedule), { budget: 22, mask: true });
  assert.deepEqual(budgetAt(9, 24, 16, schedule), { budget: 17, mask: true });
  assert.deepEqual(budgetAt(18, 24, 16, schedule), { budget: 16, mask: true });
  assert.deepEqual(budgetAt(19, 24, 16, schedule), { budget: 16, mask: true });
  assert.deepEqual(budgetAt(25, 24, 16, schedule), { budget: 16, mask: true });
  // deltaT 3: only every third step of the budgeting phase masks.
  assert.deepEqual(budgetAt(10, 24, 16, { ...schedule, deltaT: 3 }), { budget: 17, mask: false });
  assert.equal(budgetAt(9, 24, 16, { ...schedule, deltaT: 3 }).mask, true);

  const allocator = rankAllocator(await fixtureAdapter());
  assert.equal(allocator.initBudget, 24);
  assert.equal(allocator.targetBudget, 16);
});

test('the importance averages after two steps equal the hand computation', async () => {
  const peft = await fixtureAdapter();
  const path = 'model.layers.0.self_attn.q_proj.lora_A.default';
  const p = new Map(trainable(peft)).get(`base_model.model.${path}`)!;
  const samples: number[][] = [];
  for (const step of [0, 1]) {
    await backward(peft);
    samples.push(p.toFlatArray().map((w, i) => Math.abs(w * p.grad!.toFlatArray()[i]!)));
    updateAndAllocate(peft, step); // steps <= tinit only update the averages
    sgdStep(peft, 0.1);
    zeroGrad(peft);
  }
  const [beta1, beta2] = [0.85, 0.85];
  const expected = samples[0]!.map((ipt1, i) => {
    const ipt2 = samples[1]![i]!;
    const s1 = (1 - beta1) * ipt1;
    const u1 = (1 - beta2) * Math.abs(ipt1 - s1);
    const s2 = beta1 * s1 + (1 - beta1) * ipt2;
    return { s2, u2: beta2 * u1 + (1 - beta2) * Math.abs(ipt2 - s2) };
  });
  const averages = rankAllocator(peft).averagesOf(path)!;
  const sensitivity = averages.sensitivity.toFlatArray();
  const uncertainty = averages.uncertainty.toFlatArray();
  expected.forEach(({ s2, u2 }, i) => {
    assert.ok(close(sensitivity[i]!, s2, 1e-5), `sensitivity[${i}] ${sensitivity[i]} vs ${s2}`);
    assert.ok(close(uncertainty[i]!, u2, 1e-5), `uncertainty[${i}] ${uncertainty[i]} vs ${u2}`);
  });
});

test('masking keeps exactly the budgeted triplets, the highest scored, and zeroes the others in E', async () => {
  const peft = await fixtureAdapter();
  await backward(peft);
  const allocator = rankAllocator(peft);
  allocator.updateImportance();
  const scores = allocator.tripletScores();
  const pattern = allocator.maskToBudget(17);
  const kept = Object.values(pattern).flat();
  assert.equal(kept.length, 24);
  assert.equal(kept.filter(Boolean).length, 17);
  const all = [...scores.values()].flat();
  const keptScores = all.filter((_, i) => kept[i]);
  const dropped = all.filter((_, i) => !kept[i]);
  assert.ok(Math.min(...keptScores) > Math.max(...dropped), 'every kept triplet outscores every dropped one');
  for (const [path, layer] of peft.base_model.tunerLayers()) {
    const e = (layer as AdaLoraLinear).lora_E.get('default')!.toFlatArray();
    pattern[`${path}.lora_E`]!.forEach((keep, i) => {
      if (!keep) assert.equal(e[i], 0, `${path} triplet ${i} is masked`);
      else assert.notEqual(e[i], 0);
    });
  }
});

test('the orthogonality regulariser equals its direct computation and is part of the loss', async () => {
  const peft = await fixtureAdapter();
  // orth_reg_weight · mean over the A and B matrices of ‖AAᵀ − I‖_F and ‖BᵀB − I‖_F.
  const frobeniusOfGramMinusI = (values: number[], rows: number, cols: number, byRows: boolean): number => {
    const n = byRows ? rows : cols;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let dot = 0;
        for (let k = 0; k < (byRows ? cols : rows); k++) {
          dot += byRows ? values[i * cols + k]! * values[j * cols + k]! : values[k * cols + i]! * values[k * cols + j]!;
        }
        sum += (dot - (i === j ? 1 : 0)) ** 2;
      }
    }
    return Math.sqrt(sum);
  };
  let total = 0;
  let count = 0;
  for (const [, layer] of peft.base_model.tunerLayers()) {
    const a = (layer as AdaLoraLinear).lora_A.get('default')!;
    const b = (layer as AdaLoraLinear).lora_B.get('default')!;
    total += frobeniusOfGramMinusI(a.toFlatArray(), a.shape[0]!, a.shape[1]!, true);
    total += frobeniusOfGramMinusI(b.toFlatArray(), b.shape[0]!, b.shape[1]!, false);
    count += 2;
  }
  const regulariser = adaloraOrthogonalLoss(peft)!.item();
  assert.ok(close(regulariser, (0.5 * total) / count), `${regulariser} vs ${(0.5 * total) / count}`);

  const { inputs } = await loadCase(llamaDir);
  const withTerm = peft.forward(modelInputs(inputs)).loss!.item();
  const modelOnly = peft.model.forward(modelInputs(inputs)).loss!.item();
  assert.ok(close(withTerm, modelOnly + regulariser), 'PeftModel.forward adds it to the loss (HF\'s fixture loss includes it)');
});

test('training: the loss decreases, the budget ends at target_r per module, and the pruned adapter saves and loads as HF does', async () => {
  const peft = await freshAdapter();
  peft.train();
  const losses: number[] = [];
  const budgets: number[] = [];
  const live: number[] = [];
  for (let step = 0; step < 20; step++) {
    losses.push(await backward(peft));
    sgdStep(peft, 0.05);
    updateAndAllocate(peft, step); // HF's order: backward, optimizer step, update_and_allocate, zero_grad
    zeroGrad(peft);
    if (step === 4 || step === 16) live.push(memoryStats().liveBytes);
    const pattern = (peft.peftConfig.get('default') as AdaLoraConfig).rankPattern;
    budgets.push(pattern === null ? 24 : Object.values(pattern).flat().filter(Boolean).length);
  }
  assert.ok(losses.at(-1)! < losses[0]!, `loss went from ${losses[0]} to ${losses.at(-1)}`);
  assert.equal(live[1], live[0], 'allocation steps leave no tensor behind');
  assert.deepEqual(budgets.slice(0, 3), [24, 24, 24], 'no masking during the warm-up');
  assert.equal(budgets[3], 22);
  assert.deepEqual(budgets.slice(18), [16, 16], 'target_r · 4 modules from total_step − tfinal on');
  const layers = peft.base_model.tunerLayers() as [string, AdaLoraLinear][];
  const nonzero = layers.flatMap(([, l]) => l.lora_E.get('default')!.toFlatArray()).filter((v) => v !== 0).length;
  assert.ok(nonzero <= 16, `${nonzero} singular values are still non-zero`);

  const dir = await mkdtemp(join(tmpdir(), 'peftjs-adalora-'));
  try {
    await peft.savePretrained(dir);
    const saved = await loadSafetensors(join(dir, 'adapter_model.safetensors'));
    const config = JSON.parse(await readFile(join(dir, 'adapter_config.json'), 'utf8'));
    assert.deepEqual(Object.keys(config.rank_pattern).sort(), layers.map(([path]) => `${path}.lora_E`).sort());
    for (const [path] of layers) {
      const rank = config.rank_pattern[`${path}.lora_E`].filter(Boolean).length;
      assert.deepEqual(saved.tensors.get(`base_model.model.${path}.lora_A`)!.shape, [rank, 32]);
      assert.equal(saved.tensors.get(`base_model.model.${path}.lora_B`)!.shape[1], rank);
      assert.deepEqual(saved.tensors.get(`base_model.model.${path}.lora_E`)!.shape, [rank, 1]);
    }
    const { inputs } = await loadCase(llamaDir);
    peft.eval();
    const ours = peft.forward(modelInputs(inputs)).logits;
    const loaded = await PeftModel.fromPretrained(await AutoModelForCausalLM.fromPretrained(llamaDir), dir);
    assert.ok(maxAbsDiff(loaded.forward(modelInputs(inputs)).logits, ours) < 1e-5, 'the pruned adapter reloads to the same outputs');
    await loaded.savePretrained(join(dir, 'again'));
    const again = await loadSafetensors(join(dir, 'again', 'adapter_model.safetensors'));
    for (const [k, t] of saved.tensors) assert.equal(maxAbsDiff(again.tensors.get(k)!, t), 0, `${k} saves back unchanged`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('config: total_step is required, the schedule must leave a budgeting phase, deltaT keeps HF\'s key', async () => {
  assert.throws(() => parseAdaLoraConfig({ peft_type: 'ADALORA' }), (e: unknown) => e instanceof PeftConfigError && /total_step/.test(e.message));
  assert.throws(() => parseAdaLoraConfig({ peft_type: 'ADALORA', total_step: 10, tinit: 5, tfinal: 5 }), PeftConfigError);
  assert.throws(() => parseAdaLoraConfig({ peft_type: 'ADALORA', total_step: 10, use_dora: true }), PeftConfigError);
  assert.throws(() => parseAdaLoraConfig({ peft_type: 'ADALORA', total_step: 10, rank_pattern: { 'a.lora_E': 3 } }), /rank_pattern/);
  const peft = await freshAdapter({ deltaT: 3 });
  const written = writeAdaLoraConfig(peft.peftConfig.get('default') as AdaLoraConfig);
  assert.equal(written.deltaT, 3);
  assert.ok(!('delta_t' in written));
  assert.equal(written.rank_pattern, null);
  assert.deepEqual(peft.trainableParameters(), { trainable: 1368, total: 40444 }, 'ranknum is a frozen parameter, as in HF');
});

test('one AdaLoRA adapter trains at a time (HF\'s rule); a second one is added for inference', async () => {
  const peft = await freshAdapter();
  const before = peft.base_model.tunerLayers().map(([, l]) => l.adapterNames().join());
  assert.throws(() => peft.addAdapter('other', { ...OPTIONS }), (e: unknown) => e instanceof PeftConfigError && /inferenceMode/.test(e.message));
  assert.deepEqual(peft.base_model.tunerLayers().map(([, l]) => l.adapterNames().join()), before, 'the model is unchanged');
  peft.addAdapter('other', { ...OPTIONS, inferenceMode: true });
  assert.deepEqual([...peft.peftConfig.keys()], ['default', 'other']);
});
