// Data-parallel scaling: a LoRA r = 16 run (c_attn, c_proj, c_fc) on a GPT-2 124M-shaped model
// (random weights, float32) trained by the Trainer with the same global batch (default 2 x 128
// tokens) on 1 rank x 1 thread and on 2 ranks x 1 thread (mpirun, loopback, DataParallel: each rank
// 1 x 128). Efficiency = (1-rank step / 2-rank step) / 2 (target >= 0.85).
//
// Where the rest goes, from the same round (every process 1 thread, seconds per optimizer step
// after the first):
//   one    1 process, the whole batch (the baseline)
//   half   1 process alone, one rank's half of the batch, no MPI
//   pair   2 independent processes at once, each one rank's half, no MPI (started together)
//   mpi    2 ranks under mpirun (DataParallel), as peftjs runs them: a waiting rank yields its core
//          (Open MPI's mpi_yield_when_idle, which MpiCommunicator sets unless the user did)
//   spin   the same with Open MPI's default busy polling (mpi_yield_when_idle=0)
// ceiling = one / (2 pair): the most 2 ranks can reach on this machine with free communication,
// split by split = one / (2 half) (half a batch costs more than half a step) and sharing = half /
// pair (two processes slow each other: the cores' shared cache and memory bandwidth, or other
// users' load); communication = pair / mpi. Each figure also in CPU seconds per step and process
// (process.cpuUsage: every thread), which the machine's other users do not inflate.
// Usage: node --import tsx bench/data-parallel.ts [--batch 2] [--seq 128] [--steps 4] [--rounds 1]
//        [--configs one,half,pair,mpi,spin]   (the processes: --worker)
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
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
const rounds = Number(arg('rounds') ?? 1);
const configs = (arg('configs') ?? 'one,half,pair,mpi,spin').split(',');

interface Timing {
  seconds: number;
  cpuSeconds: number;
  reduceMs: number;
}

const cpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

/** One process's run: --local-batch N trains N examples a step without MPI; else the launcher's ranks. */
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
  const localBatch = Number(arg('local-batch') ?? batch);
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
      : (data.batches(localBatch) as IndexedBatches<Batch>),
    args: { maxSteps: steps, lr: 1e-4, shuffle: false, loggingSteps: steps },
    callbacks: [{ onTrainBegin: mark, onStep: mark }],
    dataParallel: parallel,
  });
  if (hasFlag('wait-go')) {
    // Independent processes start their steps together: ready, then the parent's go on stdin.
    process.stdout.write('ready\n');
    const lines = createInterface({ input: process.stdin });
    await new Promise<void>((go) => lines.once('line', () => go()));
    lines.close();
  }
  await trainer.train();
  const [first, last] = [marks[1]!, marks.at(-1)!];
  const timed = marks.length - 2;
  if (comm.rank === 0) {
    const timing: Timing = {
      seconds: (last[0] - first[0]) / 1e3 / timed,
      cpuSeconds: (last[1] - first[1]) / timed,
      reduceMs: (last[2] - first[2]) / timed,
    };
    process.stdout.write(JSON.stringify(timing) + '\n');
  }
  comm.close();
}

const MPI_ENV = {
  OMPI_ALLOW_RUN_AS_ROOT: '1',
  OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1',
  OMPI_MCA_btl_tcp_if_include: 'lo',
  OMPI_MCA_oob_tcp_if_include: 'lo',
};

/** Starts one process (a worker, or mpirun over workers); resolves with its last stdout line. */
function start(
  command: string[],
  env: Record<string, string>,
  onReady?: () => void,
): { done: Promise<Timing>; go: () => void } {
  const [cmd, ...args] = command;
  const child = spawn(cmd!, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (onReady !== undefined && out.includes('ready\n')) {
      onReady();
      onReady = undefined;
    }
  });
  const done = new Promise<Timing>((resolve, reject) =>
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`${command.join(' ')} failed with exit code ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Timing);
    }),
  );
  return { done, go: () => child.stdin.end('go\n') };
}

const self = fileURLToPath(import.meta.url);
const node = (...extra: string[]) => [process.execPath, '--import', 'tsx', self, '--worker', ...process.argv.slice(2), ...extra];

async function run(config: string): Promise<Timing> {
  const half = String(batch / 2);
  const mpirun = ['mpirun', '--oversubscribe', '--bind-to', 'none', '-np', '2', ...node()];
  switch (config) {
    case 'one':
      return start(node(), {}).done;
    case 'half':
      return start(node('--local-batch', half), {}).done;
    case 'mpi':
      return start(mpirun, MPI_ENV).done;
    case 'spin':
      return start(mpirun, { ...MPI_ENV, OMPI_MCA_mpi_yield_when_idle: '0' }).done;
    case 'pair': {
      let ready = 0;
      const both = [0, 1].map(() => start(node('--local-batch', half, '--wait-go'), {}, () => ++ready === 2 && goAll()));
      const goAll = () => both.forEach((p) => p.go());
      const [a, b] = await Promise.all(both.map((p) => p.done));
      return { seconds: (a!.seconds + b!.seconds) / 2, cpuSeconds: (a!.cpuSeconds + b!.cpuSeconds) / 2, reduceMs: 0 };
    }
    default:
      throw new Error(`unknown configuration '${config}' (one, half, pair, mpi, spin)`);
  }
}

if (hasFlag('worker')) await worker();
else {
  for (let r = 0; r < rounds; r++) {
    // Alternate the order between rounds, so that a drift in the machine's load favours no configuration.
    const order = r % 2 === 0 ? configs : [...configs].reverse();
    const got = new Map<string, Timing>();
    for (const config of order) got.set(config, await run(config));
    const t = (c: string) => got.get(c);
    const ratio = (num: string, den: string, f: (x: Timing) => number, scale = 1) =>
      t(num) && t(den) ? round(f(t(num)!) / f(t(den)!) / scale, 3) : undefined;
    const wall = (x: Timing) => x.seconds;
    const cpu = (x: Timing) => x.cpuSeconds;
    emit('data_parallel', {
      model: 'gpt2-124M',
      globalBatch: `${batch}x${seq}`,
      round: r,
      secondsPerStep: Object.fromEntries([...got].map(([c, x]) => [c, round(x.seconds)])),
      cpuSecondsPerStep: Object.fromEntries([...got].map(([c, x]) => [c, round(x.cpuSeconds)])),
      efficiency: ratio('one', 'mpi', wall, 2),
      efficiencySpin: ratio('one', 'spin', wall, 2),
      ceiling: ratio('one', 'pair', wall, 2),
      split: ratio('one', 'half', wall, 2),
      sharing: ratio('half', 'pair', wall),
      communication: ratio('pair', 'mpi', wall),
      cpuEfficiency: ratio('one', 'mpi', cpu, 2),
      cpuCeiling: ratio('one', 'pair', cpu, 2),
      cpuSplit: ratio('one', 'half', cpu, 2),
      allReduceMs: t('mpi') && round(t('mpi')!.reduceMs),
      allReduceShare: t('mpi') && round(t('mpi')!.reduceMs / 1e3 / t('mpi')!.seconds, 3),
      allReduceMsSpin: t('spin') && round(t('spin')!.reduceMs),
    });
  }
}
