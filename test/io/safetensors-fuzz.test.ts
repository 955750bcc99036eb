// Hostile and random safetensors files: a malformed file must always end in a SafetensorsError
// (never another exception, a crash or a large allocation), and valid files must read back exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { Tensor, type DType } from '../../src/index.js';
import { DTYPES } from '../../src/tensor/dtype.js';
import { SafetensorsError } from '../../src/io/errors.js';
import { SafetensorsFile, loadSafetensors } from '../../src/io/safetensors/reader.js';
import { saveSafetensors } from '../../src/io/safetensors/writer.js';
import { JsonSyntaxError, parseStrictJson, type JsonValue } from '../../src/io/safetensors/json.js';
import { safetensorsBytes, tempDir } from './helpers.js';

const SIZES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U16: 2,
  U8: 1,
  BOOL: 1,
};
const WIDENED: Record<string, (b: ArrayBuffer) => Int8Array | Int16Array | Uint16Array> = {
  I8: (b) => new Int8Array(b),
  I16: (b) => new Int16Array(b),
  U16: (b) => new Uint16Array(b),
};

interface Spec {
  name: string;
  dtype: string;
  shape: number[];
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Bytes 0..n-1 of a pattern that differs per seed. */
function pattern(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed * 17 + (i >> 8)) & 0xff);
}

/** Header entries (an ordered list: duplicates and any key are possible) laid out in order. */
function layout(specs: readonly Spec[]): { entries: [string, unknown][]; dataLength: number } {
  let offset = 0;
  const entries = specs.map(({ name, dtype, shape }): [string, unknown] => {
    const n = numel(shape) * SIZES[dtype]!;
    const entry = { dtype, shape, data_offsets: [offset, offset + n] };
    offset += n;
    return [name, entry];
  });
  return { entries, dataLength: offset };
}

function headerText(entries: readonly [string, unknown][]): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
}

const name = fc.string({ unit: 'binary', maxLength: 6 }).filter((n) => n !== '__metadata__');
const shape = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 });
const specs = fc.uniqueArray(fc.record({ name, dtype: fc.constantFrom(...Object.keys(SIZES)), shape }), {
  selector: (s) => s.name,
  maxLength: 6,
});
const metadata = fc.option(
  fc.dictionary(fc.string({ unit: 'binary', maxLength: 5 }), fc.string({ unit: 'binary', maxLength: 8 }), {
    maxKeys: 3,
  }),
  { nil: undefined },
);

/**
 * Opens `path`: either a SafetensorsError naming the file, or a file whose tensors all read and
 * together fill its data buffer exactly. Returns whether it opened.
 */
async function opensSafely(path: string): Promise<boolean> {
  let file: SafetensorsFile;
  try {
    file = await SafetensorsFile.open(path);
  } catch (error) {
    if (!(error instanceof SafetensorsError)) throw error;
    assert.ok(error.message.startsWith(path), error.message);
    return false;
  }
  try {
    const contents = await readFile(path);
    const dataLength = contents.length - 8 - Number(contents.readBigUInt64LE(0));
    let bytes = 0;
    for (const key of file.keys()) {
      const info = file.info(key);
      bytes += info.byteLength;
      const t = await file.get(key);
      assert.equal(t.size, numel(info.shape));
      t.dispose();
    }
    assert.equal(bytes, dataLength, 'the tensors fill the data buffer exactly');
  } finally {
    await file.close();
  }
  return true;
}

