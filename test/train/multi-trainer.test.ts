// MultiTrainer: jobs of five kinds (LoRA r=8 and r=64, IA3, prompt tuning, Houlsby adapters) trained
// together on one GPT-2 base end with the adapters each job trained alone gives; jobs of different
// lengths, batch shapes, schedules, accumulation and clipping; a failing job stops alone (each job's
// end is reported as it happens); bad jobs
// are refused before anything runs, naming them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  AutoModelForCausalLM, GPT2LMHeadModel, MultiAdapterModel, forwardAdapters, full, getPeftModel, manualSeed, noGrad, parseGPT2Config, tensor, type ConfigInput, type PretrainedModel,
} from '../../src/index.js';
import { MultiTrainer, NonFiniteLossError, Trainer, type Batch, type JobSpec, type TrainingArguments } from '../../src/train/index.js';
import { FIXTURES } from '../helpers/parity.js';
import { tokenBatches } from './helpers.js';

const gpt2 = () => AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'gpt2')) as Promise<PretrainedModel>;

interface Case {
  name: string;
  config: ConfigInput;
  data: Batch[];
  args: TrainingArguments;
}

const common: TrainingArguments = { loggingSteps: 1 };

/** Five jobs: different methods, ranks, batch shapes (2x12 .. 3x16, prompt rows 4 + 8), lengths, schedules. */
function cases(): Case[] {
  return [
    {
      name: 'lora8',
      config: { peftType: 'LORA', r: 8, loraAlpha: 16, loraDropout: 0.1, initLoraWeights: 'gaussian' },
      data: tokenBatches(4, 2, 12, 1),
      args: { ...common, lr: 1e-2, maxSteps: 3, gradientAccumulationSteps: 2, warmupSteps: 1, maxGradNorm: 0.5, seed: 1 },
    },
    {
      name: 'lora64',
      config: { peftType: 'LORA', r: 64, loraAlpha: 64, loraDropout: 0.05, targetModules: ['c_attn', 'c_proj', 'c_fc'], initLoraWeights: 'gaussian' },
      data: tokenBatches(3, 3, 16, 2),
      args: { ...common, lr: 5e-3, epochs: 2, lrScheduler: 'cosine', weightDecay: 0.01, seed: 2 },
    },
    {
      name: 'ia3',
      config: { peftType: 'IA3', initIa3Weights: false },
      data: tokenBatches(5, 1, 12, 3),
      args: { ...common, lr: 2e-2, maxSteps: 5, lrScheduler: 'constant', optimizer: 'sgd', momentum: 0.9, seed: 3 },
    },
    {
      name: 'prompt',
      config: { peftType: 'PROMPT_TUNING', numVirtualTokens: 4 },
      data: tokenBatches(3, 2, 8, 4),
      args: { ...common, lr: 3e-2, maxSteps: 4, seed: 4 },
    },
    {
      name: 'houlsby',
      config: { peftType: 'BOTTLENECK', adapterType: 'houlsby', reductionFactor: 4 },
      data: tokenBatches(2, 2, 10, 5),
      args: { ...common, lr: 1e-2, maxSteps: 2, seed: 5 },
    },
  ];
}

function values(tensors: Map<string, { toFlatArray(): number[] }>): Record<string, number[]> {
  return Object.fromEntries([...tensors].map(([k, t]) => [k, t.toFlatArray()]));
}

/** max |a - b| / max |b| over one adapter's tensors (the names must match). */
function relativeDifference(a: Record<string, number[]>, b: Record<string, number[]>): number {
  assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
  let diff = 0;
  let scale = 0;
  for (const key of Object.keys(b)) {
    b[key]!.forEach((v, i) => {
      diff = Math.max(diff, Math.abs(v - a[key]![i]!));
      scale = Math.max(scale, Math.abs(v));
    });
  }
  return diff / scale;
}

async function alone(c: Case): Promise<{ trained: Record<string, number[]>; initial: Record<string, number[]> }> {
  manualSeed(c.args.seed!);
  const peft = getPeftModel(await gpt2(), { taskType: 'CAUSAL_LM', ...c.config } as ConfigInput);
  const initial = values(peft.adapterStateDict());
  await new Trainer({ model: peft, trainDataset: c.data, args: c.args }).train();
  return { trained: values(peft.adapterStateDict()), initial };
}

