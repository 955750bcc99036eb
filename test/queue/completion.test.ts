// A job's completion is recorded once, by construction, in the interleaving where two workers both
// train it to its end: worker A takes the job, its lock lapses while it still trains (A is starved
// or partitioned), the stalled check hands the job to worker B, and then both finish it. Driven
// step by step with BullMQ's own Worker calls (no training), so the order is fixed, not raced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'bullmq';
import { connectQueue, QUEUE_NAME } from '../../src/queue/connection.js';
import { recordCompletion } from '../../src/queue/completion.js';
import { complete } from '../../src/queue/train-group.js';
import { DONE_FILE, type QueuedJob } from '../../src/queue/job-data.js';
import type { FromTrainer, GroupJob } from '../../src/queue/protocol.js';
import { tempDir } from '../cli/helpers.js';
import { useQueue } from './helpers.js';

const queue = useQueue();

/** A worker log that keeps the events. */
function eventLog(): { log: (event: string, fields: Record<string, unknown>) => void; events: string[] } {
  const events: string[] = [];
  return { events, log: (event, fields) => events.push(`${event} ${String(fields.id)}`) };
}

test('queue: a job retaken after its lock lapsed is completed once; the first worker`s late completion is refused and logged', async () => {
  const id = await queue.submit(join(tempDir(), 'retaken'), 'training.max_steps=2');
  const connection = await connectQueue(queue.url);
  // Short locks and stalled checks, no renewal: A's lock lapses as a starved worker's would.
  const options = { connection: connection.client as never, autorun: false, lockDuration: 300, stalledInterval: 100 };
  const a = new Worker<QueuedJob>(QUEUE_NAME, null, options);
  const b = new Worker<QueuedJob>(QUEUE_NAME, null, options);
  try {
    const heldByA = await a.getNextJob('a:1', { block: false });
    assert.equal(heldByA?.id, id);
    void a.startStalledCheckTimer();
    await queue.until((rows) => rows.find((r) => r.id === id)?.state === 'waiting', 10);
    const heldByB = await b.getNextJob('b:1', { block: false });
    assert.equal(heldByB?.id, id, 'B took the job the stalled check handed back');

    const { log, events } = eventLog();
    const done = (by: string): Extract<FromTrainer, { type: 'done' }> => ({ type: 'done', id, result: { by } });
    assert.equal(await recordCompletion(heldByA!, 'a:1', done('a'), log), 'refused', 'A no longer holds the job');
    assert.equal(await recordCompletion(heldByB!, 'b:1', done('b'), log), 'completed');
    assert.equal(await recordCompletion(heldByB!, 'b:1', done('b'), log), 'refused', 'a second completion is a no-op');
    assert.deepEqual(events, [`job_completion_refused ${id}`, `job_completed ${id}`, `job_completion_refused ${id}`]);

    const row = (await queue.jobs()).find((r) => r.id === id)!;
    assert.equal(row.state, 'completed');
    assert.equal(row.stalled, 1);
    assert.deepEqual(
      (await connection.queue.getJob(id))!.returnvalue,
      { by: 'b' },
      'the holder`s completion is the one kept',
    );
  } finally {
    await Promise.all([a.close(true), b.close(true)]);
    await connection.close();
  }
});

test('queue: two training processes finishing one job create its done record once; the later one reports the kept record', async () => {
  const output = tempDir();
  const job = (id: string) => ({ id, recipe: { output }, recipePath: 'recipe.yaml' }) as unknown as GroupJob;
  const sent: FromTrainer[] = [];
  const channel = { send: (m: FromTrainer) => sent.push(m) };
  // Both at once, as two workers' training processes would (either may win the creation).
  await Promise.all([complete(job('7'), { by: 'first' }, channel), complete(job('7'), { by: 'second' }, channel)]);
  const record = JSON.parse(await readFile(join(output, DONE_FILE), 'utf8')) as { job: string; result: { by: string } };
  assert.equal(record.job, '7');
  const winner = record.result.by;
  assert.deepEqual(
    [...sent].sort((x, y) => Number('recordedBefore' in x) - Number('recordedBefore' in y)),
    [
      { type: 'done', id: '7', result: { by: winner } },
      { type: 'done', id: '7', result: { by: winner }, recordedBefore: true },
    ],
    'both report the one kept result; only the creator without recordedBefore',
  );
  // Another job finishing into the same folder fails, naming the folder, and changes nothing.
  sent.length = 0;
  await complete(job('8'), { by: 'other' }, channel);
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.type, 'failed');
  assert.match((sent[0] as { message: string }).message, /records the completion of another job/);
  assert.equal(JSON.parse(await readFile(join(output, DONE_FILE), 'utf8')).job, '7');
});
