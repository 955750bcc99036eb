// Adapter registry: lazy discovery, LRU eviction under a memory budget and reading back,
// loading and unloading at run time (vLLM's routes), and the peft serve command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import OpenAI from 'openai';
import { buildServer } from '../../src/serve/http.js';
import { main } from '../../src/cli/main.js';
import { FIXTURES, adapterPath, openService, run, soloGreedy } from './helpers.js';

const METHODS = ['lora', 'lora_dora', 'lora_rslora', 'ia3'];

async function adapterDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'peft-serve-dir-'));
  for (const m of METHODS) await symlink(adapterPath('gpt2', m), join(dir, m));
  return dir;
}

test('adapters under --adapter-dir are found lazily, evicted least recently used beyond the budget, and read again with the same output', async () => {
  const dir = await adapterDir();
  // Each fixture adapter is a few kB: a 0.01 MB budget keeps about one resident.
  const service = await openService('gpt2', [], { adapterDirs: [dir], maxAdapterMb: 0.01 });
  assert.deepEqual(service.registry.names(), [...METHODS].sort());
  assert.equal(service.registry.residentCount, 0, 'nothing is read before it is asked for');
  const p = [3, 1, 4, 1, 5];
  const first = new Map<string, number[]>();
  for (const m of METHODS) first.set(m, (await run(service, m, p, { temperature: 0, maxTokens: 6 })).tokens);
  assert.ok(service.registry.evictions >= 2, `evictions: ${service.registry.evictions}`);
  const { residentBytes, residentCount } = service.registry as { residentBytes: number; residentCount: number };
  assert.ok(residentBytes <= 0.01 * 2 ** 20 || residentCount === 1, `${residentCount} adapters, ${residentBytes} bytes resident`);
  const loads = service.registry.loads;
  for (const m of METHODS) {
    const again = await run(service, m, p, { temperature: 0, maxTokens: 6 });
    assert.deepEqual(again.tokens, first.get(m), `${m} after eviction and reading back`);
    assert.deepEqual(again.tokens, await soloGreedy(service, 'gpt2', m, p, 6), m);
  }
  assert.ok(service.registry.loads > loads, 'evicted adapters were read again');
});

test('load_lora_adapter / unload_lora_adapter: any family, only under the roots; a replaced adapter never reuses cached keys', async () => {
  const root = await mkdtemp(join(tmpdir(), 'peft-serve-root-'));
  const service = await openService('gpt2', [], { adapterDirs: [root], blockSize: 4 });
  const app = buildServer(service);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const post = (path: string, body: unknown) => fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none', maxRetries: 0 });
    await cp(adapterPath('gpt2', 'ia3'), join(root, 'stash', 'x'), { recursive: true });
    const loaded = await post('/v1/load_lora_adapter', { lora_name: 'mine', lora_path: join(root, 'stash', 'x') });
    assert.equal(loaded.status, 200, await loaded.clone().text());
    assert.ok((await client.models.list()).data.some((m) => m.id === 'mine'));
    const prompt = Array.from({ length: 13 }, (_, i) => (i * 7) % 50);
    const a = await client.completions.create({ model: 'mine', prompt, max_tokens: 5, temperature: 0 });
    assert.equal((await post('/v1/load_lora_adapter', { lora_name: 'mine', lora_path: join(root, 'stash', 'x') })).status, 400, 'the name is taken');
    assert.equal((await post('/v1/unload_lora_adapter', { lora_name: 'mine' })).status, 200);
    assert.equal((await post('/v1/unload_lora_adapter', { lora_name: 'mine' })).status, 404);
    await assert.rejects(client.completions.create({ model: 'mine', prompt, max_tokens: 5 }), (e: { status?: number }) => e.status === 404);
    // The same name over other weights: the prefix cache must not hand back the old keys and values.
    await cp(adapterPath('gpt2', 'lora'), join(root, 'stash', 'y'), { recursive: true });
    assert.equal((await post('/v1/load_lora_adapter', { lora_name: 'mine', lora_path: join(root, 'stash', 'y') })).status, 200);
    const hits = service.engine.pool.hits;
    const b = await client.completions.create({ model: 'mine', prompt, max_tokens: 5, temperature: 0, return_token_ids: true } as OpenAI.CompletionCreateParamsNonStreaming);
    assert.equal(service.engine.pool.hits, hits);
    assert.deepEqual((b.choices[0] as unknown as { token_ids: number[] }).token_ids, await soloGreedy(service, 'gpt2', 'lora', prompt, 5));
    assert.notEqual(a.choices[0]!.text, b.choices[0]!.text);
  } finally {
    await app.close();
  }
});

test('peft serve: --adapter name=path, a listening server, bad flags as usage errors', async () => {
  let release!: () => void;
  const stop = new Promise<void>((resolve) => (release = resolve));
  const { serveCommand } = await import('../../src/cli/commands/serve.js');
  let served = '';
  const done = serveCommand(
    { model: join(FIXTURES, 'gpt2'), adapter: [`l=${adapterPath('gpt2', 'lora')}`], adapterDir: [], host: '127.0.0.1', port: 0, dtype: 'float32', maxAdapterMb: 64, kvCacheMb: 4, blockSize: 16, maxNumSeqs: 8, maxQueue: 8, maxBodyMb: 1 },
    async (url) => {
      const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string }[] };
      served = models.data.map((m) => m.id).join();
      release();
    },
    stop,
  );
  await done;
  assert.equal(served, 'gpt2,l');
  assert.equal(await main(['serve', '--model', join(FIXTURES, 'gpt2'), '--adapter', 'noequals'], new PassThrough(), new PassThrough()), 2);
});