const spec = (c: Case): JobSpec => ({ name: c.name, config: c.config, trainDataset: c.data, args: c.args });

test('five jobs of four families trained together end where each alone ends (max relative difference <= 1e-5)', async () => {
  const all = cases();
  const multi = new MultiAdapterModel(await gpt2());
  const steps = new Map<string, number[]>();
  const trainer = new MultiTrainer({
    model: multi,
    jobs: all.map((c) => ({ ...spec(c), callbacks: [{ onStep: (s) => void (steps.get(c.name) ?? steps.set(c.name, []).get(c.name)!).push(s.globalStep) }] })),
  });
  const results = await trainer.train();
  for (const c of all) {
    const { trained, initial } = await alone(c);
    const together = values(multi.adapterStateDict(c.name));
    assert.equal(results.get(c.name)!.status, 'done');
    assert.ok(relativeDifference(trained, initial) > 1e-3, `${c.name}: training changed the adapter`);
    const diff = relativeDifference(together, trained);
    if (process.env.MULTI_DIFF) console.log(c.name, diff);
    assert.ok(diff <= 1e-5, `${c.name}: together vs alone, max relative difference ${diff}`);
  }
  // Jobs of different lengths: each took its own number of steps.
  assert.deepEqual(Object.fromEntries([...steps].map(([k, v]) => [k, v.length])), { lora8: 3, lora64: 6, ia3: 5, prompt: 4, houlsby: 2 });
});

test('with gradient checkpointing of the shared base, each layer is recomputed in backward and the jobs still end where each alone ends', async () => {
  const all = cases().filter((c) => c.name !== 'houlsby'); // LoRA with dropout, IA3, prompt tuning
  const model = await gpt2();
  const multi = new MultiAdapterModel(model);
  // Counts the first layer's attention forwards: a checkpointed layer runs it again in backward.
  const attention = (model as unknown as { transformer: { h: { attn: { forward: (...a: unknown[]) => unknown } }[] } }).transformer.h[0]!.attn;
  const forward = attention.forward.bind(attention);
  let calls = 0;
  attention.forward = (...a: unknown[]) => (calls++, forward(...a));
  const results = await new MultiTrainer({ model: multi, jobs: all.map(spec), gradientCheckpointing: true }).train();
  // The longest job (lora64) takes 6 joint steps; each runs the layer twice.
  assert.equal(calls, 12);
  for (const c of all) {
    assert.equal(results.get(c.name)!.status, 'done');
    const diff = relativeDifference(values(multi.adapterStateDict(c.name)), (await alone(c)).trained);
    assert.ok(diff <= 1e-5, `${c.name}: together (checkpointed) vs alone, max relative difference ${diff}`);
  }
});

test('a joint forward runs the LM head once per job on its own rows, never over the whole joint batch', async () => {
  const multi = new MultiAdapterModel(await gpt2());
  multi.addAdapter('lora', { peftType: 'LORA', r: 2 });
  multi.addAdapter('prompt', { peftType: 'PROMPT_TUNING', numVirtualTokens: 3 });
  const head = multi.head;
  const forward = head.forward.bind(head);
  const shapes: number[][] = [];
  head.forward = (hidden) => (shapes.push([...hidden.shape]), forward(hidden));
  const [lora, prompt] = [tokenBatches(1, 2, 6, 1)[0]!, tokenBatches(1, 1, 5, 2)[0]!];
  const outputs = noGrad(() => forwardAdapters(multi, [{ adapter: 'lora', batch: lora }, { adapter: 'prompt', batch: prompt }]));
  // Each job's rows and own positions (prompt tuning's 3 virtual tokens first); no logits for the padded joint batch.
  assert.deepEqual(shapes.map((s) => s.slice(0, 2)), [[2, 6], [1, 8]]);
  assert.deepEqual(outputs.map((o) => o.logits.shape.slice(0, 2)), [[2, 6], [1, 8]]);
});

