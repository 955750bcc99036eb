// The training queue (peft submit / worker over BullMQ and a Redis of its own on loopback), on
// small jobs: the GPT-2 test fixture's LoRA recipe, 4 steps each.
//   - throughput: --jobs jobs over 2 workers (1 thread each), from the first submission to the
//     last completion, with --concurrency 4 (jobs on one base trained together) and 1 (one at a
//     time), in alternating rounds; jobs per minute, and the workers' CPU seconds per job (their
//     training processes included).
//   - recovery: a worker SIGKILLed while it trains a job: seconds until the other worker takes the
//     job (retaken) and until the job's first step after its checkpoint (resumed), per lock duration
//     (a dead worker's jobs go back to the queue once their locks expire: the figure is about
//     --lock-duration plus BullMQ's stalled check).
// Usage: node --import tsx bench/queue.ts [--jobs 20 (0: no throughput runs)] [--rounds 1] [--lock 2000,10000]
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listJobs } from '../src/queue/jobs.js';
import { submitRecipe } from '../src/queue/submit.js';
import { parseOverride } from '../src/cli/recipe/load.js';
import { startRedis, type TestRedis } from '../test/queue/redis.js';
import { arg, emit, round } from './lib/report.js';

const ROOT = join(import.meta.dirname, '..');
const RECIPE = join(ROOT, 'test/fixtures/data/recipes/gpt2-lora.yaml');
const jobCount = Number(arg('jobs') ?? 20);
const rounds = Number(arg('rounds') ?? 1);
const locks = (arg('lock') ?? '2000,10000').split(',').map(Number);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface WorkerProcess {
  child: ChildProcess;
  events(): Record<string, unknown>[];
  /** CPU seconds of the worker and its finished training processes (Linux /proc). */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

function startWorker(url: string, args: string[]): WorkerProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), '--json', 'worker', '--queue', url, ...args],
    {
      cwd: ROOT,
      env: { ...process.env, PEFTJS_NUM_THREADS: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return {
    child,
    events: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    cpuSeconds: () => {
      // Fields 14-17 of /proc/<pid>/stat: utime, stime, cutime, cstime in clock ticks (100 per second).
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return fields.slice(11, 15).reduce((s, f) => s + Number(f), 0) / 100;
    },
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function submit(url: string, output: string, set: string[]): Promise<string> {
  const overrides = [['output', output] as [string, unknown], ...set.map(parseOverride)];
  return (await submitRecipe(url, RECIPE, { overrides, overwrite: false })).id;
}

async function waitFor(check: () => boolean | Promise<boolean>, seconds: number, what: string): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function throughput(redis: TestRedis, concurrency: number, dir: string): Promise<void> {
  const workers = [0, 1].map(() => startWorker(redis.url, ['--concurrency', String(concurrency)]));
  await waitFor(() => workers.every((w) => w.events().some((e) => e.event === 'worker_ready')), 60, 'the workers');
  const started = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < jobCount; i++)
    ids.push(
      await submit(redis.url, join(dir, `c${concurrency}-${i}`), [`training.seed=${i}`, 'training.max_steps=4']),
    );
  await waitFor(
    async () =>
      (await listJobs(redis.url)).filter((r) => ids.includes(r.id) && r.state === 'completed').length === jobCount,
    600,
    'the jobs',
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = workers.reduce((s, w) => s + w.cpuSeconds(), 0);
  await Promise.all(workers.map((w) => w.stop()));
  emit('queue-throughput', {
    jobs: jobCount,
    workers: 2,
    concurrency,
    steps: 4,
    seconds: round(seconds),
    jobsPerMinute: round((60 * jobCount) / seconds),
    cpuSecondsPerJob: round(cpu / jobCount),
  });
}

async function recovery(redis: TestRedis, lock: number, dir: string): Promise<void> {
  const output = join(dir, `recover-${lock}`);
  const id = await submit(redis.url, output, ['training.max_steps=200', 'training.save_steps=2']);
  const args = ['--lock-duration', String(lock), '--step-delay', '100'];
  const doomed = startWorker(redis.url, args);
  await waitFor(() => existsSync(join(output, 'checkpoint-2')), 120, 'a checkpoint');
  const other = startWorker(redis.url, args);
  await waitFor(() => other.events().some((e) => e.event === 'worker_ready'), 60, 'the second worker');
  doomed.child.kill('SIGKILL');
  const killed = performance.now();
  let retaken = NaN;
  const metrics = join(output, 'metrics.jsonl');
  await waitFor(
    () => {
      if (Number.isNaN(retaken) && other.events().some((e) => e.event === 'job_started' && e.id === id))
        retaken = performance.now();
      // Resumed: the resumed run rewrites metrics.jsonl from its checkpoint's history, then logs each step.
      return !Number.isNaN(retaken) && statSync(metrics).mtimeMs > performance.timeOrigin + retaken;
    },
    120,
    'the resumption',
  );
  const resumed = performance.now();
  await other.stop();
  emit('queue-recovery', {
    lockDurationMs: lock,
    retakenSeconds: round((retaken - killed) / 1000),
    resumedSeconds: round((resumed - killed) / 1000),
  });
}

const redis = await startRedis();
const dir = mkdtempSync(join(tmpdir(), 'peftjs-bench-queue-'));
try {
  for (let r = 0; r < (jobCount > 0 ? rounds : 0); r++)
    for (const concurrency of r % 2 === 0 ? [4, 1] : [1, 4]) await throughput(redis, concurrency, dir);
  for (const lock of locks) await recovery(redis, lock, dir);
} finally {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
