// Workers that go away: a running job cancelled stops at its next step and keeps its checkpoints; a
// worker stopped by SIGTERM hands its running job back to the queue;
// 20 small jobs over 2 workers, one worker SIGKILLed mid-job: its jobs go back to the queue and the
// other worker resumes them from their checkpoints; every job completes once, each adapter the bytes
// of that job trained alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { EXIT } from '../../src/cli/exit-codes.js';
import { Progress } from '../../src/cli/progress.js';
import { loadRecipe } from '../../src/cli/recipe/load.js';
import { trainRecipe } from '../../src/cli/commands/train.js';
import { cancelJob, listJobs } from '../../src/queue/jobs.js';
import { events, finished, peft, RECIPE, start, tempDir } from '../cli/helpers.js';
import { adapterBytes, recipeOverrides, useQueue } from './helpers.js';

const queue = useQueue();
const { submit, until } = queue;

interface WorkerRun {
  child: ChildProcess;
  done: ReturnType<typeof finished>;
  /** The worker's events so far. */
  log(): Record<string, unknown>[];
}

function worker(stepDelay: number): WorkerRun {
  const child = start([
    '--json',
    'worker',
    '--queue',
    queue.url,
    '--lock-duration',
    '1500',
    '--step-delay',
    String(stepDelay),
  ]);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return { child, done: finished(child), log: () => events(out) };
}

test('queue: a running job cancelled stops at its next step, keeps its checkpoints and is listed cancelled', async () => {
  const dir = tempDir();
  // Far more steps than it gets to: the cancellation (a `peft jobs` process) must find it running, however loaded the machine.
  const id = await submit(join(dir, 'long'), 'training.max_steps=400', 'training.save_steps=2');
  const w = worker(150);
  await until((rows) => (rows.find((r) => r.id === id)?.step ?? 0) >= 3, 60);
  const cancel = await peft('jobs', 'cancel', id, '--queue', queue.url);
  assert.equal(cancel.code, EXIT.OK, cancel.stderr);
  assert.match(cancel.stdout, new RegExp(`job ${id}: stops at its next step`));
  const row = (await until((rows) => rows.find((r) => r.id === id)?.state === 'cancelled', 30)).find(
    (r) => r.id === id,
  )!;
  // A worker stopped with SIGTERM hands its running job back to the queue at once.
  const next = await submit(join(dir, 'next'), 'training.max_steps=40', 'training.save_steps=2');
  await until((rows) => (rows.find((r) => r.id === next)?.step ?? 0) >= 2, 60);
  w.child.kill('SIGTERM');
  const stopped = await w.done;
  assert.equal(stopped.code, EXIT.OK, stopped.stderr);
  const back = (await listJobs(queue.url)).find((r) => r.id === next)!;
  assert.equal(back.state, 'waiting');
  assert.equal(back.stalled, 0, 'returned, not stalled');
  assert.ok(events(stopped.stdout).some((e) => e.event === 'job_returned' && String(e.id) === next));
  const step = Number(/cancelled at step (\d+)/.exec(row.reason!)![1]);
  assert.ok(step >= 3 && step < 400, `stopped at step ${step}`);
  assert.ok(existsSync(join(dir, 'long', 'checkpoint-2')), 'its checkpoints are kept');
  assert.ok(!existsSync(join(dir, 'long', 'queue-done.json')), 'it is not recorded as done');
  const listed = await peft('jobs', '--queue', queue.url);
  assert.match(listed.stdout, new RegExp(`${id}  cancelled .*\\(cancelled at step ${step}\\)`));
  // The handed-back job must not outlive this test: the next test's workers would take it.
  assert.equal(await cancelJob(queue.url, next), 'removed');
});

// Once marked todo: CI runs saw an extra completion of job 2. Job 2 was the previous test's job that
// its SIGTERMed worker handed back to the queue, left waiting there; this test's workers took and
// completed it whenever they got to it before their own 20 were done (so it failed only sometimes).
// The previous test now removes it, and this one starts by checking the queue holds nothing else.
test('queue: 20 jobs over 2 workers, one SIGKILLed mid-job: every job completes once, each adapter equal to the job trained alone', async () => {
  const unfinished = (await queue.jobs()).filter((r) => r.state === 'waiting' || r.state === 'active');
  assert.deepEqual(unfinished, [], 'no earlier job is left in the queue for these workers to take');
  const dir = tempDir();
  const settings = Array.from({ length: 20 }, (_, i) => [
    `training.seed=${i}`,
    `training.max_steps=${4 + (i % 3)}`,
    'training.save_steps=2',
  ]);
  const ids: string[] = [];
  for (const [i, set] of settings.entries()) ids.push(await submit(join(dir, `job${i}`), ...set));
  const doomed = worker(60);
  const other = worker(60);
  // Kill the first worker once a job of its own has a checkpoint and is not finished.
  const outputOf = (id: string) => join(dir, `job${ids.indexOf(id)}`);
  let victim: string | undefined;
  for (let i = 0; victim === undefined; i++) {
    // Two workers start, load the model and train under whatever load the machine has: up to 2 minutes.
    assert.ok(i < 2400, 'the first worker never held a job with a checkpoint');
    const taken = doomed
      .log()
      .filter((e) => e.event === 'job_started')
      .map((e) => String(e.id));
    const completed = new Set(
      doomed
        .log()
        .filter((e) => e.event === 'job_completed')
        .map((e) => String(e.id)),
    );
    victim = taken.find((id) => !completed.has(id) && existsSync(join(outputOf(id), 'checkpoint-2')));
    if (victim === undefined) await new Promise((r) => setTimeout(r, 50));
  }
  doomed.child.kill('SIGKILL');
  assert.equal((await doomed.done).signal, 'SIGKILL');
  const rows = await until((r) => ids.every((id) => r.find((j) => j.id === id)?.state === 'completed'), 240).catch(
    (error: Error) => {
      // What each worker did, to tell a stuck queue from a slow machine.
      const events = (w: WorkerRun) => w.log().map((e) => `${String(e.event)} ${String(e.id)}`);
      throw new Error(`${error.message}\nkilled worker: ${events(doomed)}\nother worker: ${events(other)}`);
    },
  );
  other.child.kill('SIGTERM');
  await other.done;

  const completions = [...doomed.log(), ...other.log()]
    .filter((e) => e.event === 'job_completed')
    .map((e) => String(e.id));
  assert.deepEqual([...completions].sort(), [...ids].sort(), 'each job completed exactly once');
  assert.equal(rows.find((r) => r.id === victim)!.stalled, 1, 'the killed job went back to the queue once');
  assert.ok(
    other.log().some((e) => e.event === 'job_started' && String(e.id) === victim),
    'the other worker resumed it',
  );
  const resumed = other.log().find((e) => e.event === 'job_resumed' && String(e.id) === victim);
  assert.match(String(resumed?.checkpoint), /checkpoint-[2-9]$/, 'from the checkpoint the killed worker left');

  // Each job alone, as `peft train` runs it (in this process).
  for (const [i, set] of settings.entries()) {
    const alone = join(dir, `alone${i}`);
    mkdirSync(alone);
    const recipe = await loadRecipe(RECIPE, recipeOverrides(alone, set));
    await trainRecipe(recipe, RECIPE, { progress: new Progress('json', { write: () => true }), resume: false });
    assert.deepEqual(adapterBytes(join(dir, `job${i}`)), adapterBytes(alone), `job${i}`);
  }
});