test('a job whose loss turns NaN stops alone with its message; the others finish', async () => {
  const [lora, , ia3] = cases();
  const multi = new MultiAdapterModel(await gpt2());
  // After its first step the job's weights turn NaN, so its second loss is NaN.
  const poison = () => noGrad(() => multi.adapterParameters('nan').forEach(([, p]) => p.copy_(full(p.shape, NaN))));
  const nanJob: JobSpec = { name: 'nan', config: { peftType: 'LORA', r: 2 }, trainDataset: tokenBatches(3, 1, 12, 9), args: { maxSteps: 3 }, callbacks: [{ onStep: poison }] };
  // A row of token ids outside the vocabulary makes the model refuse that job's batch: the job fails, the others run on.
  const badRows: Batch[] = [{ inputIds: tensor([[1, 2, 999]], [1, 3], 'int64'), labels: tensor([[1, 2, 999]], [1, 3], 'int64') }];
  const trainer = new MultiTrainer({
    model: multi,
    jobs: [spec(lora!), spec(ia3!), nanJob, { name: 'bad', config: { peftType: 'IA3' }, trainDataset: badRows, args: { maxSteps: 2 } }],
  });
  // onJobEnd: each job once, as soon as it ends, while the longer ones still train.
  const ended: string[] = [];
  const results = await trainer.train({
    onJobEnd: (name, result) => {
      const running = [...trainer.statuses()].filter(([, s]) => s === 'running').map(([n]) => n);
      ended.push(`${name} ${result.status} (running: ${running.join(' ')})`);
    },
  });
  assert.deepEqual(ended, [
    'bad failed (running: lora8 ia3 nan)',
    'nan failed (running: lora8 ia3)',
    'ia3 done (running: lora8)',
    'lora8 done (running: )',
  ]);
  assert.equal(results.get('lora8')!.status, 'done');
  assert.equal(results.get('ia3')!.status, 'done');
  assert.equal(results.get('nan')!.status, 'failed');
  assert.ok(results.get('nan')!.error instanceof NonFiniteLossError, String(results.get('nan')!.error));
  assert.equal(results.get('bad')!.status, 'failed');
  assert.match(results.get('bad')!.error!.message, /999|vocab|index|range/i);
  const { trained } = await alone(lora!);
  assert.ok(relativeDifference(values(multi.adapterStateDict('lora8')), trained) <= 1e-5);
});

test('jobs that cannot share the base are refused before anything runs, naming them', async () => {
  const multi = new MultiAdapterModel(await gpt2());
  const data = tokenBatches(1, 1);
  const refused = (jobs: JobSpec[], pattern: RegExp) => assert.throws(() => new MultiTrainer({ model: multi, jobs }), pattern);
  refused([{ name: 'a', config: { peftType: 'LORA', bias: 'all' }, trainDataset: data }], /job|adapter 'a'.*bias/);
  refused([{ name: 'b', config: { peftType: 'PREFIX_TUNING', numVirtualTokens: 2 }, trainDataset: data }], /adapter 'b'.*keys and values/);
  refused([{ name: 'c', config: { peftType: 'ADALORA', totalStep: 10 }, trainDataset: data }], /adapter 'c'.*state/);
  refused([{ name: 'd', config: { peftType: 'LORA' }, trainDataset: data, args: { frozenDtype: 'bfloat16' } }], /job 'd'.*frozenDtype/);
  refused(
    [
      { name: 'e', config: { peftType: 'LORA' }, trainDataset: data, args: { outputDir: '/tmp/x' } },
      { name: 'f', config: { peftType: 'IA3' }, trainDataset: data, args: { outputDir: '/tmp/x' } },
    ],
    /job 'f'.*job 'e'/,
  );
  refused([{ name: 'g', config: { peftType: 'LORA' }, trainDataset: data }, { name: 'g', config: { peftType: 'IA3' }, trainDataset: data }], /'g' appear/);
  assert.deepEqual(multi.adapterNames, [], 'nothing was added');
});

test('a base whose own dropout is active is refused before anything runs, naming where (jobs would not end where they end alone)', () => {
  const base = new GPT2LMHeadModel(parseGPT2Config({ model_type: 'gpt2', n_embd: 16, n_layer: 1, n_head: 2, vocab_size: 40, n_positions: 16, resid_pdrop: 0.1, embd_pdrop: 0, attn_pdrop: 0 }));
  const multi = new MultiAdapterModel(base);
  assert.throws(
    () => new MultiTrainer({ model: multi, jobs: [{ name: 'a', config: { peftType: 'LORA', loraDropout: 0.1 }, trainDataset: tokenBatches(1, 1) }] }),
    /transformer\.h\.0\.attn\.resid_dropout p = 0\.1.*resid_pdrop/,
  );
  assert.deepEqual(multi.adapterNames, [], 'nothing was added');
});
