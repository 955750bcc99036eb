// The other subcommands: --help with an example each, merge to a loadable HF checkpoint, info, generate (causal and seq2seq), bench on every task.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AutoModelForCausalLM, AutoModelForImageClassification, AutoModelForSeq2SeqLM, AutoTokenizer, PeftModel, loadSafetensors, randn, tensor } from '../../src/index.js';
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

test('generate on a sequence-to-sequence model (T5 + LoRA) streams the decoder\'s text, equal to generate + decode', async () => {
  const run = await inProcess('--json', 'generate', '--model', join(HF, 't5'), '--adapter', join(HF, 't5/peft/lora'), '--prompt', 'translate: the cat', '--max-new-tokens', '5');
  assert.equal(run.code, EXIT.OK, run.err);
  const pieces = events(run.out).filter((e) => e.event === 'token').map((e) => e.text as string);
  const text = events(run.out).find((e) => e.event === 'result')!.text as string;
  assert.equal(pieces.join(''), text);

  const tokenizer = await AutoTokenizer.fromPretrained(join(HF, 't5'));
  const model = await PeftModel.fromPretrained(await AutoModelForSeq2SeqLM.fromPretrained(join(HF, 't5')), join(HF, 't5/peft/lora'));
  const ids = tokenizer.encode('translate: the cat');
  const out = model.generate(tensor(ids, [1, ids.length], 'int64'), { maxNewTokens: 5, eosTokenId: tokenizer.eosTokenId! });
  const produced = out.toFlatArray().slice(1).map(Number).filter((t) => t !== tokenizer.eosTokenId);
  assert.equal(text, tokenizer.decode(produced, { skipSpecialTokens: true }));
});

test('generate refuses models that do not generate text, naming the class and what to use', async () => {
  const bert = await inProcess('generate', '--model', join(HF, 'bert'), '--prompt', 'hello');
  assert.equal(bert.code, EXIT.USAGE);
  assert.match(bert.err, /needs a model that generates text.*BertForSequenceClassification.*peft eval/);
  const vit = await inProcess('generate', '--model', join(HF, 'vit'), '--adapter', join(HF, 'vit/peft/lora'), '--prompt', 'hello');
  assert.equal(vit.code, EXIT.USAGE);
  assert.match(vit.err, /image-classification/);
});

test('bench times every task on random inputs of its shapes: training, forward passes and generation', async () => {
  const cases: [string[], string, string][] = [
    [['--model', join(HF, 'gpt2')], 'causal-lm', 'tokensPerSecond'],
    [['--model', join(HF, 'gpt2'), '--mode', 'forward'], 'causal-lm', 'tokensPerSecond'],
    [['--model', join(HF, 'gpt2'), '--mode', 'generate', '--new-tokens', '3'], 'causal-lm', 'newTokensPerSecond'],
    [['--model', join(HF, 't5'), '--mode', 'generate', '--new-tokens', '3'], 'seq2seq-lm', 'newTokensPerSecond'],
    [['--model', join(HF, 't5')], 'seq2seq-lm', 'tokensPerSecond'],
    [['--model', join(HF, 'bert'), '--method', '{"peft_type":"IA3","target_modules":["key","value","output.dense"],"feedforward_modules":["output.dense"]}'], 'sequence-classification', 'tokensPerSecond'],
    [['--model', join(HF, 'bert'), '--task', 'token-classification'], 'token-classification', 'tokensPerSecond'],
    [['--model', join(HF, 'vit')], 'image-classification', 'examplesPerSecond'],
  ];
  for (const [args, task, rate] of cases) {
    const run = await inProcess('--json', 'bench', ...args, '--steps', '2', '--batch-size', '2', '--seq-len', '8');
    assert.equal(run.code, EXIT.OK, `${args.join(' ')}: ${run.err}`);
    const out = events(run.out)[0]!;
    assert.equal(out.task, task, args.join(' '));
    assert.ok((out[rate] as number) > 0 && (out.examplesPerSecond as number) > 0, `${args.join(' ')}: ${JSON.stringify(out)}`);
    assert.ok((out.trainable as number) > 0 && (out.trainable as number) < (out.total as number));
  }
  const bad = await inProcess('bench', '--model', join(HF, 'bert'), '--mode', 'generate');
  assert.equal(bad.code, EXIT.USAGE);
  assert.match(bad.err, /--mode generate needs a causal or seq2seq LM/);
  assert.match((await inProcess('bench', '--model', join(HF, 'gpt2'), '--mode', 'fast')).err, /--mode must be one of train, forward, generate, not 'fast'/);
});

test('info and merge on a ViT adapter (HF saves it without task_type): the folder\'s own image classifier', async () => {
  const model = await inProcess('--json', 'info', join(HF, 'vit'));
  assert.equal(model.code, EXIT.OK, model.err);
  assert.equal(events(model.out)[0]!.architecture, 'ViTForImageClassification');
  const adapter = await inProcess('--json', 'info', join(HF, 'vit/peft/lora'), '--model', join(HF, 'vit'));
  assert.equal(adapter.code, EXIT.OK, adapter.err);
  assert.ok((events(adapter.out)[0]!.targetedModules as string[]).some((m) => m.endsWith('q_proj')));

  const out = join(tempDir(), 'merged');
  const merged = await inProcess('merge', '--model', join(HF, 'vit'), '--adapter', join(HF, 'vit/peft/lora'), '--output', out);
  assert.equal(merged.code, EXIT.OK, merged.err);
  const pixels = randn([1, 3, 16, 16]);
  const expected = (await PeftModel.fromPretrained(await AutoModelForImageClassification.fromPretrained(join(HF, 'vit')), join(HF, 'vit/peft/lora'))).forward({ pixelValues: pixels }).logits;
  const actual = (await AutoModelForImageClassification.fromPretrained(out)).forward({ pixelValues: pixels }).logits;
  assert.ok(Number(expected.sub(actual).abs().max().item()) < 1e-4);
});
