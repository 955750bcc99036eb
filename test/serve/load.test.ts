// Load on loopback: 64 concurrent clients send 2,000 requests over 16 adapters (six methods) and
// the base; every request must be answered with exactly the tokens of its solo generation, none
// lost, and the KV cache and tensor memory must come back to where they started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServer } from '../../src/serve/http.js';
import { memoryStats } from '../../src/tensor/storage.js';
import { adapterPath, openService, soloGreedy } from './helpers.js';

const METHODS = ['lora', 'lora_dora', 'lora_rslora', 'adalora', 'ia3'];
const ADAPTERS = Array.from({ length: 16 }, (_, i) => ({ name: `ad${i}`, method: METHODS[i % METHODS.length]! }));
const PROMPTS = Array.from({ length: 6 }, (_, j) => Array.from({ length: 3 + 2 * j }, (_, i) => (i * 29 + j * 13 + 1) % 300));
const REQUESTS = 2000;
const CLIENTS = 64;
const MAX_TOKENS = 6;

test('64 clients, 2,000 requests over 16 adapters: all answered, each exactly its solo greedy tokens, memory back to its start', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peft-serve-load-'));
  for (const a of ADAPTERS) await symlink(adapterPath('gpt2', a.method), join(dir, a.name));
  const service = await openService('gpt2', [], { adapterDirs: [dir], blockSize: 8, kvCacheMb: 0.25, maxNumSeqs: 64 });
  const expected = new Map<string, number[]>();
  for (const method of [null, ...METHODS]) {
    for (const [j, p] of PROMPTS.entries()) expected.set(`${method}/${j}`, await soloGreedy(service, 'gpt2', method, p, MAX_TOKENS));
  }
  const app = buildServer(service);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const before = memoryStats().liveBytes;
  let next = 0;
  let wrong = 0;
  const answered = new Set<number>();
  const client = async () => {
    while (next < REQUESTS) {
      const i = next++;
      const adapter = i % 17 === 16 ? null : ADAPTERS[i % 17]!;
      const j = i % PROMPTS.length;
      const res = await fetch(`${url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: adapter?.name ?? service.modelName, prompt: PROMPTS[j], max_tokens: MAX_TOKENS, temperature: 0, return_token_ids: true }),
      });
      assert.equal(res.status, 200, await res.clone().text());
      const body = (await res.json()) as { choices: { token_ids: number[] }[] };
      if (body.choices[0]!.token_ids.join() !== expected.get(`${adapter?.method ?? null}/${j}`)!.join()) wrong++;
      answered.add(i);
    }
  };
  try {
    await Promise.all(Array.from({ length: CLIENTS }, client));
  } finally {
    await app.close();
  }
  assert.equal(answered.size, REQUESTS);
  assert.equal(wrong, 0, `${wrong} requests got other tokens than their solo generation`);
  assert.equal(service.engine.pool.inUse, 0);
  assert.equal(service.engine.scheduler.hasWork, false);
  assert.ok(service.engine.scheduler.preemptions > 0, 'the 0.25 MB cache was full at times (preemption exercised)');
  assert.ok(memoryStats().liveBytes - before < 2 ** 20, `live tensor bytes grew by ${memoryStats().liveBytes - before}`);
});
