import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoModelForCausalLM } from '../../src/models/index.js';
import { getPeftModel } from '../../src/peft/index.js';
import { DEFAULT_SAMPLING } from '../../src/serve/sampling-params.js';
import { FIXTURES, openService, run, soloGreedy, warm, watchBatch } from './helpers.js';

const prompt = (n: number, salt: number) => Array.from({ length: n }, (_, i) => (i * 37 + salt * 11 + 5) % 300);

test('greedy tokens of a mixed batch (base and LoRA-family adapters of gpt2) equal each request generated alone', async () => {
  const methods = ['lora', 'lora_dora', 'lora_rslora', 'adalora', 'ia3'];
  const service = await openService('gpt2', methods, { blockSize: 4, prefillChunk: 7 });
  await warm(service, methods);
  const batch = watchBatch(service);
  const cases = [null, ...methods, 'lora', null].map((m, i) => ({ model: m ?? service.modelName, method: m, prompt: prompt(3 + 4 * i, i), max: 12 + i }));
  const results = await Promise.all(cases.map((c) => run(service, c.model, c.prompt, { temperature: 0, maxTokens: c.max })));
  for (const [i, c] of cases.entries()) {
    assert.deepEqual(results[i]!.tokens, await soloGreedy(service, 'gpt2', c.method, c.prompt, c.max), `${c.method ?? 'base'} row ${i}`);
    assert.equal(results[i]!.reason, 'length');
  }
  assert.ok(batch.maxDecodeRows >= 5, `rows decoded together: ${batch.maxDecodeRows}`);
  assert.equal(service.engine.pool.inUse, 0, 'every block is back in the pool');
});

test('llama: every layer-method family in one engine (one model tree per method, ranks 2 and 4), greedy tokens equal solo generation', async () => {
  const methods = ['lora', 'multi_adapter/a', 'multi_adapter/b', 'lora_dora', 'loha', 'lokr', 'oft', 'vera', 'ia3', 'adalora'];
  const names = methods.map((m) => m.replace('/', '-'));
  const service = await openService('llama', [], {
    adapters: new Map(methods.map((m, i) => [names[i]!, `${import.meta.dirname}/../fixtures/hf/llama/peft/${m}`])),
    blockSize: 4,
  });
  await warm(service, names);
  const batch = watchBatch(service);
  const cases = methods.map((m, i) => ({ name: names[i]!, method: m, prompt: prompt(2 + 3 * i, i), max: 10 }));
  const results = await Promise.all(cases.map((c) => run(service, c.name, c.prompt, { temperature: 0, maxTokens: c.max })));
  const solos = await Promise.all(cases.map((c) => soloGreedy(service, 'llama', c.method, c.prompt, c.max)));
  cases.forEach((c, i) => assert.deepEqual(results[i]!.tokens, solos[i], c.method));
  assert.ok(batch.maxDecodeRows >= 8, `rows decoded in one step: ${batch.maxDecodeRows}`);
  // Not vacuous: the adapters change what is generated.
  assert.ok(new Set(solos.map((s) => s.join())).size >= 6);
});

test('batched prefill: prompt chunks of one length share a forward (across adapters and cache hits), each with its solo greedy tokens', async () => {
  const methods = ['lora', 'lora_dora', 'ia3'];
  const service = await openService('gpt2', methods, { blockSize: 4 });
  await warm(service, methods);
  const system = prompt(8, 4);
  await run(service, 'lora', [...system, 1, 2, 3, 4, 5], { temperature: 0, maxTokens: 1 });
  // Rows per prefill forward, seen from the engine.
  const engine = service.engine as unknown as { forwardRows(rows: unknown[], n: number): void };
  const forwardRows = engine.forwardRows.bind(engine);
  let widest = 0;
  engine.forwardRows = (rows, n) => {
    if (n > 1) widest = Math.max(widest, rows.length);
    forwardRows(rows, n);
  };
  const hits = service.engine.pool.hits;
  // The last row's first 8 positions are cached (2 blocks): it computes 9 positions like the others, after a longer past.
  const cases = [null, 'lora', 'lora_dora', 'ia3', 'lora', 'lora'].map((m, i) => ({ model: m ?? service.modelName, method: m, prompt: i === 5 ? [...system, ...prompt(9, 9)] : prompt(9, i) }));
  const results = await Promise.all(cases.map((c) => run(service, c.model, c.prompt, { temperature: 0, maxTokens: 6 })));
  assert.ok(service.engine.pool.hits - hits >= 2, 'the cached system prompt was reused');
  assert.ok(widest >= 3, `rows prefilled in one forward: ${widest}`);
  for (const [i, c] of cases.entries()) assert.deepEqual(results[i]!.tokens, await soloGreedy(service, 'gpt2', c.method, c.prompt, 6), `${c.method ?? 'base'} row ${i}`);
});