test('valid files from any writer (any key order, any layout order, metadata anywhere) read back exactly', async () => {
  const path = join(await tempDir(), 'valid.safetensors');
  await fc.assert(
    fc.asyncProperty(
      specs,
      metadata,
      fc.boolean(),
      fc.nat({ max: 5 }),
      fc.nat(),
      async (specs, meta, reverse, metaAt, seed) => {
        const { entries, dataLength } = layout(specs);
        if (reverse) entries.reverse();
        if (meta !== undefined) entries.splice(Math.min(metaAt, entries.length), 0, ['__metadata__', meta]);
        const data = pattern(dataLength, seed);
        await writeFile(path, safetensorsBytes(headerText(entries), data));
        const file = await SafetensorsFile.open(path);
        try {
          assert.deepEqual(file.keys().sort(), specs.map((s) => s.name).sort());
          assert.deepEqual(file.metadata, meta && { ...meta });
          for (const [key, entry] of entries) {
            if (key === '__metadata__') continue;
            const {
              dtype,
              shape,
              data_offsets: [begin, end],
            } = entry as { dtype: string; shape: number[]; data_offsets: number[] };
            const t = await file.get(key);
            assert.deepEqual(t.shape, shape);
            const raw = data.slice(begin, end);
            const widen = WIDENED[dtype];
            if (widen) assert.deepEqual([...(t.data() as Int32Array)], [...widen(raw.buffer)]);
            else assert.deepEqual(new Uint8Array(t.data().buffer), raw);
            t.dispose();
          }
        } finally {
          await file.close();
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('random tensors of every dtype round-trip through our writer and reader exactly', async () => {
  const path = join(await tempDir(), 'roundtrip.safetensors');
  const dtypes: DType[] = ['float32', 'float64', 'bfloat16', 'float16', 'int32', 'int64', 'uint8', 'bool'];
  const tensorSpec = fc.record({ dtype: fc.constantFrom(...dtypes), shape, seed: fc.nat() });
  const named = fc.uniqueArray(fc.tuple(name, tensorSpec), { selector: ([n]) => n, maxLength: 6 });
  await fc.assert(
    fc.asyncProperty(named, metadata, async (named, meta) => {
      const tensors = new Map(
        named.map(([n, { dtype, shape, seed }]) => {
          const count = numel(shape);
          const bytes = pattern(count * DTYPES[dtype].bytes, seed).map((b) => (dtype === 'bool' ? b & 1 : b));
          return [n, Tensor.fromArray(DTYPES[dtype].makeOn(bytes.buffer, count), shape, dtype)];
        }),
      );
      await saveSafetensors(path, tensors, meta);
      const back = await loadSafetensors(path);
      assert.deepEqual(back.metadata, meta && { ...meta });
      assert.deepEqual([...back.tensors.keys()].sort(), [...tensors.keys()].sort());
      for (const [n, t] of tensors) {
        const b = back.tensors.get(n)!;
        assert.equal(b.dtype, t.dtype);
        assert.deepEqual(b.shape, t.shape);
        assert.deepEqual(new Uint8Array(b.data().buffer), new Uint8Array(t.data().buffer));
        b.dispose();
      }
    }),
    { numRuns: 300 },
  );
});

/** Ways to break a valid header, each applied to its entry list and data. */
const nonString = fc.oneof(fc.integer(), fc.constant(null), fc.boolean(), fc.constant([]), fc.constant({}));
const badInteger = fc.oneof(
  fc.integer({ max: -1 }),
  fc.double({ noNaN: true }).filter((x) => !Number.isInteger(x)),
  fc.constantFrom(2 ** 53, 2 ** 64, 1e300, '3', null, true),
);
const hugeDims = fc.array(fc.constantFrom(2 ** 20, 2 ** 31, 2 ** 40, 2 ** 52), { minLength: 2, maxLength: 5 });
type Mutation = (entries: [string, unknown][], dataLength: number) => { header: string; dataLength: number };

const entryField =
  (field: string, value: unknown): Mutation =>
  (entries, dataLength) => {
    const [key, entry] = entries[0] ?? ['x', { dtype: 'U8', shape: [0], data_offsets: [0, 0] }];
    const rest = entries.slice(1);
    return { header: headerText([[key, { ...(entry as object), [field]: value }], ...rest]), dataLength };
  };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.string().map((dtype) => entryField('dtype', dtype)),
  nonString.map((dtype) => entryField('dtype', dtype)),
  fc
    .constantFrom('F8_E4M3', 'U32', 'U64', 'C64', 'F4', 'f32', 'float32', '')
    .map((dtype) => entryField('dtype', dtype)),
  fc.array(badInteger, { minLength: 1, maxLength: 3 }).map((shape) => entryField('shape', shape)),
  hugeDims.map((shape) => entryField('shape', shape)),
  nonString.map((shape) => entryField('shape', shape)),
  fc.array(fc.oneof(fc.nat(), badInteger), { maxLength: 3 }).map((offsets) => entryField('data_offsets', offsets)),
  fc.tuple(fc.nat(1 << 20), fc.nat(1 << 20)).map((offsets) => entryField('data_offsets', offsets)),
  fc.constantFrom('dtype', 'shape', 'data_offsets').map((field): Mutation => (entries, dataLength) => {
    const [key, entry] = entries[0] ?? ['x', { dtype: 'U8', shape: [1], data_offsets: [0, 1] }];
    const copy: Record<string, unknown> = { ...(entry as object) };
    delete copy[field];
    return { header: headerText([[key, copy], ...entries.slice(1)]), dataLength };
  }),
  fc
    .tuple(fc.integer({ min: -3, max: 3 }), fc.integer({ min: -3, max: 3 }))
    .map(([db, de]): Mutation => (entries, dataLength) => {
      const shifted = entries.map(([k, e], i): [string, unknown] => {
        const {
          data_offsets: [b, end],
          ...rest
        } = e as { data_offsets: number[] };
        return [k, i === entries.length - 1 ? { ...rest, data_offsets: [b! + db, end! + de] } : e];
      });
      return { header: headerText(shifted), dataLength };
    }),
  fc
    .integer({ min: -4, max: 4 })
    .filter((d) => d !== 0)
    .map((delta): Mutation => (entries, dataLength) => ({
      header: headerText(entries),
      dataLength: Math.max(0, dataLength + delta),
    })),
  fc.constant<Mutation>((entries, dataLength) => ({
    header: headerText(entries.length ? [...entries, entries[0]!] : entries),
    dataLength,
  })),
  nonString.map((value): Mutation => (entries, dataLength) => ({
    header: headerText([['__metadata__', value], ...entries]),
    dataLength,
  })),
  fc.dictionary(fc.string(), nonString, { minKeys: 1 }).map((meta): Mutation => (entries, dataLength) => ({
    header: headerText([['__metadata__', meta], ...entries]),
    dataLength,
  })),
  fc
    .oneof(
      fc.constant('[]'),
      fc.constant('null'),
      fc.constant('"x"'),
      fc.constant('1'),
      fc.constant(''),
      fc.string(),
      fc.json(),
    )
    .map((header): Mutation => (_, dataLength) => ({ header, dataLength })),
  fc.nat().map((cut): Mutation => (entries, dataLength) => {
    const text = headerText(entries);
    return { header: text.slice(0, cut % Math.max(1, text.length)), dataLength };
  }),
  fc.nat(64).map((depth): Mutation => (_, dataLength) => ({ header: '['.repeat(depth * 1000), dataLength })),
);

test('structurally broken headers are always a SafetensorsError', async () => {
  const path = join(await tempDir(), 'broken.safetensors');
  let rejected = 0;
  const runs = 2000;
  await fc.assert(
    fc.asyncProperty(specs, mutation, async (specs, mutate) => {
      const { entries, dataLength } = layout(specs);
      const broken = mutate(entries, dataLength);
      await writeFile(path, safetensorsBytes(broken.header, pattern(broken.dataLength, 1)));
      if (!(await opensSafely(path))) rejected++;
    }),
    { numRuns: runs },
  );
  assert.ok(rejected > runs * 0.8, `only ${rejected} of ${runs} broken headers were rejected`);
});

const INVALID_UTF8 = [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80]];

test('invalid UTF-8 in the header is a SafetensorsError', async () => {
  const path = join(await tempDir(), 'utf8.safetensors');
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...INVALID_UTF8), fc.nat(), async (bad, at) => {
      const text = Buffer.from(headerText([['ab', { dtype: 'U8', shape: [1], data_offsets: [0, 1] }]]));
      const i = at % text.length;
      const header = Buffer.concat([text.subarray(0, i), Buffer.from(bad), text.subarray(i)]);
      const bytes = new Uint8Array(8 + header.length + 1);
      new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
      bytes.set(header, 8);
      await writeFile(path, bytes);
      await assert.rejects(SafetensorsFile.open(path), SafetensorsError);
    }),
    { numRuns: 200 },
  );
});

test('damaged bytes (truncation, any header length, flipped and random bytes) are a SafetensorsError or read safely', async () => {
  const path = join(await tempDir(), 'damaged.safetensors');
  const damage = fc.oneof(
    fc.nat().map((cut) => (b: Uint8Array) => b.slice(0, cut % (b.length + 1))),
    fc.bigInt(0n, 2n ** 64n - 1n).map((n) => (b: Uint8Array) => {
      const out = b.slice();
      new DataView(out.buffer).setBigUint64(0, n, true);
      return out;
    }),
    fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 8 }).map((flips) => (b: Uint8Array) => {
      const out = b.slice();
      for (const [at, value] of flips) if (out.length) out[at % out.length] = value;
      return out;
    }),
    fc.uint8Array({ maxLength: 256 }).map((random) => () => random),
  );
  await fc.assert(
    fc.asyncProperty(specs, damage, async (specs, harm) => {
      const { entries, dataLength } = layout(specs);
      await writeFile(path, harm(safetensorsBytes(headerText(entries), pattern(dataLength, 2))));
      await opensSafely(path);
    }),
    { numRuns: 2000 },
  );
});

