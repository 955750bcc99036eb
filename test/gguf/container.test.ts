// GGUF container: what the writer writes reads back exactly (metadata of every type, tensors of
// several types, alignment), lazily; hostile files are refused with a GgufFormatError, fast.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GgufFormatError } from '../../src/gguf/errors.js';
import { GgufFile } from '../../src/gguf/reader.js';
import { writeGguf, type GgufTensorToWrite } from '../../src/gguf/writer.js';
import { gguf, type GgufValue } from '../../src/gguf/metadata.js';
import { tempDir } from '../io/helpers.js';

const METADATA_FIELDS: Record<string, GgufValue> = {
  'general.architecture': gguf.str('llama'),
  'llama.block_count': gguf.u32(2),
  'llama.rope.freq_base': gguf.f32(10000),
  'x.u8': { type: 'UINT8', value: 255 },
  'x.i8': { type: 'INT8', value: -128 },
  'x.u16': { type: 'UINT16', value: 65535 },
  'x.i16': { type: 'INT16', value: -2 },
  'x.i32': gguf.i32(-7),
  'x.f64': { type: 'FLOAT64', value: 0.1 },
  'x.bool': gguf.bool(true),
  'x.u64': gguf.u64(2n ** 63n),
  'x.i64': { type: 'INT64', value: -5n },
  'x.unicode': gguf.str('héllo ▁ 你好'),
  'tokenizer.ggml.tokens': gguf.strings(['<s>', '▁a', 'Ġb', '']),
  'tokenizer.ggml.scores': gguf.f32s(new Float32Array([0, -1.5, 2.25, 3])),
  'tokenizer.ggml.token_type': gguf.i32s(new Int32Array([3, 1, 1, 6])),
  'x.bools': { type: 'ARRAY', itemType: 'BOOL', value: [true, false] },
  'x.u64s': { type: 'ARRAY', itemType: 'UINT64', value: new BigUint64Array([1n, 2n ** 40n]) },
};

const METADATA = new Map(Object.entries(METADATA_FIELDS));

function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

const TENSORS: GgufTensorToWrite[] = [
  { name: 'token_embd.weight', type: 'F32', shape: [3, 2], data: () => f32Bytes([1, 2, 3, 4, 5, 6]) },
  { name: 'blk.0.attn_q.weight', type: 'F16', shape: [1, 3], data: () => new Uint8Array([1, 0, 2, 0, 3, 0]) },
  { name: 'blk.0.ffn_up.weight', type: 'Q8_0', shape: [2, 32], data: async () => new Uint8Array(68).fill(7) },
  { name: 'output_norm.weight', type: 'BF16', shape: [5], data: () => new Uint8Array(10).fill(9) },
];

test("metadata larger than the writer's first 64 KiB buffer reads back (a real vocabulary)", async () => {
  // The header sink grows as it fills; every value written across the growth must land in the new buffer.
  const tokens = Array.from({ length: 20000 }, (_, i) => `token-${i}`);
  const path = join(await tempDir(), 'big.gguf');
  const metadata = new Map([
    ['general.architecture', gguf.str('llama')],
    ['tokenizer.ggml.tokens', gguf.strings(tokens)],
    ['tokenizer.ggml.scores', gguf.f32s(new Float32Array(tokens.length).fill(0.5))],
  ]);
  await writeGguf(path, metadata, TENSORS);
  await using file = await GgufFile.open(path);
  assert.deepEqual(Array.from(file.metadata.get('tokenizer.ggml.tokens')!.value as ArrayLike<string>), tokens);
  assert.equal((file.metadata.get('tokenizer.ggml.scores')!.value as Float32Array)[19999], 0.5);
  assert.deepEqual(await file.readBytes('token_embd.weight'), f32Bytes([1, 2, 3, 4, 5, 6]));
});