test('preemption: a KV pool too small for every stream recomputes the newest later, with the same greedy tokens', async () => {
  const service = await openService('gpt2', ['lora'], { blockSize: 4, kvCacheMb: 0.07 });
  await warm(service, ['lora']);
  const cases = Array.from({ length: 6 }, (_, i) => ({ model: i % 2 ? 'lora' : service.modelName, method: i % 2 ? 'lora' : null, prompt: prompt(10, i), max: 20 }));
  assert.ok(service.engine.pool.numBlocks < (cases.length * 30) / 4, `pool of ${service.engine.pool.numBlocks} blocks must be too small`);
  const results = await Promise.all(cases.map((c) => run(service, c.model, c.prompt, { temperature: 0, maxTokens: c.max })));
  assert.ok(service.engine.scheduler.preemptions > 0, 'some sequence was preempted');
  for (const [i, c] of cases.entries()) assert.deepEqual(results[i]!.tokens, await soloGreedy(service, 'gpt2', c.method, c.prompt, c.max), `row ${i}`);
  assert.equal(service.engine.pool.inUse, 0);
});

test('prefix caching: a shared prompt prefix is reused per adapter content, never across adapters, and gives the same tokens', async () => {
  const service = await openService('gpt2', ['lora', 'lora_dora'], { blockSize: 4 });
  const system = prompt(17, 3);
  const first = await run(service, 'lora', [...system, 7], { temperature: 0, maxTokens: 5 });
  const hitsBefore = service.engine.pool.hits;
  const second = await run(service, 'lora', [...system, 9], { temperature: 0, maxTokens: 5 });
  assert.equal(service.engine.pool.hits - hitsBefore, 4, 'the 4 full blocks of the shared 17 tokens are reused');
  assert.deepEqual(second.tokens, await soloGreedy(service, 'gpt2', 'lora', [...system, 9], 5));
  assert.deepEqual(first.tokens, await soloGreedy(service, 'gpt2', 'lora', [...system, 7], 5));
  const hitsOther = service.engine.pool.hits;
  const other = await run(service, 'lora_dora', [...system, 9], { temperature: 0, maxTokens: 5 });
  assert.equal(service.engine.pool.hits, hitsOther, 'another adapter never reads these keys and values');
  assert.deepEqual(other.tokens, await soloGreedy(service, 'gpt2', 'lora_dora', [...system, 9], 5));
});

test('sampling: the same seed gives the same tokens alone and in a batch; penalties, top-k/top-p and logprobs', async () => {
  const service = await openService('gpt2', ['lora'], { blockSize: 4 });
  await warm(service, ['lora']);
  const params = { temperature: 0.9, topP: 0.9, topK: 50, seed: 1234, maxTokens: 12, presencePenalty: 0.5, frequencyPenalty: 0.3, repetitionPenalty: 1.2, logprobs: 3 };
  const alone = await run(service, 'lora', prompt(5, 1), params);
  const together = await Promise.all([
    run(service, 'lora', prompt(5, 1), params),
    ...[2, 3, 4].map((s) => run(service, 'lora', prompt(9, s), { ...params, seed: s })),
  ]);
  assert.deepEqual(together[0]!.tokens, alone.tokens);
  const other = await run(service, 'lora', prompt(5, 1), { ...params, seed: 99 });
  assert.notDeepEqual(other.tokens, alone.tokens, 'another seed draws other tokens');
  assert.equal(alone.logprobs.length, 12);
  for (const lp of alone.logprobs) {
    assert.equal(lp.top.length, 3);
    assert.ok(lp.logprob <= 0 && lp.top[0]!.logprob >= lp.top[2]!.logprob);
  }
  // With temperature 0, the chosen token is the most likely one (no penalties).
  const greedy = await run(service, 'lora', prompt(5, 1), { temperature: 0, maxTokens: 4, logprobs: 1 });
  greedy.logprobs.forEach((lp) => assert.equal(lp.top[0]!.token, lp.token));
});