/** Our JSON values as JSON.parse would give them (Map -> object, bigint -> number). */
function plain(value: JsonValue): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [k, plain(v)]));
  return value;
}

test('the strict JSON parser agrees with JSON.parse on valid JSON and throws only JsonSyntaxError otherwise', () => {
  fc.assert(
    fc.property(fc.json({ maxDepth: 8, stringUnit: 'binary' }), (text) => {
      assert.deepEqual(plain(parseStrictJson(text)), JSON.parse(text));
    }),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(fc.string({ unit: 'binary-ascii', maxLength: 40 }), (text) => {
      let ours: unknown;
      try {
        ours = plain(parseStrictJson(text));
      } catch (error) {
        assert.ok(error instanceof JsonSyntaxError, String(error));
        return;
      }
      assert.equal(JSON.stringify(ours), JSON.stringify(JSON.parse(text)));
    }),
    { numRuns: 1000 },
  );
  assert.equal(parseStrictJson('18446744073709551615'), 2n ** 64n - 1n);
  assert.throws(() => parseStrictJson('{"a":1,"a":2}'), /duplicate key "a"/);
  assert.throws(() => parseStrictJson('"\\ud800"'), /lone surrogate/);
  assert.equal(parseStrictJson('"\\ud83d\\ude00"'), '😀');
  assert.throws(() => parseStrictJson('['.repeat(20) + ']'.repeat(20)), /nesting too deep/);
});
