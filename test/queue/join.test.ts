// A job queued while a worker trains a group on the same base joins that running group at its next
// step (instead of waiting for the group to end), and still trains to the adapter it gets alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Progress } from '../../src/cli/progress.js';
import { loadRecipe } from '../../src/cli/recipe/load.js';
import { trainRecipe } from '../../src/cli/commands/train.js';
import { events, finished, RECIPE, start, tempDir } from '../cli/helpers.js';
import { adapterBytes, recipeOverrides, useQueue } from './helpers.js';

const queue = useQueue();

test('queue: a job queued while a group trains on its base joins the running group and trains to its own adapter', async () => {
  const dir = tempDir();
  const settings = {
    long: ['training.max_steps=14', 'training.seed=1'],
    joiner: ['training.max_steps=4', 'training.seed=2'],
  };
  const long = await queue.submit(join(dir, 'long'), ...settings.long);
  const child = start(['--json', 'worker', '--queue', queue.url, '--lock-duration', '1000', '--step-delay', '150']);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const done = finished(child);
  await queue.until((rows) => (rows.find((r) => r.id === long)?.step ?? 0) >= 2, 60);
  const joiner = await queue.submit(join(dir, 'joiner'), ...settings.joiner);
  await queue.until((rows) => [long, joiner].every((id) => rows.find((r) => r.id === id)?.state === 'completed'), 90);
  child.kill('SIGTERM');
  await done;

  const log = events(out).map((e) => `${String(e.event)} ${String(e.id)}${e.joining ? ' joining' : ''}`);
  const at = (entry: string) => log.indexOf(entry);
  assert.ok(at(`job_started ${joiner} joining`) >= 0, log.join('\n'));
  assert.ok(at(`job_joined ${joiner}`) > at(`job_started ${joiner} joining`), log.join('\n'));
  assert.ok(at(`job_joined ${joiner}`) < at(`job_completed ${long}`), 'it joined while the long job trained');
  // The shorter job is completed in the queue when it ends, not when its group does.
  assert.ok(at(`job_completed ${joiner}`) >= 0 && at(`job_completed ${joiner}`) < at(`job_completed ${long}`), log.join('\n'));
  assert.equal(log.filter((e) => e.startsWith('job_started')).length, 2, 'one group: no second one started');

  for (const [name, set] of Object.entries(settings)) {
    const alone = join(dir, `${name}-alone`);
    mkdirSync(alone);
    const recipe = await loadRecipe(RECIPE, recipeOverrides(alone, set));
    await trainRecipe(recipe, RECIPE, { progress: new Progress('json', { write: () => true }), resume: false });
    assert.deepEqual(adapterBytes(join(dir, name)), adapterBytes(alone), name);
  }
});
