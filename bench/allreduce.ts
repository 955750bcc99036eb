// All-reduce of a LoRA r = 16 gradient of a Llama-3.2-1B shape on q/k/v/o (16 layers:
// q 16x2048 + 2048x16, k and v 16x2048 + 512x16, o 16x2048 + 2048x16: 3,407,872 float32, 13.6 MB)
// between 2 ranks on loopback through MpiCommunicator (the addon's communication thread), as
// DataParallel sends it: one flat buffer. Milliseconds (median and fastest of the timed runs) and
// CPU milliseconds per rank (every thread of the process); with --llama-step, rank 0 then times one
// LoRA training step of that model (bf16 base, batch 1 x 128, every rank idle meanwhile) and gives
// the all-reduce as a share of it.
// Usage: node --import tsx bench/allreduce.ts [--np 2] [--runs 15] [--llama-step]
//        (runs itself under mpirun; the ranks are `--worker`)
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Generator, LlamaForCausalLM, getPeftModel, native, withGenerator } from '../src/index.js';
import { MpiCommunicator } from '../src/train/distributed/index.js';
import { lmTrainStep } from './lib/train-step.js';
import { arg, emit, hasFlag, round } from './lib/report.js';
import { llama1bConfig } from './lib/models.js';
import { time } from './lib/timing.js';

const LAYERS = 16;
const PER_LAYER = 16 * 2048 + 2048 * 16 + 2 * (16 * 2048 + 512 * 16) + 16 * 2048 + 2048 * 16;
const runs = Number(arg('runs') ?? 15);

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e3;
};

async function worker(): Promise<void> {
  const comm = new MpiCommunicator();
  const grad = new Float32Array(LAYERS * PER_LAYER).fill(1e-3);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs + 3; i++) {
    await comm.barrier();
    const [t, c] = [performance.now(), cpuMs()];
    await comm.allReduceSum(grad);
    if (i < 3) continue; // warm-up: connections and page faults
    wall.push(performance.now() - t);
    cpu.push(cpuMs() - c);
  }
  wall.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const median = wall[wall.length >> 1]!;
  const fields: Record<string, unknown> = {
    ranks: comm.size,
    floats: grad.length,
    mb: round((grad.length * 4) / 1e6),
    ms: round(median),
    minMs: round(wall[0]!),
    cpuMsPerRank: round(cpu[cpu.length >> 1]!),
    gbPerSecond: round((grad.length * 4) / (median / 1e3) / 1e9),
    mpi: comm.library.replace(/\0/g, ''),
  };
  if (hasFlag('llama-step') && comm.rank === 0) {
    native.setNumThreads(Number(arg('threads') ?? 2));
    const model = withGenerator(new Generator(0), () => new LlamaForCausalLM(llama1bConfig(), 'bfloat16'));
    const peft = getPeftModel(model, {
      peftType: 'LORA',
      r: 16,
      loraAlpha: 32,
      targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
      taskType: 'CAUSAL_LM',
    });
    const { step, trainableParams } = lmTrainStep(peft, 128256, 1, 128);
    if (trainableParams !== grad.length)
      throw new Error(`the adapter has ${trainableParams} parameters, the buffer ${grad.length}`);
    const stepMs = time(step, { warmup: 1, runs: 2 }).median * 1e3;
    Object.assign(fields, { llamaStepMs: round(stepMs), shareOfStep: round(median / (stepMs + median), 3) });
  }
  if (comm.rank === 0) emit('allreduce', fields);
  await comm.barrier();
  comm.close();
}

if (hasFlag('worker')) await worker();
else {
  const env = {
    ...process.env,
    OMPI_ALLOW_RUN_AS_ROOT: '1',
    OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1',
    OMPI_MCA_btl_tcp_if_include: 'lo',
    OMPI_MCA_oob_tcp_if_include: 'lo',
  };
  const self = fileURLToPath(import.meta.url);
  const np = arg('np') ?? '2';
  const run = spawnSync(
    'mpirun',
    [
      '--oversubscribe',
      '--bind-to',
      'none',
      '-np',
      np,
      process.execPath,
      '--import',
      'tsx',
      self,
      '--worker',
      ...process.argv.slice(2),
    ],
    { env, stdio: 'inherit' },
  );
  process.exit(run.status ?? 1);
}