test('written files read back: metadata of every type, tensor infos, bytes, alignment', async () => {
  const dir = await tempDir();
  for (const alignment of [32, 64]) {
    const path = join(dir, `m${alignment}.gguf`);
    await writeGguf(path, METADATA, TENSORS, alignment);
    await using file = await GgufFile.open(path);
    assert.equal(file.version, 3);
    assert.equal(file.alignment, alignment);
    assert.equal(file.architecture, 'llama');
    for (const [key, value] of METADATA) {
      const read = file.metadata.get(key)!;
      assert.equal(read.type, value.type, key);
      if (value.type === 'ARRAY')
        assert.deepEqual(
          Array.from(read.value as ArrayLike<unknown>),
          Array.from(value.value as ArrayLike<unknown>),
          key,
        );
      else if (value.type === 'FLOAT32') assert.equal(read.value, Math.fround(value.value), key);
      else assert.equal(read.value, value.value, key);
    }
    assert.equal(file.metadata.has('general.alignment'), alignment !== 32);
    assert.equal(file.metadata.count('llama.block_count'), 2);
    assert.deepEqual(
      [...file.tensors.keys()],
      TENSORS.map((t) => t.name),
    );
    const q = file.tensor('blk.0.ffn_up.weight');
    assert.deepEqual([q.type.name, q.dims, q.shape, q.byteLength], ['Q8_0', [32, 2], [2, 32], 68]);
    for (const t of file.tensors.values()) assert.equal(t.fileOffset % alignment, 0, t.name);
    assert.deepEqual(await file.readBytes('token_embd.weight'), f32Bytes([1, 2, 3, 4, 5, 6]));
    assert.deepEqual(await file.readBytes('blk.0.attn_q.weight'), new Uint8Array([1, 0, 2, 0, 3, 0]));
    assert.deepEqual(await file.readBytes('blk.0.ffn_up.weight'), new Uint8Array(68).fill(7));
    assert.deepEqual(await file.readBytes('output_norm.weight'), new Uint8Array(10).fill(9));
    assert.throws(() => file.tensor('nope'), /'nope': not in this file, which holds 4 tensors/);
    assert.throws(() => file.metadata.string('llama.block_count'), /must be a string; it is UINT32 2/);
  }
});

