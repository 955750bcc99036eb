// Every command takes a .gguf model where it takes a model folder: a LoRA trained by `peft train` on
// a Q8_0 GGUF file of the llama fixture (weights kept quantised) saves an adapter that loads over the
// same file, and info, merge, export and serve take the file too.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { readdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AutoModelForCausalLM, AutoTokenizer, PeftModel, noGrad, readTokenizerFiles, tensor, type Tensor } from '../../src/index.js';
import { writeModelGguf } from '../../src/gguf/export/index.js';
import { GgufFile } from '../../src/gguf/reader.js';
import { EXIT } from '../../src/cli/exit-codes.js';
import { main } from '../../src/cli/main.js';
import { CACHE, DATA, HF, events, tempDir } from './helpers.js';

const dir = tempDir();
const base = join(dir, 'llama-Q8_0.gguf');
const run = join(dir, 'run');
const adapter = join(run, 'adapter');
const ids = tensor([[1, 5, 9, 13, 40]], [1, 5], 'int64');

/** Runs main() in this process and captures its output. */
async function inProcess(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (add: (s: string) => void) => ({ write: (s: string) => (add(s), true) }) as unknown as NodeJS.WriteStream;
  const code = await main(argv, sink((s) => (out += s)), sink((s) => (err += s)));
  return { code, out, err };
}

const logits = (model: { forward(i: { inputIds: Tensor }): unknown }) =>
  noGrad(() => (model.forward({ inputIds: ids }) as { logits: Tensor }).logits);
const maxDiff = (a: Tensor, b: Tensor) => a.sub(b).abs().max().item();

before(async () => {
  const hf = await AutoModelForCausalLM.fromPretrained(join(HF, 'llama'));
  await writeModelGguf(hf, await readTokenizerFiles(join(HF, 'llama')), base, { type: 'Q8_0' });
  const recipe = join(dir, 'recipe.yaml');
  writeFileSync(
    recipe,
    [
      `model: ${base}`,
      'method: { peft_type: LORA, r: 4, lora_alpha: 8, target_modules: [q_proj, v_proj] }',
      `data: { train: ${join(DATA, 'causal.jsonl')}, format: text, max_length: 16, cache_dir: ${CACHE} }`,
      'training: { max_steps: 3, batch_size: 2, lr: 0.05, lr_scheduler: constant, seed: 3 }',
      `output: ${run}`,
    ].join('\n'),
  );
  const trained = await inProcess('train', recipe);
  assert.equal(trained.code, EXIT.OK, trained.err);
});
after(() => rm(dir, { recursive: true, force: true }));

test('peft train on a .gguf base: the adapter loads over the same file and changes its logits', async () => {
  assert.ok(readdirSync(adapter).includes('adapter_model.safetensors'));
  const plain = await AutoModelForCausalLM.fromPretrained(base);
  const withAdapter = await PeftModel.fromPretrained(await AutoModelForCausalLM.fromPretrained(base), adapter);
  assert.ok(maxDiff(logits(plain), logits(withAdapter)) > 1e-3, 'the trained adapter changes nothing');
});

test('peft info on a .gguf model and on an adapter over it', async () => {
  const model = await inProcess('--json', 'info', base);
  assert.equal(model.code, EXIT.OK, model.err);
  assert.equal(events(model.out)[0]!.architecture, 'LlamaForCausalLM');
  const info = await inProcess('--json', 'info', adapter, '--model', base);
  assert.equal(info.code, EXIT.OK, info.err);
  assert.ok((events(info.out)[0]!.adapterParameters as number) > 0);
});

test('peft merge of an adapter over a .gguf base: an HF folder with the merged logits and a tokenizer', async () => {
  const out = join(dir, 'merged');
  const merged = await inProcess('merge', '--model', base, '--adapter', adapter, '--output', out, '--dtype', 'float32');
  assert.equal(merged.code, EXIT.OK, merged.err);
  const expected = logits(await PeftModel.fromPretrained(await AutoModelForCausalLM.fromPretrained(base, { dtype: 'float32' }), adapter));
  assert.ok(maxDiff(logits(await AutoModelForCausalLM.fromPretrained(out)), expected) < 1e-4);
  const text = 'the cat sat on the mat.';
  assert.deepEqual((await AutoTokenizer.fromPretrained(out)).encode(text), (await AutoTokenizer.fromPretrained(base)).encode(text));
});

test('peft export --model x.gguf: the adapter as a GGUF LoRA file, the model as GGUF with its tokenizer', async () => {
  const lora = join(dir, 'lora.gguf');
  const exported = await inProcess('export', '--model', base, '--adapter', adapter, '--output', lora);
  assert.equal(exported.code, EXIT.OK, exported.err);
  const model = join(dir, 'model-f32.gguf');
  const whole = await inProcess('export', '--model', base, '--output', model, '--type', 'F32');
  assert.equal(whole.code, EXIT.OK, whole.err);
  await using source = await GgufFile.open(base);
  await using written = await GgufFile.open(model);
  for (const key of ['tokenizer.ggml.model', 'tokenizer.ggml.tokens', 'tokenizer.ggml.merges']) {
    assert.deepEqual(written.metadata.get(key), source.metadata.get(key), key);
  }
  const q8 = logits(await AutoModelForCausalLM.fromPretrained(base, { dtype: 'float32' }));
  assert.ok(maxDiff(logits(await AutoModelForCausalLM.fromPretrained(model)), q8) < 1e-5);
});

test('peft serve --model x.gguf with the trained adapter', async () => {
  let release!: () => void;
  const stop = new Promise<void>((resolve) => (release = resolve));
  const { serveCommand } = await import('../../src/cli/commands/serve.js');
  let text = '';
  await serveCommand(
    { model: base, adapter: [`mine=${adapter}`], adapterDir: [], host: '127.0.0.1', port: 0, dtype: 'float32', maxAdapterMb: 64, kvCacheMb: 4, blockSize: 16, maxNumSeqs: 4, maxQueue: 4, maxBodyMb: 1 },
    async (url) => {
      try {
        const response = await fetch(`${url}/v1/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'mine', prompt: 'the cat', max_tokens: 3, temperature: 0 }),
        });
        text = JSON.stringify(await response.json());
      } finally {
        release();
      }
    },
    stop,
  );
  assert.match(text, /"choices"/, text);
});
