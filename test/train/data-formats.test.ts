// Formats (text with packing, instruction, chat, classification, seq2seq) and the collator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExampleDataset, IGNORE_INDEX, collate } from '../../src/train/data/index.js';
import { load, tokenizerOf } from './data-helpers.js';

test('text: packed into blocks of maxLength, each row followed by EOS', async () => {
  const tokenizer = await tokenizerOf('gpt2');
  const eos = tokenizer.eosTokenId!;
  const rowIds = tokenizer.encode('the cat sat on the mat. the cat sat on the mat.');
  const packed = await load('causal.jsonl', tokenizer, { format: 'text', maxLength: 16 });
  const stream = packed.examples.flatMap((e) => e.inputIds);
  assert.deepEqual(stream.slice(0, rowIds.length + 1), [...rowIds, eos]);
  assert.ok(packed.examples.slice(0, -1).every((e) => e.inputIds.length === 16));
  assert.ok(packed.examples.every((e) => e.labels === e.inputIds || JSON.stringify(e.labels) === JSON.stringify(e.inputIds)));
  const unpacked = await load('causal.jsonl', tokenizer, { format: 'text', packing: false, maxLength: 5 });
  assert.equal(unpacked.examples.length, 32);
  assert.deepEqual(unpacked.examples[0]!.inputIds, rowIds.slice(0, 5));
  await assert.rejects(load('causal.jsonl', tokenizer, { format: 'text' }), /packing text needs maxLength/);
});

test('instruction: loss only on the response (and EOS)', async () => {
  const tokenizer = await tokenizerOf('llama');
  const data = await load('instruction.jsonl', tokenizer, { format: 'instruction' });
  const prompt = tokenizer.encode('Q: what sat on the mat 0?');
  const response = tokenizer.encode(' the cat', { addSpecialTokens: false });
  const first = data.examples[0]!;
  assert.deepEqual(first.inputIds, [...prompt, ...response, tokenizer.eosTokenId!]);
  assert.deepEqual(first.labels, [...prompt.map(() => IGNORE_INDEX), ...response, tokenizer.eosTokenId!]);
});

test("chat: rendered with the tokenizer's chat template, loss only on assistant messages", async () => {
  const tokenizer = await tokenizerOf('llama');
  tokenizer.chatTemplate =
    "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";
  const data = await load('chat.jsonl', tokenizer, { format: 'chat' });
  const first = data.examples[0]!;
  const rendered = '<|user|>hello 0<|endoftext|><|assistant|>hi cat<|endoftext|><|user|>bye<|endoftext|><|assistant|>bye bye<|endoftext|>';
  assert.equal(tokenizer.decode(first.inputIds), rendered);
  const trained = (first.labels as number[]).filter((l) => l !== IGNORE_INDEX);
  assert.equal(tokenizer.decode(trained), 'hi cat<|endoftext|>bye bye<|endoftext|>');
});

test('chat: a tokenizer without a chat template is a clear error, not a bad row', async () => {
  const tokenizer = await tokenizerOf('llama');
  await assert.rejects(load('chat.jsonl', tokenizer, { format: 'chat', onBadRow: 'skip' }), /has no chat_template/);
});

test('classification: label names become ids (sorted, or as given); unknown names are bad rows', async () => {
  const tokenizer = await tokenizerOf('bert');
  const sorted = await load('classification.csv', tokenizer, { format: 'classification' });
  assert.deepEqual(sorted.labelNames, ['negative', 'neutral', 'positive']);
  assert.deepEqual(sorted.examples.slice(0, 3).map((e) => e.labels), [2, 0, 1]);
  const given = await load('classification.csv', tokenizer, { format: 'classification', labelNames: ['positive', 'negative', 'neutral'] });
  assert.deepEqual(given.examples.slice(0, 3).map((e) => e.labels), [0, 1, 2]);
  await assert.rejects(load('classification.csv', tokenizer, { format: 'classification', labelNames: ['positive', 'negative'] }), /classification\.csv:4: label 'neutral' is not one of/);
});

test('seq2seq: source ids as inputs, target ids ending in EOS as labels', async () => {
  const tokenizer = await tokenizerOf('t5');
  const data = await load('seq2seq.jsonl', tokenizer, { format: 'seq2seq' });
  assert.deepEqual(data.examples[0]!.inputIds, tokenizer.encode('translate: cat 0'));
  assert.deepEqual(data.examples[0]!.labels, [...tokenizer.encode('CAT'), tokenizer.eosTokenId!]);
});

test('collate pads right or left with the pad id, masks padding, labels -100; int64 tensors', () => {
  const examples = [
    { inputIds: [5, 6, 7], labels: [-100, 6, 7] },
    { inputIds: [8], labels: [8] },
  ];
  const right = collate(examples, { padTokenId: 1 });
  assert.equal(right.inputIds!.dtype, 'int64');
  assert.deepEqual(right.inputIds!.toArray(), [[5, 6, 7], [8, 1, 1]]);
  assert.deepEqual(right.attentionMask!.toArray(), [[1, 1, 1], [1, 0, 0]]);
  assert.deepEqual(right.labels!.toArray(), [[-100, 6, 7], [8, -100, -100]]);
  const left = collate(examples, { padTokenId: 1, paddingSide: 'left', padToMultipleOf: 4 });
  assert.deepEqual(left.inputIds!.toArray(), [[1, 5, 6, 7], [1, 1, 1, 8]]);
  assert.deepEqual(left.attentionMask!.toArray(), [[0, 1, 1, 1], [0, 0, 0, 1]]);
  assert.deepEqual(left.labels!.toArray(), [[-100, -100, 6, 7], [-100, -100, -100, 8]]);
});

test('collate: seq2seq labels get their own length, padded right; class labels are [batch]', () => {
  const seq2seq = collate([{ inputIds: [5, 6], labels: [9, 9, 9] }, { inputIds: [7], labels: [9] }], { padTokenId: 0, paddingSide: 'left' });
  assert.deepEqual(seq2seq.inputIds!.toArray(), [[5, 6], [0, 7]]);
  assert.deepEqual(seq2seq.labels!.toArray(), [[9, 9, 9], [9, -100, -100]]);
  const classes = new ExampleDataset([{ inputIds: [1, 2], labels: 2, tokenTypeIds: [0, 0] }, { inputIds: [3], labels: 0, tokenTypeIds: [0] }], { padTokenId: 0 });
  const batch = classes.batch([1, 0]);
  assert.deepEqual(batch.labels!.toArray(), [0, 2]);
  assert.equal(batch.labels!.dtype, 'int64');
  assert.deepEqual(batch.tokenTypeIds!.toArray(), [[0, 0], [0, 0]]);
  assert.equal(classes.tokens([0, 1]), 3);
  assert.throws(() => classes.batch([2]), /example 2 is out of range/);
});