test('stop strings end the text before them; cancellation frees the blocks at once', async () => {
  const service = await openService('gpt2', [], { blockSize: 4 });
  const full = await run(service, service.modelName, prompt(6, 2), { temperature: 0, maxTokens: 12 });
  assert.ok(full.text.length > 4, full.text);
  const stop = full.text.slice(3, 5);
  const stopped = await run(service, service.modelName, prompt(6, 2), { temperature: 0, maxTokens: 12, stop: [stop] });
  assert.equal(stopped.reason, 'stop');
  assert.equal(stopped.text, full.text.slice(0, full.text.indexOf(stop)));
  let outputs = 0;
  const seq = await service.submit(service.modelName, prompt(20, 1), { ...DEFAULT_SAMPLING, maxTokens: 40 }, {
    onOutput: () => outputs++,
    onFinish: () => assert.fail('a cancelled request is not finished normally'),
  });
  while (outputs < 2) await new Promise((r) => setImmediate(r));
  assert.ok(service.engine.pool.inUse > 0);
  service.engine.cancel(seq);
  assert.equal(service.engine.pool.inUse, 0);
  assert.equal(service.engine.scheduler.running.length, 0);
});

test('prompt tuning, P-tuning (MLP, LSTM) and prefix tuning rows share steps with LoRA and base rows, each with its solo greedy tokens', async () => {
  for (const model of ['gpt2', 'llama']) {
    const methods = ['prompt_tuning', 'p_tuning_mlp', 'p_tuning_lstm', 'prefix_tuning', 'prefix_tuning_proj', 'lora'];
    const service = await openService(model, methods, { blockSize: 4, prefillChunk: 16 });
    await warm(service, methods);
    const batch = watchBatch(service);
    const cases = [...methods, null, 'prompt_tuning'].map((m, i) => ({ model: m ?? service.modelName, method: m, prompt: prompt(2 + 3 * i, i), max: 10 }));
    const results = await Promise.all(cases.map((c) => run(service, c.model, c.prompt, { temperature: 0, maxTokens: c.max })));
    const solos = await Promise.all(cases.map((c) => soloGreedy(service, model, c.method, c.prompt, c.max)));
    cases.forEach((c, i) => assert.deepEqual(results[i]!.tokens, solos[i], `${model} ${c.method ?? 'base'}`));
    assert.ok(batch.maxDecodeRows >= 6, `rows decoded in one step: ${batch.maxDecodeRows}`);
    assert.ok(new Set(solos.map((s) => s.join())).size >= 6, 'the adapters change what is generated');
    // A second request reuses the virtual tokens' cached blocks (same adapter content).
    const hits = service.engine.pool.hits;
    const again = await run(service, 'prompt_tuning', cases[0]!.prompt, { temperature: 0, maxTokens: 10 });
    assert.ok(service.engine.pool.hits > hits);
    assert.deepEqual(again.tokens, solos[0]);
  }
});

test('bottleneck adapters (Houlsby, Pfeiffer, parallel) route per row; MAM and UniPELT hybrids run one adapter per forward in the same step', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peft-serve-bottleneck-'));
  const configs: Record<string, Parameters<typeof getPeftModel>[1]> = {
    houlsby: { peftType: 'BOTTLENECK', adapterType: 'houlsby', reductionFactor: 4, initWeights: 'random' },
    pfeiffer: { peftType: 'BOTTLENECK', adapterType: 'pfeiffer', reductionFactor: 4, initWeights: 'random' },
    parallel: { peftType: 'BOTTLENECK', adapterType: 'parallel', reductionFactor: 8, initWeights: 'random' },
    mam: { peftType: 'MAM', numVirtualTokens: 3, reductionFactor: 4 },
    unipelt: { peftType: 'UNIPELT', numVirtualTokens: 2, r: 4, loraAlpha: 8, reductionFactor: 4 },
  };
  for (const [name, config] of Object.entries(configs)) {
    const peft = getPeftModel(await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'gpt2')), config, name);
    await peft.savePretrained(join(dir, 'x'));
    await rename(join(dir, 'x', name), join(dir, name));
  }
  const names = Object.keys(configs);
  const service = await openService('gpt2', [], { adapterDirs: [dir], blockSize: 4, prefillChunk: 32 });
  await warm(service, names);
  const cases = [...names, null, 'houlsby', 'mam'].map((m, i) => ({ model: m ?? service.modelName, path: m && join(dir, m), prompt: prompt(3 + 2 * i, i), max: 10 }));
  const results = await Promise.all(cases.map((c) => run(service, c.model, c.prompt, { temperature: 0, maxTokens: c.max })));
  const solos = await Promise.all(cases.map((c) => soloGreedy(service, 'gpt2', c.path, c.prompt, c.max)));
  cases.forEach((c, i) => assert.deepEqual(results[i]!.tokens, solos[i], c.model));
  assert.ok(new Set(solos.map((s) => s.join())).size >= 6, 'the adapters change what is generated');
});
