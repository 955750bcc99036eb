// `peft jobs` reads the queue's state lists one after another; a job that finishes between two reads
// is in two lists. It is listed once, in its later state (CI once saw job b twice: steps [4, 5, 5]).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Job } from 'bullmq';
import { rowsOf } from '../../src/queue/jobs.js';

const job = (id: string, step: number) =>
  ({ id, name: id, progress: { step, maxSteps: 5 }, data: { recipe: { output: `/out/${id}` } } }) as unknown as Job;

test('a job read as active and then as completed is listed once, completed, with its last step', () => {
  const rows = rowsOf([
    ['waiting', []],
    ['active', [job('2', 4)]],
    ['completed', [job('1', 4), job('2', 5)]],
    ['failed', []],
  ]);
  assert.deepEqual(
    rows.map((r) => [r.id, r.state, r.step]),
    [
      ['1', 'completed', 4],
      ['2', 'completed', 5],
    ],
  );
});

test('jobs are listed oldest first by numeric id', () => {
  const rows = rowsOf([['waiting', [job('10', 0), job('9', 0), job('11', 0)]]]);
  assert.deepEqual(
    rows.map((r) => r.id),
    ['9', '10', '11'],
  );
});
