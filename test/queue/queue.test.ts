// The training queue (BullMQ over a Redis of the test's own): `peft submit` queues recipes, a
// `peft worker` trains them (two on one base together) to the adapters a single `peft train` of
// each writes, `peft jobs` lists and cancels; an unreachable Redis and a bad recipe are refused,
// named, before anything is queued or written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { EXIT } from '../../src/cli/exit-codes.js';
import { cancelJob } from '../../src/queue/jobs.js';
import { events, finished, peft, RECIPE, start, tempDir } from '../cli/helpers.js';
import { adapterBytes, useQueue } from './helpers.js';

const queue = useQueue();
const { submit, jobs, until } = queue;

function worker(...args: string[]): { child: ChildProcess; done: ReturnType<typeof finished> } {
  const child = start(['--json', 'worker', '--queue', queue.url, '--lock-duration', '2000', ...args]);
  return { child, done: finished(child) };
}

test('queue: submit, a worker trains two jobs together, each to the adapter of its own `peft train`; jobs lists them', async () => {
  const dir = tempDir();
  const queued = await peft(
    '--json',
    'submit',
    RECIPE,
    '--queue',
    queue.url,
    '--output',
    join(dir, 'a'),
    '--set',
    'training.max_steps=4',
    '--set',
    'training.save_steps=2',
  );
  assert.equal(queued.code, EXIT.OK, queued.stderr);
  const a = String(events(queued.stdout).find((e) => e.event === 'result')!.id);
  const b = await submit(join(dir, 'b'), 'training.max_steps=5', 'training.seed=3');
  const listed = await peft('jobs', '--queue', queue.url);
  assert.match(listed.stdout, new RegExp(`${a}  waiting +-  a  .*/a\\n +${b}  waiting`));
  const w = worker();
  const rows = await until((r) => r.filter((j) => [a, b].includes(j.id) && j.state === 'completed').length === 2, 60);
  w.child.kill('SIGTERM');
  const log = events((await w.done).stdout);
  assert.ok(
    log.some((e) => e.event === 'job_started' && e.together === 2),
    'the two jobs trained together',
  );
  assert.deepEqual(
    rows.filter((r) => [a, b].includes(r.id)).map((r) => r.step),
    [4, 5],
  );
  const single = async (name: string, ...set: string[]) => {
    const out = join(dir, name);
    const run = await peft('train', RECIPE, '--output', out, ...set.flatMap((s) => ['--set', s]));
    assert.equal(run.code, EXIT.OK, run.stderr);
    return out;
  };
  assert.deepEqual(
    adapterBytes(join(dir, 'a')),
    adapterBytes(await single('a-alone', 'training.max_steps=4', 'training.save_steps=2')),
  );
  assert.deepEqual(
    adapterBytes(join(dir, 'b')),
    adapterBytes(await single('b-alone', 'training.max_steps=5', 'training.seed=3')),
  );
  assert.ok(existsSync(join(dir, 'a', 'queue-done.json')));
});

test('queue: an unreachable Redis and a bad recipe are refused, named, with nothing queued or written', async () => {
  const dir = tempDir();
  const down = await peft('submit', RECIPE, '--queue', 'redis://127.0.0.1:1', '--output', join(dir, 'x'));
  assert.equal(down.code, EXIT.INPUT);
  assert.match(down.stderr, /cannot reach the queue's Redis at redis:\/\/127\.0\.0\.1:1: .*start one \(redis-server/);
  assert.ok(!existsSync(join(dir, 'x')));
  const url = await peft('jobs', '--queue', 'http://127.0.0.1:1');
  assert.equal(url.code, EXIT.INPUT);
  assert.match(url.stderr, /'http:\/\/127\.0\.0\.1:1' is not a redis:\/\/ or rediss:\/\/ URL/);
  const before = (await jobs()).length;
  await assert.rejects(submit(join(dir, 'y'), 'training.lr=fast'), { code: 'E_RECIPE', message: /training\.lr/ });
  await assert.rejects(submit(join(dir, 'y'), 'model=/nowhere'), {
    code: 'E_INPUT',
    message: /\/nowhere is not a model folder/,
  });
  assert.ok(!existsSync(join(dir, 'y')));
  const id = await submit(join(dir, 'z'), 'training.max_steps=1');
  await assert.rejects(submit(join(dir, 'z')), {
    code: 'E_QUEUE',
    message: new RegExp(`job ${id} \\(not finished\\) writes to .*z already`),
  });
  assert.equal((await jobs()).length, before + 1, 'only the good recipe was queued');
  const removed = await peft('jobs', 'cancel', id, '--queue', queue.url);
  assert.equal(removed.code, EXIT.OK, removed.stderr);
  assert.match(removed.stdout, new RegExp(`job ${id}: removed from the queue`));
  assert.equal((await jobs()).length, before);
  await assert.rejects(cancelJob(queue.url, '999'), { code: 'E_QUEUE', message: /no job 999 in the queue/ });
});
