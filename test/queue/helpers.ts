// What the queue tests share: a Redis of the file's own (started before its tests, stopped after),
// queuing the GPT-2 recipe in-process (the command's own function), and polling the queue.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseOverride, type Overrides } from '../../src/cli/recipe/load.js';
import { listJobs, type JobRow } from '../../src/queue/jobs.js';
import { submitRecipe } from '../../src/queue/submit.js';
import { CACHE, RECIPE } from '../cli/helpers.js';
import { startRedis, type TestRedis } from './redis.js';

export const adapterBytes = (dir: string) => readFileSync(join(dir, 'adapter/adapter_model.safetensors'));

/** The GPT-2 recipe's overrides: its output, the tests' data cache, then `key=value`s. */
export const recipeOverrides = (output: string, set: readonly string[]): Overrides => [
  ['output', output],
  ['data.cache_dir', CACHE],
  ...set.map(parseOverride),
];

export interface TestQueue {
  readonly url: string;
  /** Queues the GPT-2 recipe into `output` with `key=value` overrides; returns the job's id. */
  submit(output: string, ...set: string[]): Promise<string>;
  jobs(): Promise<JobRow[]>;
  /** Polls the queue until `done` holds (at most `seconds`). */
  until(done: (rows: JobRow[]) => boolean, seconds: number): Promise<JobRow[]>;
}

export function useQueue(): TestQueue {
  let redis: TestRedis | undefined;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });
  const queue: TestQueue = {
    get url() {
      return redis!.url;
    },
    submit: async (output, ...set) =>
      (await submitRecipe(queue.url, RECIPE, { overrides: recipeOverrides(output, set), overwrite: false })).id,
    jobs: () => listJobs(queue.url),
    until: async (done, seconds) => {
      const end = Date.now() + seconds * 1000;
      for (;;) {
        const rows = await queue.jobs();
        if (done(rows)) return rows;
        if (Date.now() > end) assert.fail(`timed out; jobs: ${JSON.stringify(rows)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
  };
  return queue;
}
