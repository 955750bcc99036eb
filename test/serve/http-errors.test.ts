// Every bad input gets a 4xx in OpenAI's error shape, and the server goes on answering.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/serve/http.js';
import { Service } from '../../src/serve/service.js';
import { FIXTURES, adapterPath } from './helpers.js';

let service: Service;
let app: FastifyInstance;
let url: string;
let adapterDir: string;
const KEY = 'k';

before(async () => {
  adapterDir = await mkdtemp(join(tmpdir(), 'peft-serve-adapters-'));
  await symlink(adapterPath('gpt2', 'lora_rslora'), join(adapterDir, 'rs'));
  await symlink(adapterPath('llama', 'lora'), join(adapterDir, 'llama-lora'));
  await symlink(adapterPath('gpt2', 'lora_bias'), join(adapterDir, 'bias'));
  service = await Service.open({ model: join(FIXTURES, 'gpt2'), adapters: new Map([['lora', adapterPath('gpt2', 'lora')]]), adapterDirs: [adapterDir], maxQueue: 1, maxNumSeqs: 1, eosTokenIds: [] });
  app = buildServer(service, { apiKey: KEY, bodyLimit: 16 * 1024 });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});
after(() => app.close());

async function call(path: string, body: unknown, auth = `Bearer ${KEY}`): Promise<{ status: number; error: { message: string; type: string; param: string | null; code: string | null } }> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const json = (await res.json()) as { error: { message: string; type: string; param: string | null; code: string | null } };
  assert.equal(typeof json.error?.message, 'string', `OpenAI's error shape for ${JSON.stringify(body).slice(0, 80)}`);
  return { status: res.status, error: json.error };
}

const good = { model: 'gpt2', prompt: [1, 2, 3], max_tokens: 2 };

test('malformed JSON, a body too large, a wrong or missing API key', async () => {
  assert.equal((await call('/v1/completions', '{"model": "gpt2", ')).status, 400);
  assert.equal((await call('/v1/completions', '[1,2]')).status, 400);
  const big = await call('/v1/completions', { ...good, prompt: 'x'.repeat(20000) });
  assert.equal(big.status, 413);
  const noKey = await call('/v1/completions', good, '');
  assert.equal(noKey.status, 401);
  assert.equal(noKey.error.type, 'authentication_error');
  assert.equal((await call('/v1/completions', good, 'Bearer wrong')).status, 401);
});

test('unknown models (404 listing the names), path traversal, an adapter made for another base', async () => {
  const unknown = await call('/v1/completions', { ...good, model: 'nope' });
  assert.equal(unknown.status, 404);
  assert.match(unknown.error.message, /lora/);
  assert.match(unknown.error.message, /rs/);
  for (const model of ['../gpt2', '..', 'rs/../../etc', '/etc/passwd']) assert.equal((await call('/v1/completions', { ...good, model })).status, 404, model);
  const mismatch = await call('/v1/completions', { ...good, model: 'llama-lora' });
  assert.equal(mismatch.status, 400);
  assert.match(mismatch.error.message, /does not fit this base model/);
  // Biases trained with the adapter would change the base for every other request.
  const bias = await call('/v1/completions', { ...good, model: 'bias' });
  assert.equal(bias.status, 400);
  assert.match(bias.error.message, /trains the base layers' biases/);
  const outside = await call('/v1/load_lora_adapter', { lora_name: 'x', lora_path: adapterPath('gpt2', 'ia3') });
  assert.equal(outside.status, 400);
  assert.match(outside.error.message, /not a folder under the adapter roots/);
  assert.equal((await call('/v1/load_lora_adapter', { lora_name: 'y', lora_path: `${adapterDir}/../../etc` })).status, 400);
  assert.equal((await call('/v1/load_lora_adapter', { lora_name: '../z', lora_path: `${adapterDir}/rs` })).status, 400);
});

test('nonsense parameters are 400s naming the field; prompt + max_tokens over the context names the numbers', async () => {
  const bad: Record<string, unknown>[] = [
    { temperature: -1 }, { temperature: 'hot' }, { top_p: 5 }, { top_k: -7 }, { max_tokens: 0 }, { max_tokens: 1.5 }, { n: 1000 },
    { presence_penalty: 9 }, { logprobs: 50 }, { stop: [''] }, { prompt: [] }, { prompt: [-1] }, { prompt: [1e9] }, { prompt: 12 }, { model: 3 }, { seed: 'x' }, { echo: true },
  ];
  for (const patch of bad) {
    const r = await call('/v1/completions', { ...good, ...patch });
    assert.equal(r.status, 400, JSON.stringify(patch));
    assert.equal(r.error.type, 'invalid_request_error');
  }
  assert.equal((await call('/v1/chat/completions', { model: 'gpt2', messages: [] })).status, 400);
  assert.equal((await call('/v1/chat/completions', { model: 'gpt2', messages: [{ role: 'wizard', content: 'x' }] })).status, 400);
  // The fixture's tokenizer has no chat template: a clear 400, not a crash.
  assert.equal((await call('/v1/chat/completions', { model: 'gpt2', messages: [{ role: 'user', content: 'x' }] })).status, 400);
  const long = await call('/v1/completions', { ...good, prompt: Array.from({ length: 40 }, () => 5), max_tokens: 30 });
  assert.equal(long.status, 400);
  assert.match(long.error.message, /context is 64 tokens.*40.*30/);
});

test('queue full is a 429; the server keeps answering after every error', async () => {
  const results = await Promise.all(Array.from({ length: 6 }, () => fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: JSON.stringify({ ...good, max_tokens: 40 }) })));
  const statuses = results.map((r) => r.status);
  assert.ok(statuses.includes(429), statuses.join());
  assert.ok(statuses.includes(200), statuses.join());
  const after = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: JSON.stringify(good) });
  assert.equal(after.status, 200);
});
