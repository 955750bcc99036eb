// GGUF constants against the reference values (ggml.h, gguf-py's GGML_QUANT_SIZES).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GGUF_MAGIC,
  GgmlType,
  alignUp,
  ggmlByteLength,
  ggmlType,
  ggmlTypeInfo,
  ggufValueTypeName,
  isValidAlignment,
} from '../../src/gguf/format.js';

const fail = (why: string): never => {
  throw new Error(why);
};

test('the magic is "GGUF" in file order', () => {
  assert.equal(Buffer.from('GGUF', 'latin1').readUInt32LE(0), GGUF_MAGIC);
});

test('block sizes and bytes per block of the common types equal ggml', () => {
  const expected: Record<string, [number, number, number]> = {
    F32: [0, 1, 4],
    F16: [1, 1, 2],
    BF16: [30, 1, 2],
    Q4_0: [2, 32, 18],
    Q4_1: [3, 32, 20],
    Q5_0: [6, 32, 22],
    Q5_1: [7, 32, 24],
    Q8_0: [8, 32, 34],
    Q2_K: [10, 256, 84],
    Q3_K: [11, 256, 110],
    Q4_K: [12, 256, 144],
    Q5_K: [13, 256, 176],
    Q6_K: [14, 256, 210],
    Q8_K: [15, 256, 292],
    IQ4_XS: [23, 256, 136],
    IQ1_M: [29, 256, 56],
    MXFP4: [39, 32, 17],
  };
  for (const [name, [id, block, bytes]] of Object.entries(expected)) {
    const info = ggmlTypeInfo(id);
    assert.deepEqual(info && [info.name, info.blockSize, info.typeSize], [name, block, bytes], name);
  }
});

test('retired and unknown type ids have no info', () => {
  for (const id of [4, 5, 31, 32, 33, 36, 37, 38, 42, 1000, -1]) assert.equal(ggmlTypeInfo(id), undefined, `${id}`);
  assert.equal(Object.keys(GgmlType).length, 34);
});

test('byte lengths count whole blocks, refuse partial blocks and overflow', () => {
  assert.equal(ggmlByteLength(ggmlType('Q8_0'), [64, 3], fail), 2 * 34 * 3);
  assert.equal(ggmlByteLength(ggmlType('Q4_K'), [512], fail), 2 * 144);
  assert.equal(ggmlByteLength(ggmlType('F16'), [5, 7, 2], fail), 140);
  assert.equal(ggmlByteLength(ggmlType('F32'), [], fail), 4);
  assert.throws(() => ggmlByteLength(ggmlType('Q4_K'), [100, 2], fail), /not a whole number of Q4_K blocks of 256/);
  assert.throws(() => ggmlByteLength(ggmlType('F32'), [2 ** 30, 2 ** 30, 2 ** 30], fail), /pass 2\^53/);
});

test('alignment: powers of two only; rounding up', () => {
  for (const a of [1, 2, 32, 4096]) assert.ok(isValidAlignment(a), `${a}`);
  for (const a of [0, 3, 48, -32, 1.5, 2 ** 31]) assert.ok(!isValidAlignment(a), `${a}`);
  assert.equal(alignUp(0, 32), 0);
  assert.equal(alignUp(1, 32), 32);
  assert.equal(alignUp(64, 32), 64);
});

test('value type names', () => {
  assert.equal(ggufValueTypeName(8), 'STRING');
  assert.equal(ggufValueTypeName(12), 'FLOAT64');
  assert.equal(ggufValueTypeName(13), undefined);
});
