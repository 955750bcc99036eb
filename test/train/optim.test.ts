// Optimizers against float64 references of torch's update rules; parameter groups (HF's weight-decay
// exclusions, LoRA+); state dicts that restore every bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AutoModelForCausalLM, Generator, Parameter, getPeftModel, randn, tensor } from '../../src/index.js';
import { AdamW, SGD, parameterGroups, TrainingArgumentError, type Optimizer } from '../../src/train/index.js';
import { FIXTURES } from '../helpers/parity.js';

const SHAPE = [3, 5];
const STEPS = 5;

/** The same parameters and per-step gradients for every optimizer under test. */
function problem(seed: number): { init: number[]; grads: number[][] } {
  const g = new Generator(seed);
  const draw = () => randn(SHAPE, { generator: g }).toFlatArray();
  return { init: draw(), grads: Array.from({ length: STEPS }, draw) };
}

/** Runs `optimizer` over the problem's gradients; returns the parameter after each step. */
function run(make: (p: Parameter) => Optimizer, { init, grads }: ReturnType<typeof problem>): number[][] {
  const p = new Parameter(tensor(init, SHAPE));
  const optimizer = make(p);
  return grads.map((g) => {
    p.grad = tensor(g, SHAPE);
    optimizer.step();
    optimizer.zeroGrad();
    return p.toFlatArray();
  });
}

function assertClose(actual: number[], expected: number[], tol: number, what: string): void {
  const worst = Math.max(...actual.map((a, i) => Math.abs(a - expected[i]!) / Math.max(1, Math.abs(expected[i]!))));
  assert.ok(worst <= tol, `${what}: worst relative error ${worst} > ${tol}`);
}

test('AdamW matches torch.optim.AdamW computed in float64 over several steps', () => {
  const pr = problem(1);
  const [lr, b1, b2, eps, wd] = [0.01, 0.9, 0.999, 1e-8, 0.1];
  const got = run((p) => new AdamW([p], { lr, betas: [b1, b2], eps, weightDecay: wd }), pr);
  const p = [...pr.init];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  pr.grads.forEach((g, s) => {
    const step = s + 1;
    for (let i = 0; i < p.length; i++) {
      p[i]! *= 1 - lr * wd;
      m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
      v[i] = b2 * v[i]! + (1 - b2) * g[i]! ** 2;
      const denom = Math.sqrt(v[i]!) / Math.sqrt(1 - b2 ** step) + eps;
      p[i]! -= (lr / (1 - b1 ** step)) * (m[i]! / denom);
    }
    assertClose(got[s]!, p, 2e-6, `step ${step}`);
  });
});

for (const nesterov of [false, true]) {
  test(`SGD with momentum${nesterov ? ' (Nesterov)' : ''} and weight decay matches torch.optim.SGD in float64`, () => {
    const pr = problem(2);
    const [lr, mu, wd] = [0.05, 0.9, 0.01];
    const got = run((p) => new SGD([p], { lr, momentum: mu, nesterov, weightDecay: wd }), pr);
    const p = [...pr.init];
    let buf: number[] | null = null;
    pr.grads.forEach((g, s) => {
      const d = g.map((gi, i) => gi + wd * p[i]!);
      buf = buf === null ? [...d] : buf.map((b, i) => mu * b + d[i]!);
      const dir = nesterov ? d.map((di, i) => di + mu * buf![i]!) : buf;
      for (let i = 0; i < p.length; i++) p[i]! -= lr * dir[i]!;
      assertClose(got[s]!, p, 2e-6, `step ${s + 1}`);
    });
  });
}

test('optimizers reject bad hyper-parameters, frozen dtypes and shared parameters', () => {
  const p = new Parameter(tensor([1, 2]));
  assert.throws(() => new AdamW([p], { betas: [1, 0.9] }), TrainingArgumentError);
  assert.throws(() => new SGD([p], { nesterov: true }), /Nesterov momentum needs momentum > 0/);
  assert.throws(() => new SGD([{ params: [p] }, { params: [p] }]), /more than one parameter group/);
  assert.throws(() => new AdamW([new Parameter(tensor([1, 2]).to('bfloat16'))]), /bfloat16/);
});

test('stateDict → loadStateDict continues to the same bits as an uninterrupted optimizer', () => {
  const pr = problem(3);
  const whole = run((p) => new AdamW([p], { lr: 0.02 }), pr).at(-1)!;
  const p = new Parameter(tensor(pr.init, SHAPE));
  const first = new AdamW([p], { lr: 0.02 });
  const stepWith = (o: Optimizer, g: number[]) => {
    p.grad = tensor(g, SHAPE);
    o.step();
    o.zeroGrad();
  };
  pr.grads.slice(0, 2).forEach((g) => stepWith(first, g));
  const saved = first.stateDict();
  const second = new AdamW([p], { lr: 0.5 });
  second.loadStateDict(saved);
  assert.equal(second.paramGroups[0]!.lr, 0.02, 'the group hyper-parameters come back too');
  pr.grads.slice(2).forEach((g) => stepWith(second, g));
  assert.deepEqual(p.toFlatArray(), whole);
});

test("parameter groups: no weight decay for biases and LayerNorm weights (HF's rule)", async () => {
  const model = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'gpt2'));
  model.requiresGrad_(true);
  const [decay, noDecay] = parameterGroups(model, { lr: 1e-3, weightDecay: 0.1 });
  assert.equal(decay!.weightDecay, 0.1);
  assert.equal(noDecay!.weightDecay, 0);
  assert.ok(decay!.names.includes('transformer.h.0.attn.c_attn.weight'));
  assert.ok(noDecay!.names.includes('transformer.h.0.attn.c_attn.bias'));
  assert.ok(noDecay!.names.includes('transformer.h.0.ln_1.weight'));
  assert.ok(noDecay!.names.includes('transformer.ln_f.weight'));
  assert.ok(decay!.names.every((n) => !/bias|ln_/.test(n)), decay!.names.join());
  assert.equal(decay!.params.length + noDecay!.params.length, model.parameters().length);
  const llama = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama'));
  llama.requiresGrad_(true);
  const [, llamaNoDecay] = parameterGroups(llama, { lr: 1e-3, weightDecay: 0.1 });
  assert.deepEqual(llamaNoDecay!.names.filter((n) => !/norm/.test(n)), [], 'RMSNorm weights only');
  assert.ok(llamaNoDecay!.names.includes('model.layers.1.post_attention_layernorm.weight'));
});

test('LoRA+: lora_B trains at lr × loraplusLrRatio, lora_A at lr', async () => {
  const peft = getPeftModel(await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama')), {
    peftType: 'LORA', r: 4, targetModules: ['q_proj', 'v_proj'], taskType: 'CAUSAL_LM',
  });
  const groups = parameterGroups(peft, { lr: 2e-4, weightDecay: 0.01, loraplusLrRatio: 16 });
  assert.equal(groups.length, 2);
  const [a, b] = groups as [typeof groups[0], typeof groups[0]];
  assert.ok(a.names.length === 4 && a.names.every((n) => n.includes('lora_A')), a.names.join());
  assert.ok(b.names.length === 4 && b.names.every((n) => n.includes('lora_B')), b.names.join());
  assert.equal(a.lr, 2e-4);
  assert.equal(b.lr, 2e-4 * 16);
  assert.equal(b.weightDecay, 0.01);
  const optimizer = new AdamW(groups);
  assert.deepEqual(optimizer.paramGroups.map((g) => g.lr), [2e-4, 2e-4 * 16]);
  assert.throws(() => parameterGroups(peft, { lr: 1, loraplusLrRatio: 0 }), TrainingArgumentError);
});

