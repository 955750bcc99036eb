// AutoTokenizer beyond the recorded probes: the model fixtures' tokenizers, tensors, round trips, chat templates
// rendered by hand, and the typed errors of bad folders, ids and options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { AutoTokenizer as FromPackage, MissingFileError } from '../../src/index.js';
import { AutoTokenizer, TokenizerError, type PreTrainedTokenizer } from '../../src/io/tokenizer/index.js';
import { HF, TOKENIZERS, readJSON } from './helpers.js';

const load = (family: string): Promise<PreTrainedTokenizer> => AutoTokenizer.fromPretrained(join(TOKENIZERS, family));

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'peftjs-tokenizer-'));
  after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Asserts that `run` throws a TokenizerError with `code` whose message contains every `parts`. */
async function rejectsWith(run: () => unknown, code: string, ...parts: string[]): Promise<void> {
  await assert.rejects(async () => run(), (error: unknown) => {
    assert.ok(error instanceof TokenizerError, `expected a TokenizerError, got ${String(error)}`);
    assert.equal(error.code, code);
    for (const part of parts) assert.ok(error.message.includes(part), `"${error.message}" should mention ${part}`);
    return true;
  });
}

const CASES = readJSON<{ text: string; ids: number[] }[]>(join(HF, '_tokenizer', 'tokenizer_cases.json'));
const MODEL_FOLDERS = ['_tokenizer', 'gpt2', 'llama', 'qwen2', 'mistral', 'llama3rope', 'bert', 'roberta', 't5'];

test('AutoTokenizer is exported by the package', () => {
  assert.equal(FromPackage, AutoTokenizer);
});

for (const folder of MODEL_FOLDERS) {
  test(`${folder}: ids identical to Hugging Face on tokenizer_cases.json, all within the model's vocabulary`, async () => {
    assert.ok(existsSync(join(HF, folder, 'tokenizer.json')));
    const tok = await AutoTokenizer.fromPretrained(join(HF, folder));
    for (const { text, ids } of CASES) assert.deepEqual(tok.encode(text), ids, text);
    if (folder !== '_tokenizer') {
      const config = readJSON<{ vocab_size: number }>(join(HF, folder, 'config.json'));
      assert.ok(tok.length <= config.vocab_size, `${tok.length} tokens, ${config.vocab_size} embeddings`);
    }
  });
}

test('decode(encode(text)) gives the text back (byte-level BPE keeps every byte)', async () => {
  const tok = await load('bytelevel');
  for (const { text } of CASES) assert.equal(tok.decode(tok.encode(text)), text);
  assert.deepEqual(tok.batchDecode(CASES.map((c) => c.ids)), CASES.map((c) => c.text));
});

test('padding right and left, as int64 tensors', async () => {
  const tok = await load('wordpiece'); // [CLS]=2 ... [SEP]=3, [PAD]=0
  const ab = tok.encode('hello world');
  const a = tok.encode('hello');
  const pads = new Array<number>(ab.length - a.length).fill(0);
  const ones = (ids: number[]) => ids.map(() => 1);
  assert.ok(pads.length > 0);
  const right = tok.call(['hello', 'hello world'], { padding: true, returnTensors: 'int64' });
  assert.equal(right.inputIds.dtype, 'int64');
  assert.deepEqual(right.inputIds.shape, [2, ab.length]);
  assert.deepEqual(right.inputIds.toArray(), [[...a, ...pads], ab]);
  assert.deepEqual(right.attentionMask.toArray(), [[...ones(a), ...pads], ones(ab)]);
  const left = tok.encodeBatch(['hello', 'hello world'], { padding: 'longest', paddingSide: 'left', returnTensors: 'int32' });
  assert.equal(left.inputIds.dtype, 'int32');
  assert.deepEqual(left.inputIds.toArray(), [[...pads, ...a], ab]);
  assert.deepEqual(left.attentionMask.toArray(), [[...pads, ...ones(a)], ones(ab)]);
  // A tensor row decodes like the list it came from; padding goes with skipSpecialTokens.
  assert.equal(tok.decode(left.inputIds.select(0, 0), { skipSpecialTokens: true }), 'hello');
  assert.deepEqual(tok.batchDecode(left.inputIds, { skipSpecialTokens: true }), ['hello', 'hello world']);
});

