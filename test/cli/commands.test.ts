// The other subcommands: --help with an example each, merge to a loadable HF checkpoint, info, generate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AutoModelForCausalLM, PeftModel, loadSafetensors, tensor } from '../../src/index.js';
import { EXIT } from '../../src/cli/exit-codes.js';
import { main } from '../../src/cli/main.js';
import { events, HF, peft, tempDir } from './helpers.js';

const ADAPTER = join(HF, 'gpt2/peft/lora');

/** Runs main() in this process and captures its output. */
async function inProcess(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (add: (s: string) => void) => ({ write: (s: string) => (add(s), true) }) as unknown as NodeJS.WriteStream;
  const code = await main(argv, sink((s) => (out += s)), sink((s) => (err += s)));
  return { code, out, err };
}

test('--help shows an example for every subcommand and the exit codes', async () => {
  const top = await inProcess('--help');
  assert.equal(top.code, EXIT.OK);
  assert.match(top.out, /Exit codes:[\s\S]*2 +usage/);
  for (const command of ['train', 'eval', 'generate', 'merge', 'info', 'bench']) {
    const help = await inProcess(command, '--help');
    assert.equal(help.code, EXIT.OK);
    assert.match(help.out, new RegExp(`Example:\\n  peft ${command} `), `${command} --help has no example`);
  }
  assert.equal((await inProcess('frobnicate')).code, EXIT.USAGE);
});

test('merge writes config.json + model.safetensors under HF names that load to the merged model', async () => {
  const out = join(tempDir(), 'merged');
  const merged = await inProcess('merge', '--model', join(HF, 'gpt2'), '--adapter', ADAPTER, '--output', out);
  assert.equal(merged.code, EXIT.OK, merged.err);
  assert.ok(['config.json', 'model.safetensors', 'tokenizer.json'].every((f) => readdirSync(out).includes(f)));
  const keys = [...(await loadSafetensors(join(out, 'model.safetensors'))).tensors.keys()];
  const original = [...(await loadSafetensors(join(HF, 'gpt2/model.safetensors'))).tensors.keys()];
  assert.deepEqual(keys.sort(), original.sort(), 'merged keys are the base checkpoint keys');
  const ids = tensor([[1, 5, 9, 13]], [1, 4], 'int64');
  const expected = (await PeftModel.fromPretrained(await AutoModelForCausalLM.fromPretrained(join(HF, 'gpt2')), ADAPTER)).forward({ inputIds: ids }).logits;
  const actual = (await AutoModelForCausalLM.fromPretrained(out)).forward({ inputIds: ids }).logits;
  const diff = expected.sub(actual).abs().max().item();
  assert.ok(diff < 1e-4, `merged logits differ by ${diff}`);
  assert.equal((await inProcess('merge', '--model', join(HF, 'gpt2'), '--adapter', ADAPTER, '--output', out)).code, EXIT.INPUT);
});

test('info: parameter counts of a model, and an adapter with its targeted modules', async () => {
  const model = await inProcess('--json', 'info', join(HF, 'gpt2'));
  assert.equal(model.code, EXIT.OK, model.err);
  assert.equal(events(model.out)[0]!.parameters, 37760);
  const adapter = await inProcess('--json', 'info', ADAPTER, '--model', join(HF, 'gpt2'));
  assert.equal(adapter.code, EXIT.OK, adapter.err);
  const info = events(adapter.out)[0]!;
  assert.equal(info.method, 'LORA');
  assert.ok((info.targetedModules as string[]).length > 0);
  assert.ok((info.adapterParameters as number) > 0 && (info.adapterParameters as number) < (info.totalParameters as number));
});

test('generate streams the continuation token by token (--json: one event per piece)', async () => {
  const run = await peft('--json', 'generate', '--model', join(HF, 'gpt2'), '--adapter', ADAPTER, '--prompt', 'the cat', '--max-new-tokens', '6');
  assert.equal(run.code, EXIT.OK, run.stderr);
  const pieces = events(run.stdout).filter((e) => e.event === 'token').map((e) => e.text as string);
  const result = events(run.stdout).find((e) => e.event === 'result')!;
  assert.ok(pieces.length >= 1);
  assert.equal(pieces.join(''), result.text);
});