test('the writer refuses bad input before writing anything', async () => {
  const dir = await tempDir();
  const path = join(dir, 'bad.gguf');
  const cases: [GgufTensorToWrite[], Record<string, GgufValue>, RegExp][] = [
    [[TENSORS[0]!, TENSORS[0]!], {}, /appears twice/],
    [[{ ...TENSORS[0]!, name: 'x'.repeat(64) }], {}, /64 bytes long; ggml's limit is 63/],
    [[{ ...TENSORS[0]!, shape: [1, 1, 1, 1, 6] }], {}, /5 dimensions; GGUF holds 1 to 4/],
    [[{ ...TENSORS[2]!, shape: [2, 30] }], {}, /not a whole number of Q8_0 blocks/],
    [[], { k: gguf.u32(-1) }, /'k': UINT32 -1 is not a UINT32 value/],
    [[], { k: { type: 'UINT8', value: 256 } }, /UINT8 256 is not a UINT8 value/],
    [[], { 'general.alignment': gguf.u32(64) }, /general.alignment is UINT32 64 but the writer aligns to 32/],
  ];
  for (const [tensors, metadata, expected] of cases) {
    await assert.rejects(
      writeGguf(path, new Map(Object.entries(metadata)), tensors),
      (e) => (e instanceof GgufFormatError && expected.test(e.message)) || assert.fail(String(e)),
    );
  }
  await assert.rejects(
    writeGguf(path, new Map(), [{ ...TENSORS[0]!, data: () => new Uint8Array(4) }]),
    /data\(\) gave 4 bytes; \[3, 2\] in F32 is 24/,
  );
  assert.deepEqual(await readdir(dir), [], 'nothing half-written stays');
});

// --- hostile files, made byte by byte ---

class Bytes {
  parts: Buffer[] = [];
  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.parts.push(b);
    return this;
  }
  u64(v: bigint | number): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.parts.push(b);
    return this;
  }
  str(s: string, length?: bigint): this {
    const b = Buffer.from(s, 'utf8');
    this.u64(length ?? BigInt(b.length));
    this.parts.push(b);
    return this;
  }
  raw(n: number): this {
    this.parts.push(Buffer.alloc(n));
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const head = (tensors: number | bigint, kvs: number | bigint, version = 3): Bytes =>
  new Bytes().u32(0x46554747).u32(version).u64(tensors).u64(kvs);

/** One tensor info: name, dims (innermost first), type, offset. */
const info = (b: Bytes, name: string, dims: (number | bigint)[], type: number, offset: number | bigint): Bytes => {
  b.str(name).u32(dims.length);
  for (const d of dims) b.u64(d);
  return b.u32(type).u64(offset);
};

test('hostile files are refused with a GgufFormatError, fast and without large allocations', async () => {
  const dir = await tempDir();
  const valid = join(dir, 'valid.gguf');
  await writeGguf(valid, METADATA, TENSORS);
  const whole = await readFile(valid);
  const cases: [string, Buffer, RegExp][] = [
    ['empty', Buffer.alloc(0), /the magic and version needs 8 bytes/],
    ['not gguf', Buffer.from('PK\x03\x04 and more bytes here'), /not a GGUF file/],
    ['version 1', head(0, 0, 1).done(), /version 1 \(2023\)/],
    ['big-endian', head(0, 0, 0x03000000).done(), /big-endian/],
    ['version 9', head(0, 0, 9).done(), /version 9; peftjs reads versions 2 and 3/],
    ['truncated', whole.subarray(0, whole.length - 40), /run past the end|truncated/],
    ['truncated header', whole.subarray(0, 200), /truncated/],
    ['absurd tensor count', head(2n ** 62n, 0).done(), /claims 4611686018427387904 tensors/],
    [
      'absurd kv count',
      head(0, 2n ** 40n)
        .raw(100)
        .done(),
      /metadata entries, more than its remaining/,
    ],
    [
      'key length past the end',
      head(0, 1)
        .str('k', 2n ** 60n)
        .raw(20)
        .done(),
      /claims 1152921504606846976 bytes; the limit is 65535/,
    ],
    [
      'string length overflows',
      head(0, 1)
        .str('k')
        .u32(8)
        .u64(2n ** 64n - 1n)
        .raw(8)
        .done(),
      /claims 18446744073709551615 bytes; the limit is 16/,
    ],
    ['unknown value type', head(0, 1).str('k').u32(13).raw(8).done(), /value type 13, which GGUF does not define/],
    ['array of arrays', head(0, 1).str('k').u32(9).u32(9).u64(1).raw(8).done(), /array of arrays/],
    [
      'absurd array length',
      head(0, 1)
        .str('k')
        .u32(9)
        .u32(6)
        .u64(2n ** 61n)
        .raw(16)
        .done(),
      /claims 2305843009213693952 FLOAT32 items/,
    ],
    [
      'absurd string array',
      head(0, 1).str('k').u32(9).u32(8).u64(1e9).raw(64).done(),
      /claims 1000000000 STRING items/,
    ],
    ['duplicate key', head(0, 2).str('k').u32(4).u32(1).str('k').u32(4).u32(2).done(), /'k': appears twice/],
    [
      'too many dims',
      info(head(1, 0), 't', [1, 1, 1, 1, 1], 0, 0).raw(64).done(),
      /5 dimensions; ggml tensors have at most 4/,
    ],
    [
      'unknown tensor type',
      info(head(1, 0), 't', [4], 31, 0).raw(64).done(),
      /ggml type id 31, which is unknown or retired/,
    ],
    [
      'dim past 2^53',
      info(head(1, 0), 't', [2n ** 60n], 0, 0)
        .raw(64)
        .done(),
      /dimension 0 1152921504606846976 is past 2\^53/,
    ],
    [
      'size overflows',
      info(head(1, 0), 't', [2 ** 30, 2 ** 30, 2 ** 30], 0, 0)
        .raw(64)
        .done(),
      /pass 2\^53 bytes/,
    ],
    [
      'offset past the end',
      info(head(1, 0), 't', [4], 0, 2n ** 40n)
        .raw(64)
        .done(),
      /run past the end/,
    ],
    ['misaligned', info(head(1, 0), 't', [4], 0, 4).raw(64).done(), /offset 4 is not a multiple of the alignment 32/],
    [
      'long tensor name',
      info(head(1, 0), 'n'.repeat(64), [4], 0, 0).raw(64).done(),
      /claims 64 bytes; the limit is 63/,
    ],
    [
      'duplicate tensor',
      info(info(head(2, 0), 't', [4], 0, 0), 't', [4], 0, 32)
        .raw(96)
        .done(),
      /'t': appears twice/,
    ],
    [
      'overlap',
      info(info(head(2, 0), 'a', [16], 0, 0), 'b', [4], 0, 32)
        .raw(128)
        .done(),
      /'b': its data at offset 32 overlaps 'a'/,
    ],
    [
      'bad alignment',
      head(0, 1).str('general.alignment').u32(4).u32(48).done(),
      /UINT32 power of two; it is UINT32 48/,
    ],
    ['alignment of wrong type', head(0, 1).str('general.alignment').u32(5).u32(32).done(), /it is INT32 32/],
    [
      'partial block',
      info(head(1, 0), 't', [16], 8, 0).raw(64).done(),
      /rows of 16 elements are not a whole number of Q8_0 blocks/,
    ],
  ];
  for (const [name, bytes, expected] of cases) {
    const path = join(dir, `${name}.gguf`);
    await writeFile(path, bytes);
    const before = process.memoryUsage().arrayBuffers;
    const started = performance.now();
    await assert.rejects(
      GgufFile.open(path),
      (e) => {
        assert.ok(e instanceof GgufFormatError, `${name}: ${String(e)}`);
        assert.match(e.message, expected, name);
        return true;
      },
      name,
    );
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 << 20, `${name}: allocated too much`);
    assert.ok(performance.now() - started < 2000, `${name}: slow`);
    assert.ok((await stat(path)).size < 1 << 20);
  }
});
