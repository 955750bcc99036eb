// `peft submit` of a recipe with jobs: each job queued as its own queue job, with the run's model,
// training and data defaults filled in and its output <run output>/<name>; a job with a missing
// data file refuses the whole recipe before anything is queued or written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from '../../src/cli/exit-codes.js';
import { connectQueue } from '../../src/queue/connection.js';
import { loadMultiRecipe } from '../../src/cli/recipe/load.js';
import type { QueuedJob } from '../../src/queue/job-data.js';
import { DATA, events, peft, tempDir } from '../cli/helpers.js';
import { useQueue } from './helpers.js';

const queue = useQueue();
const MULTI = join(DATA, 'recipes/gpt2-multi.yaml');

test('queue: submit of a jobs: recipe queues each job with the run`s defaults; a bad job refuses them all', async () => {
  const dir = tempDir();
  const missing = await peft(
    'submit',
    MULTI,
    '--queue',
    queue.url,
    '--output',
    join(dir, 'bad'),
    '--set',
    'jobs.2.data.train=nowhere.jsonl',
  );
  assert.equal(missing.code, EXIT.INPUT, missing.stderr);
  assert.match(missing.stderr, /nowhere\.jsonl does not exist/);
  assert.deepEqual(await queue.jobs(), [], 'nothing queued');
  assert.ok(!existsSync(join(dir, 'bad')), 'nothing written');

  const queued = await peft('--json', 'submit', MULTI, '--queue', queue.url, '--output', join(dir, 'run'));
  assert.equal(queued.code, EXIT.OK, queued.stderr);
  const result = events(queued.stdout).find((e) => e.event === 'result')! as unknown as {
    jobs: { id: string; name: string; output: string }[];
  };
  const run = await loadMultiRecipe(MULTI, [['output', join(dir, 'run')]]);
  assert.deepEqual(
    result.jobs.map((j) => [j.name, j.output]),
    run.jobs.map((j) => [j.name, join(dir, 'run', j.name)]),
  );
  const rows = await queue.jobs();
  assert.deepEqual(
    rows.map((r) => [r.id, r.state]),
    result.jobs.map((j) => [j.id, 'waiting']),
  );
  const connection = await connectQueue(queue.url);
  try {
    for (const [i, { id }] of result.jobs.entries()) {
      const { recipe } = (await connection.queue.getJob(id))!.data as QueuedJob;
      const job = run.jobs[i]!;
      assert.equal(recipe.model, run.model);
      assert.deepEqual(recipe.method, job.method);
      assert.deepEqual(recipe.data, job.data);
      // The run's training (batch_size 4, save_steps 3) under the job's own fields.
      assert.deepEqual(recipe.training, { ...run.training, ...job.training });
      assert.ok(existsSync(recipe.output), 'its output folder is prepared');
    }
  } finally {
    await connection.close();
  }
});
