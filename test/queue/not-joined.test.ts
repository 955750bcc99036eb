// A job the worker offers to a group whose run takes no more jobs (it ended, or it is a run that
// takes none) is answered not_joined, so the worker puts it back in the queue, and nothing of it is
// written. The training process is driven here directly over its IPC channel, as a worker drives it:
// its group is one sequence-classification job (BERT: a base no other job shares: it trains alone, and
// that run never takes a joining job), so the offer sent right after the group is still waiting when
// the run ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadRecipe } from '../../src/cli/recipe/load.js';
import type { FromTrainer, GroupJob, ToTrainer } from '../../src/queue/protocol.js';
import { DATA, ROOT, RECIPE, tempDir } from '../cli/helpers.js';
import { recipeOverrides } from './helpers.js';

test('train process: a job offered to a run that takes no more jobs is answered not_joined and leaves no trace', async () => {
  const dir = tempDir();
  // As `peft submit` leaves them: each job's output folder made, empty.
  const job = async (id: string): Promise<GroupJob> => {
    mkdirSync(join(dir, id));
    const csv = join(DATA, 'classification.csv');
    const set = [
      `model=${join(ROOT, 'test/fixtures/hf/bert')}`,
      'method.target_modules=[query,value]',
      'data.format=classification',
      `data.train=${csv}`,
      `data.eval=${csv}`,
      'training.max_steps=3',
    ];
    return { id, recipe: await loadRecipe(RECIPE, recipeOverrides(join(dir, id), set)), recipePath: RECIPE };
  };
  const child = fork(join(ROOT, 'src/queue/train-process.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages: FromTrainer[] = [];
  child.on('message', (m: FromTrainer) => messages.push(m));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  child.send({ type: 'train', jobs: [await job('alone')], stepDelay: 200 } satisfies ToTrainer);
  child.send({ type: 'join', job: await job('late') } satisfies ToTrainer);
  assert.equal(await exited, 0);

  const ends = messages.filter((m) => m.type !== 'progress').map((m) => `${m.type} ${m.id}`);
  assert.deepEqual(ends, ['done alone', 'not_joined late']);
  assert.ok(existsSync(join(dir, 'alone', 'queue-done.json')));
  assert.deepEqual(readdirSync(join(dir, 'late')), [], 'nothing of the late job was written');
});
