// SentencePiece-style GGUF tokenizers (tokenizer.ggml.model = "llama") give llama.cpp's ids and text: a
// hand-built vocabulary (byte-fallback tokens, random scores with ties, user-defined and control tokens)
// written as GGUF and read by node-llama-cpp's llama.cpp and by AutoTokenizer.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoTokenizer } from '../../src/index.js';
import { architectureMetadata } from '../../src/gguf/export/model-metadata.js';
import { GgufFormatError } from '../../src/gguf/errors.js';
import { writeGguf } from '../../src/gguf/writer.js';
import { gguf, type GgufValue } from '../../src/gguf/metadata.js';
import type { ModelConfig } from '../../src/io/index.js';
import { FIXTURES } from '../helpers/parity.js';
import { disposeLlamaCpp, withLlamaCppVocab } from './llamacpp.js';

const TEXTS = [
  'Hello world',
  'The theater thesis: then there were three.',
  '  leading spaces and\nnewlines\t!',
  'trailing space ',
  ' ',
  '',
  'unicode: café – 日本語 🙂 naïve',
  'aaaaaaaaaa bbbb abab',
  'a<|user|>b <|im_end|> c<|user|><|user|>',
  '<s>Hello</s> world</s>',
  'x<unk>y',
  'Zebra QUIZ ~~ {}',
];

// Words the vocabulary's pieces come from (so merges happen); 🙂, 語, Z, Q, ~ stay out (byte fallback).
const CORPUS =
  'hello world the theater thesis then there were three leading spaces and newlines trailing space unicode café – 日本 naïve aaaa bbbb abab';

/** A seeded generator (mulberry32), so the vocabulary is the same on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function vocabulary(): { tokens: string[]; scores: number[]; types: number[] } {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [2, 3, 3];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
  }
  tokens.push('<|user|>', '<|im_end|>');
  types.push(4, 3);
  const pieces = new Set<string>();
  const escaped = CORPUS.split(' ').map((w) => `\u2581${w}`);
  for (const word of [...escaped, 'HELLO', 'e\u2581']) {
    const chars = [...word];
    for (let i = 0; i < chars.length; i++) {
      for (let n = 1; n <= 5 && i + n <= chars.length; n++) pieces.add(chars.slice(i, i + n).join(''));
    }
  }
  const rand = random(13);
  const scores = tokens.map(() => 0);
  for (const piece of pieces) {
    if (piece.length > 1 && rand() < 0.35) continue; // holes: some merges must go another way
    tokens.push(piece);
    types.push(1);
    // Few distinct scores, so ties (broken leftmost-first) are common.
    scores.push(-Math.floor(rand() * 12));
  }
  return { tokens, scores, types };
}

let dir = '';
let path = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'peftjs-gguf-spm-'));
  path = join(dir, 'spm.gguf');
  const config = JSON.parse(await readFile(join(FIXTURES, 'llama', 'config.json'), 'utf8')) as ModelConfig;
  const { tokens, scores, types } = vocabulary();
  const metadata = new Map<string, GgufValue>([
    ['general.architecture', gguf.str('llama')],
    ...architectureMetadata(config),
    ['tokenizer.ggml.model', gguf.str('llama')],
    ['tokenizer.ggml.tokens', gguf.strings(tokens)],
    ['tokenizer.ggml.scores', gguf.f32s(scores)],
    ['tokenizer.ggml.token_type', gguf.i32s(types)],
    ['tokenizer.ggml.bos_token_id', gguf.u32(1)],
    ['tokenizer.ggml.eos_token_id', gguf.u32(2)],
    ['tokenizer.ggml.unknown_token_id', gguf.u32(0)],
    ['tokenizer.ggml.add_bos_token', gguf.bool(true)],
    ['tokenizer.ggml.add_eos_token', gguf.bool(false)],
  ]);
  await writeGguf(path, metadata, []);
});
after(async () => {
  await disposeLlamaCpp();
  await rm(dir, { recursive: true, force: true });
});

test('SPM GGUF: AutoTokenizer gives llama.cpp ids and text', async () => {
  const tokenizer = await AutoTokenizer.fromPretrained(path);
  await withLlamaCppVocab(path, (llama) => {
    let merged = 0;
    for (const text of TEXTS) {
      const ids = [...llama.tokenize(text, true)];
      assert.deepEqual(tokenizer.encode(text, { addSpecialTokens: false }), ids, JSON.stringify(text));
      assert.deepEqual(tokenizer.encode(text), [1, ...ids], `BOS + ${JSON.stringify(text)}`);
      for (const row of [ids, [1, ...ids, 2]]) {
        assert.equal(tokenizer.decode(row), llama.detokenize(row as never[], true), `decode ${JSON.stringify(text)}`);
        assert.equal(
          tokenizer.decode(row, { skipSpecialTokens: true }),
          llama.detokenize(row as never[], false),
          `decode without specials ${JSON.stringify(text)}`,
        );
      }
      merged += tokenizer.tokenize(text).filter((t) => [...t].length > 1 && !t.startsWith('<')).length;
    }
    // The cases do exercise merges and byte fallback (<0xF0> starts 🙂's bytes).
    assert.ok(merged > 20, `${merged} merged pieces`);
    assert.ok(tokenizer.tokenize('🙂').includes('<0xF0>'));
  });
  assert.equal(tokenizer.bosToken, '<s>');
  assert.equal(tokenizer.eosTokenId, 2);
});

test('SPM GGUF: a character without a byte token is a typed error', async () => {
  const bare = join(dir, 'no-bytes.gguf');
  await writeGguf(
    bare,
    new Map<string, GgufValue>([
      ['tokenizer.ggml.model', gguf.str('llama')],
      ['tokenizer.ggml.tokens', gguf.strings(['<unk>', '<s>', '</s>', '\u2581a', '\u2581'])],
    ]),
    [],
  );
  const tokenizer = await AutoTokenizer.fromPretrained(bare);
  assert.deepEqual(tokenizer.encode('a', { addSpecialTokens: false }), [3]);
  assert.throws(
    () => tokenizer.encode('b'),
    (e) => e instanceof GgufFormatError && /<0x62>/.test(e.message),
  );
});