test('padding to max_length and truncation keep the special tokens', async () => {
  const tok = await load('wordpiece');
  const words = tok.encode('hello world hello world hello', { addSpecialTokens: false });
  const out = tok.call('hello world hello world hello', { truncation: true, maxLength: 4 });
  assert.deepEqual(out.inputIds, [tok.clsTokenId, ...words.slice(0, 2), tok.sepTokenId]);
  const hello = tok.encode('hello', { addSpecialTokens: false });
  const padded = tok.call('hello', { padding: 'max_length', maxLength: hello.length + 5 });
  assert.deepEqual(padded.inputIds, [tok.clsTokenId, ...hello, tok.sepTokenId, 0, 0, 0]);
  assert.deepEqual(padded.attentionMask, [1, ...hello.map(() => 1), 1, 0, 0, 0]);
});

test('special tokens: names, ids, skipping them in decode', async () => {
  const tok = await load('metaspace');
  assert.deepEqual([tok.bosToken, tok.eosToken, tok.unkToken, tok.padToken], ['<s>', '</s>', '<unk>', null]);
  assert.deepEqual([tok.bosTokenId, tok.eosTokenId, tok.unkTokenId, tok.padTokenId], [1, 2, 0, null]);
  const ids = tok.encode('Hello world');
  assert.equal(ids[0], tok.bosTokenId);
  assert.equal(tok.decode(ids), '<s> Hello world');
  assert.equal(tok.decode(ids, { skipSpecialTokens: true }), 'Hello world');
  assert.deepEqual(tok.convertTokensToIds(['<s>', '</s>', 'not-a-token']), [1, 2, 0]);
  assert.deepEqual(tok.convertIdsToTokens([1, 2]), ['<s>', '</s>']);
  tok.padToken = tok.eosToken;
  assert.equal(tok.padTokenId, 2);
});

test('chat template: the Qwen2.5 template, rendered as its text says', async () => {
  const tok = await load('chatml');
  const messages = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Hi' },
  ];
  // The template writes each message as <|im_start|>{role}\n{content}<|im_end|>\n, then the assistant header.
  const expected = '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n';
  assert.equal(tok.applyChatTemplate(messages, { addGenerationPrompt: true, tokenize: false }), expected);
  const ids = tok.applyChatTemplate(messages, { addGenerationPrompt: true });
  assert.deepEqual(ids, tok.encode(expected, { addSpecialTokens: false }));
  assert.equal(ids.filter((id) => id === 320).length, 3); // <|im_start|> stays one token
  // Without a system message the template supplies its default one.
  const user = tok.applyChatTemplate([{ role: 'user', content: 'Hi' }], { tokenize: false });
  assert.ok(user.startsWith('<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n'));
});

test('chat template: one passed in, with the special tokens and extra variables', async () => {
  const tok = await load('wordpiece');
  const template = '{% for m in messages %}{{ cls_token }}{{ m.role }}: {{ m.content }}{{ sep_token }}{% endfor %}{% if add_generation_prompt %}{{ who }}:{% endif %}';
  const text = tok.applyChatTemplate([{ role: 'user', content: 'hello' }], { chatTemplate: template, addGenerationPrompt: true, tokenize: false, variables: { who: 'bot' } });
  assert.equal(text, '[CLS]user: hello[SEP]bot:');
});

test('missing folder or tokenizer.json: MissingFileError naming the path', async () => {
  const missing = join(tmpdir(), 'peftjs-no-such-folder');
  await assert.rejects(AutoTokenizer.fromPretrained(missing), (e: unknown) => e instanceof MissingFileError && e.message.includes(missing));
  const dir = await tempDir();
  await assert.rejects(AutoTokenizer.fromPretrained(dir), (e: unknown) => e instanceof MissingFileError && e.message.includes(join(dir, 'tokenizer.json')) && e.message.includes('save_pretrained'));
});

