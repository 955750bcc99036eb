// The server through the official openai npm client (and raw fetch for the wire format).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/serve/http.js';
import { Service } from '../../src/serve/service.js';
import { adapterPath, chatModelFolder, soloGreedy } from './helpers.js';

let service: Service;
let app: FastifyInstance;
let url: string;
let client: OpenAI;
const KEY = 'test-key';
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

before(async () => {
  service = await Service.open({
    model: await chatModelFolder(),
    servedModelName: 'gpt2',
    adapters: new Map([['lora', adapterPath('gpt2', 'lora')], ['ia3', adapterPath('gpt2', 'ia3')]]),
    blockSize: 4,
    eosTokenIds: [],
  });
  app = buildServer(service, { apiKey: KEY });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  client = new OpenAI({ baseURL: `${url}/v1`, apiKey: KEY, maxRetries: 0 });
});
after(() => app.close());

test('completions: greedy tokens equal PeftModel.generate alone; usage and return_token_ids', async () => {
  const prompt = [5, 17, 42, 99, 7];
  const res = await client.completions.create({ model: 'lora', prompt, max_tokens: 9, temperature: 0, return_token_ids: true } as OpenAI.CompletionCreateParamsNonStreaming);
  const choice = res.choices[0] as OpenAI.CompletionChoice & { token_ids: number[]; prompt_token_ids: number[] };
  assert.deepEqual(choice.token_ids, await soloGreedy(service, 'gpt2', 'lora', prompt, 9));
  assert.deepEqual(choice.prompt_token_ids, prompt);
  assert.equal(choice.text, service.tokenizer!.decode(choice.token_ids, { skipSpecialTokens: true }));
  assert.deepEqual(res.usage, { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 });
  assert.equal(choice.finish_reason, 'length');
  assert.equal(res.object, 'text_completion');
});

test('streamed text equals the whole text (completions and chat); the stream ends with data: [DONE]', async () => {
  const whole = await client.completions.create({ model: 'ia3', prompt: 'hello there', max_tokens: 12, temperature: 0 });
  let streamed = '';
  let usage: OpenAI.CompletionUsage | undefined;
  for await (const chunk of await client.completions.create({ model: 'ia3', prompt: 'hello there', max_tokens: 12, temperature: 0, stream: true, stream_options: { include_usage: true } })) {
    streamed += chunk.choices[0]?.text ?? '';
    usage = chunk.usage ?? usage;
  }
  assert.equal(streamed, whole.choices[0]!.text);
  assert.equal(usage?.completion_tokens, 12);

  const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }];
  const chat = await client.chat.completions.create({ model: 'lora', messages, max_tokens: 10, temperature: 0, return_token_ids: true } as OpenAI.ChatCompletionCreateParamsNonStreaming);
  const expectedPrompt = service.tokenizer!.encode('system: be brief\nuser: hi\nassistant:');
  assert.deepEqual((chat as unknown as { prompt_token_ids: number[] }).prompt_token_ids, expectedPrompt);
  assert.equal(chat.usage?.prompt_tokens, expectedPrompt.length);
  let chatStreamed = '';
  for await (const chunk of await client.chat.completions.create({ model: 'lora', messages, max_tokens: 10, temperature: 0, stream: true })) chatStreamed += chunk.choices[0]?.delta.content ?? '';
  assert.equal(chatStreamed, chat.choices[0]!.message.content);

  const raw = await (await post('/v1/completions', { model: 'gpt2', prompt: [1, 2, 3], max_tokens: 3, stream: true })).text();
  const events = raw.split('\n\n').filter((e) => e !== '');
  assert.ok(events.every((e) => e.startsWith('data: ')));
  assert.equal(events.at(-1), 'data: [DONE]');
});

test('logprobs with alternatives, n choices and a seed through the client', async () => {
  const res = await client.completions.create({ model: 'gpt2', prompt: 'abc', max_tokens: 4, temperature: 0, logprobs: 2 });
  const lp = res.choices[0]!.logprobs!;
  assert.equal(lp.tokens!.length, 4);
  assert.equal(Object.keys(lp.top_logprobs![0]!).length, 2);
  assert.ok(lp.token_logprobs!.every((v) => v <= 0));
  const a = await client.completions.create({ model: 'lora', prompt: 'abc', max_tokens: 6, seed: 7, n: 2 });
  const b = await client.completions.create({ model: 'lora', prompt: 'abc', max_tokens: 6, seed: 7, n: 2 });
  assert.deepEqual(a.choices.map((c) => c.text), b.choices.map((c) => c.text));
  assert.equal(a.choices.length, 2);
  const chat = await client.chat.completions.create({ model: 'lora', messages: [{ role: 'user', content: 'x' }], max_tokens: 3, logprobs: true, top_logprobs: 2 });
  assert.equal(chat.choices[0]!.logprobs!.content!.length, 3);
  assert.equal(chat.choices[0]!.logprobs!.content![0]!.top_logprobs.length, 2);
});

test('/v1/models lists the base and each adapter with its parent; /health; /metrics in Prometheus text', async () => {
  const models = await client.models.list();
  const ids = models.data.map((m) => [m.id, (m as unknown as { parent: string | null }).parent]);
  assert.deepEqual(ids, [['gpt2', null], ['ia3', 'gpt2'], ['lora', 'gpt2']]);
  assert.equal((await fetch(`${url}/health`)).status, 200);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert.match(metrics, /peft_requests_total\{model="lora",finish_reason="length"\} \d+/);
  assert.match(metrics, /peft_generation_tokens_total\{model="ia3"\} \d+/);
  for (const name of ['peft_num_requests_waiting', 'peft_num_requests_running', 'peft_kv_blocks_in_use', 'peft_adapters_resident 2', 'peft_time_to_first_token_seconds_bucket', 'peft_inter_token_latency_seconds_count']) assert.ok(metrics.includes(name), name);
});

test('a client that disconnects mid-stream cancels its request and frees its blocks', async () => {
  // Each step takes at least 3 ms here, so the 60 tokens cannot all be made before the client leaves.
  const step = service.engine.step.bind(service.engine);
  service.engine.step = () => {
    const until = Date.now() + 3;
    while (Date.now() < until);
    return step();
  };
  const res = await post('/v1/completions', { model: 'lora', prompt: [1, 2, 3], max_tokens: 60, stream: true });
  const reader = res.body!.getReader();
  await reader.read();
  await reader.cancel();
  for (let i = 0; i < 200 && service.engine.scheduler.hasWork; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(service.engine.scheduler.running.length, 0);
  assert.equal(service.engine.pool.inUse, 0);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert.match(metrics, /peft_requests_total\{model="lora",finish_reason="abort"\} 1/);
});
