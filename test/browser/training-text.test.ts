// The page's training text: plain text or JSONL into documents, and tokens into fixed-length rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { documents, tokenRows } from '../../src/browser/training-text.js';
import { PeftError } from '../../src/index.js';

test('JSONL lines give their "text", or their string fields joined; plain text is one document', () => {
  assert.deepEqual(documents('{"text": "a b"}\n\n{"prompt": "q", "n": 3, "answer": "r"}\n'), ['a b', 'q\nr']);
  assert.deepEqual(documents('{"text": "x"}', 'text'), ['{"text": "x"}']);
  assert.deepEqual(documents('just words\nand more'), ['just words\nand more']);
});

test('a malformed JSONL line is refused naming its line number', () => {
  assert.throws(
    () => documents('{"text": "a"}\n{oops\n'),
    (e: unknown) => e instanceof PeftError && /JSONL line 2 is not JSON/.test(e.message),
  );
  assert.throws(() => documents('{"text": "a"}\n[1, 2]'), /JSONL line 2 must be a JSON object/);
});

test('rows are consecutive slices of the documents joined by eos; too little text is refused', () => {
  assert.deepEqual(
    tokenRows(
      [
        [1, 2, 3],
        [4, 5],
      ],
      3,
      0,
    ),
    [
      [1, 2, 3],
      [0, 4, 5],
    ],
  );
  assert.deepEqual(
    tokenRows(
      [
        [1, 2, 3],
        [4, 5],
      ],
      2,
      null,
    ),
    [
      [1, 2],
      [3, 4],
    ],
  );
  assert.throws(() => tokenRows([[1, 2]], 8, null), /has 2 tokens, fewer than one row of 8/);
});