test('malformed files: TokenizerError naming the file', async () => {
  const dir = await tempDir();
  await writeFile(join(dir, 'tokenizer.json'), '{"model": ');
  await rejectsWith(() => AutoTokenizer.fromPretrained(dir), 'E_TOKENIZER_FILE', join(dir, 'tokenizer.json'), 'not valid JSON');
  await writeFile(join(dir, 'tokenizer.json'), '{"version": "1.0"}');
  await rejectsWith(() => AutoTokenizer.fromPretrained(dir), 'E_TOKENIZER_FILE', 'no "model" with a "vocab"');
  await copyFile(join(TOKENIZERS, 'bytelevel', 'tokenizer.json'), join(dir, 'tokenizer.json'));
  await writeFile(join(dir, 'tokenizer_config.json'), '{"padding_side": "middle"}');
  await rejectsWith(() => AutoTokenizer.fromPretrained(dir), 'E_TOKENIZER_FILE', 'padding_side', '"middle"');
});

test('token ids outside the vocabulary: E_TOKEN_ID naming the id', async () => {
  const tok = await load('bytelevel');
  for (const id of [-1, 320, 1e9, 1.5, Number.NaN]) {
    await rejectsWith(() => tok.decode([41, id]), 'E_TOKEN_ID', String(id), '0 to 319');
  }
  await rejectsWith(() => tok.convertIdsToTokens([5000]), 'E_TOKEN_ID', '5000');
  assert.equal(tok.decode([]), '');
});

test('bad options: E_TOKENIZER_OPTION naming the value and what is accepted', async () => {
  const tok = await load('bytelevel');
  await rejectsWith(() => tok.call(['a'], { padding: 'yes' as never }), 'E_TOKENIZER_OPTION', '"yes"', "'max_length'");
  await rejectsWith(() => tok.call(['a'], { truncation: 'both' as never }), 'E_TOKENIZER_OPTION', '"both"', "'only_first'");
  await rejectsWith(() => tok.call(['a'], { maxLength: -2, truncation: true }), 'E_TOKENIZER_OPTION', 'maxLength', '-2');
  await rejectsWith(() => tok.call(['a'], { padding: true, paddingSide: 'up' as never }), 'E_TOKENIZER_OPTION', '"up"');
  await rejectsWith(() => tok.call(['a'], { returnTensors: 'float32' as never }), 'E_TOKENIZER_OPTION', '"float32"', "'int64'");
  await rejectsWith(() => tok.call(['a', 'b'], { textPair: ['c'] }), 'E_TOKENIZER_OPTION', 'one text per input (2)');
  await rejectsWith(() => tok.encode(42 as never), 'E_TOKENIZER_OPTION', 'must be a string', 'number');
  await rejectsWith(() => tok.encodeBatch('abc' as never), 'E_TOKENIZER_OPTION', 'a list of texts', 'encode(text)');
});

test('rows of different lengths cannot become a tensor: E_RAGGED_BATCH says to pad', async () => {
  const tok = await load('bytelevel');
  await rejectsWith(() => tok.call(['a', 'abc'], { returnTensors: 'int64' }), 'E_RAGGED_BATCH', '1, 3', 'padding: true');
});

test('padding without a pad token, and truncation shorter than the special tokens', async () => {
  const tok = await load('metaspace');
  await rejectsWith(() => tok.call(['a', 'bb'], { padding: true }), 'E_NO_PAD_TOKEN', 'tokenizer.padToken = tokenizer.eosToken');
  const bert = await load('wordpiece');
  await rejectsWith(() => bert.call('hello', { truncation: true, maxLength: 1 }), 'E_TRUNCATION', 'maxLength 1', '2 special tokens');
});

test('chat template errors: none defined, empty conversation, exclusive options, template failures', async () => {
  const bert = await load('wordpiece');
  await rejectsWith(() => bert.applyChatTemplate([{ role: 'user', content: 'hi' }]), 'E_NO_CHAT_TEMPLATE', 'chatTemplate');
  const tok = await load('chatml');
  await rejectsWith(() => tok.applyChatTemplate([]), 'E_TOKENIZER_OPTION', 'at least one message');
  await rejectsWith(() => tok.applyChatTemplate([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true, continueFinalMessage: true }), 'E_TOKENIZER_OPTION', 'continueFinalMessage');
  await rejectsWith(() => tok.applyChatTemplate([{ role: 'user', content: 'hi' }], { chatTemplate: "{{ raise_exception('no users here') }}" }), 'E_CHAT_TEMPLATE', 'no users here');
  await rejectsWith(() => tok.applyChatTemplate([{ role: 'user', content: 'hi' }], { chatTemplate: '{% for %}' }), 'E_CHAT_TEMPLATE');
});
