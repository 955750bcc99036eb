// Data-parallel scaling: a LoRA r = 16 run (c_attn, c_proj, c_fc) on a GPT-2 124M-shaped model
// (random weights, float32) trained by the Trainer with the same global batch (default 2 x 128
// tokens) on 1 rank x 1 thread and on 2 ranks x 1 thread (mpirun, loopback, DataParallel: each rank
// 1 x 128). Seconds per optimizer step (the steps after the first), efficiency = (1-rank step /
// 2-rank step) / 2 (target >= 0.85), the all-reduce's milliseconds per step and its share of the
// step, and CPU seconds per step and rank. The two configurations alternate, --rounds times.
// Usage: node --import tsx bench/data-parallel.ts [--batch 2] [--seq 128] [--steps 4] [--rounds 2]
//        (ranks: --worker)
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GPT2LMHeadModel, Generator, getPeftModel, native, withGenerator } from '../src/index.js';
import {
  DataParallel,
  ExampleDataset,
  Trainer,
  lossItemCounter,
  openCommunicator,
  rankShards,
  type Batch,
  type Example,
  type IndexedBatches,
} from '../src/train/index.js';
import { arg, emit, hasFlag, round } from './lib/report.js';
import { gpt2SmallConfig } from './lib/models.js';

const batch = Number(arg('batch') ?? 2);
const seq = Number(arg('seq') ?? 128);
const steps = Number(arg('steps') ?? 4);
const rounds = Number(arg('rounds') ?? 2);

const cpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

async function worker(): Promise<void> {
  native.setNumThreads(1);
  const comm = openCommunicator();
  let reduceMs = 0;
  const allReduceSum = comm.allReduceSum.bind(comm);
  comm.allReduceSum = async (buffer) => {
    const t = performance.now();
    await allReduceSum(buffer);
    reduceMs += performance.now() - t;
  };
  const model = withGenerator(new Generator(0), () => new GPT2LMHeadModel(gpt2SmallConfig()));
  const peft = getPeftModel(model, {
    peftType: 'LORA',
    r: 16,
    loraAlpha: 32,
    targetModules: ['c_attn', 'c_proj', 'c_fc'],
    taskType: 'CAUSAL_LM',
  });
  // The same tokens in every process (a fixed linear congruential stream).
  let state = 1;
  const token = () => (state = (state * 1103515245 + 12345) % 2 ** 31) % 50257;
  const examples: Example[] = Array.from({ length: batch * steps }, () => {
    const ids = Array.from({ length: seq }, token);
    return { inputIds: ids, labels: ids };
  });
  const data = new ExampleDataset(examples, { padTokenId: 0 });
  const parallel = comm.size > 1 ? new DataParallel(comm) : undefined;
  const marks: [number, number, number][] = [];
  const mark = () => void marks.push([performance.now(), cpuSeconds(), reduceMs]);
  const trainer = new Trainer({
    model: peft,
    trainDataset: parallel
      ? rankShards(data, {
          batchSize: batch / comm.size,
          rank: comm.rank,
          size: comm.size,
          countItems: lossItemCounter(peft),
        })
      : (data.batches(batch) as IndexedBatches<Batch>),
    args: { maxSteps: steps, lr: 1e-4, shuffle: false, loggingSteps: steps },
    callbacks: [{ onTrainBegin: mark, onStep: mark }],
    dataParallel: parallel,
  });
  await trainer.train();
  const [first, last] = [marks[1]!, marks.at(-1)!];
  const timed = marks.length - 2;
  if (comm.rank === 0) {
    process.stdout.write(
      JSON.stringify({
        seconds: (last[0] - first[0]) / 1e3 / timed,
        cpuSeconds: (last[1] - first[1]) / timed,
        reduceMs: (last[2] - first[2]) / timed,
      }) + '\n',
    );
  }
  comm.close();
}

function run(np: number): { seconds: number; cpuSeconds: number; reduceMs: number } {
  const self = fileURLToPath(import.meta.url);
  const node = [process.execPath, '--import', 'tsx', self, '--worker', ...process.argv.slice(2)];
  const env = {
    ...process.env,
    OMPI_ALLOW_RUN_AS_ROOT: '1',
    OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1',
    OMPI_MCA_btl_tcp_if_include: 'lo',
    OMPI_MCA_oob_tcp_if_include: 'lo',
  };
  const [cmd, ...args] =
    np === 1 ? node : ['mpirun', '--oversubscribe', '--bind-to', 'none', '-np', String(np), ...node];
  const out = spawnSync(cmd!, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (out.status !== 0) throw new Error(`${np} rank(s) failed with exit code ${out.status}`);
  return JSON.parse(out.stdout.trim().split('\n').at(-1)!) as { seconds: number; cpuSeconds: number; reduceMs: number };
}

if (hasFlag('worker')) await worker();
else {
  for (let round_ = 0; round_ < rounds; round_++) {
    const order = round_ % 2 === 0 ? [1, 2] : [2, 1];
    const got = new Map(order.map((np) => [np, run(np)] as const));
    const [one, two] = [got.get(1)!, got.get(2)!];
    emit('data_parallel', {
      model: 'gpt2-124M',
      globalBatch: `${batch}x${seq}`,
      round: round_,
      oneRankSeconds: round(one.seconds),
      twoRankSeconds: round(two.seconds),
      efficiency: round(one.seconds / two.seconds / 2, 3),
      allReduceMs: round(two.reduceMs),
      allReduceShare: round(two.reduceMs / 1e3 / two.seconds, 3),
      oneRankCpuSeconds: round(one.cpuSeconds),
      twoRankCpuSecondsPerRank: round(two.cpuSeconds),
    });
  }
}
