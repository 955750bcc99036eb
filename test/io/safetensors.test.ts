import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tensor, zeros, Tensor, type DType } from '../../src/index.js';
import { SafetensorsFile, loadSafetensors } from '../../src/io/safetensors/reader.js';
import { saveSafetensors } from '../../src/io/safetensors/writer.js';
import { MissingFileError, SafetensorsError } from '../../src/io/errors.js';
import { FIXTURES, MODELS, safetensorsBytes, tempDir } from './helpers.js';

/** The header as JSON.parse sees it: an independent oracle for our reader. */
async function rawHeader(path: string): Promise<{
  header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  dataStart: number;
  bytes: Buffer;
}> {
  const bytes = await readFile(path);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  delete header.__metadata__;
  return { header, dataStart: 8 + n, bytes };
}

function bytesOf(t: Tensor): Buffer {
  const d = t.data();
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

async function safetensorsFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries
    .filter((e) => e.endsWith('.safetensors'))
    .map((e) => join(dir, e))
    .sort();
}

/** transformers 5 renames ViT's modules in memory; the reference gradients use the new names. */
function vitMemoryName(name: string): string {
  return name
    .replace('vit.encoder.layer.', 'vit.layers.')
    .replace('attention.attention.query', 'attention.q_proj')
    .replace('attention.attention.key', 'attention.k_proj')
    .replace('attention.attention.value', 'attention.v_proj')
    .replace('attention.output.dense', 'attention.o_proj')
    .replace('intermediate.dense', 'mlp.fc1')
    .replace('output.dense', 'mlp.fc2');
}

test('every fixture model.safetensors: names and shapes match the reference gradients, sizes match case.json, bytes match the file', async () => {
  for (const model of MODELS) {
    const dir = join(FIXTURES, model);
    const file = await SafetensorsFile.open(join(dir, 'model.safetensors'));
    const expected = await SafetensorsFile.open(join(dir, 'expected.safetensors'));
    const { header, dataStart, bytes } = await rawHeader(join(dir, 'model.safetensors'));
    try {
      const gradShapes = new Map(
        expected
          .keys()
          .filter((k) => k.startsWith('grad/'))
          .map((k) => [k.slice(5), expected.info(k).shape]),
      );
      assert.equal(file.keys().length, gradShapes.size, `${model}: one tensor per trained parameter`);
      let total = 0;
      for (const name of file.keys()) {
        const info = file.info(name);
        const memoryName = model === 'vit' ? vitMemoryName(name) : name;
        assert.deepEqual(info.shape, gradShapes.get(memoryName), `${model}: ${name}`);
        assert.equal(info.dtype, 'float32');
        assert.equal(info.fileDtype, 'F32');
        total += info.shape.reduce((a, b) => a * b, 1);
        const t = await file.get(name);
        assert.deepEqual(t.shape, header[name]!.shape);
        const [begin, end] = header[name]!.data_offsets;
        assert.ok(bytesOf(t).equals(bytes.subarray(dataStart + begin, dataStart + end)), `${model}: bytes of ${name}`);
        t.dispose();
      }
      const kase = JSON.parse(await readFile(join(dir, 'case.json'), 'utf8'));
      assert.equal(total, kase.params.total, `${model}: parameter count`);
      assert.deepEqual(file.metadata, { format: 'pt' });
    } finally {
      await file.close();
      await expected.close();
    }
  }
});

test('every fixture LoRA adapter: names and shapes are the trainable parameters case.json lists', async () => {
  for (const model of MODELS) {
    const dir = join(FIXTURES, model, 'peft', 'lora');
    const kase = JSON.parse(await readFile(join(dir, 'case.json'), 'utf8'));
    const trainable = new Map(
      Object.entries(kase.trainable_params as Record<string, number[]>).map(([k, v]) => [
        k.replace('.default', '').replace('.modules_to_save', ''),
        v,
      ]),
    );
    const { tensors, metadata } = await loadSafetensors(join(dir, 'adapter_model.safetensors'));
    assert.deepEqual(metadata, { format: 'pt' });
    assert.deepEqual([...tensors.keys()].sort(), [...trainable.keys()].sort(), model);
    for (const [name, t] of tensors) {
      assert.deepEqual(t.shape, trainable.get(name), `${model}: ${name}`);
      t.dispose();
    }
  }
});

test('rewrites every Hugging Face-written safetensors file byte for byte', async () => {
  const dir = await tempDir();
  const files = await safetensorsFiles(FIXTURES);
  assert.ok(files.length > 200, `found ${files.length} fixture files`);
  for (const path of files) {
    const { tensors, metadata } = await loadSafetensors(path);
    const out = join(dir, 'rewrite.safetensors');
    await saveSafetensors(out, tensors, metadata);
    const [ours, theirs] = await Promise.all([readFile(out), readFile(path)]);
    assert.ok(ours.equals(theirs), `${path} differs after a rewrite`);
    for (const t of tensors.values()) t.dispose();
  }
});

test('matches the reference writer on its own test vectors', async () => {
  const dir = await tempDir();
  const path = join(dir, 'v.safetensors');
  const header = async () => {
    const bytes = await readFile(path);
    const n = Number(bytes.readBigUInt64LE(0));
    return { n, text: bytes.subarray(8, 8 + n).toString('utf8'), data: bytes.subarray(8 + n) };
  };
  const values = tensor([0, 1, 2, 3, 4, 5], [1, 2, 3]);
  await saveSafetensors(path, { 'attn.0': values });
  assert.deepEqual(await header(), {
    n: 64,
    text: '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}',
    data: Buffer.from(new Float32Array([0, 1, 2, 3, 4, 5]).buffer),
  });
  await saveSafetensors(path, { attn0: values.reshape([1, 1, 2, 3]) });
  assert.deepEqual((await header()).text, '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ');
  await saveSafetensors(path, {});
  assert.deepEqual(await header(), { n: 8, text: '{}      ', data: Buffer.alloc(0) });
  await saveSafetensors(path, {}, { framework: 'pt' });
  assert.deepEqual((await header()).text, '{"__metadata__":{"framework":"pt"}}     ');
});

test('lays tensors out by descending dtype rank, then by UTF-8 name order', async () => {
  const dir = await tempDir();
  const path = join(dir, 'order.safetensors');
  const one = (dtype: DType) => zeros([1], dtype);
  // U+FF21 sorts before U+1F600 in UTF-8 bytes, after it in UTF-16 code units.
  await saveSafetensors(path, {
    b: one('float32'),
    a: one('float32'),
    '😀': one('bool'),
    Ａ: one('bool'),
    h: one('float16'),
    g: one('bfloat16'),
    i: one('int32'),
    u: one('uint8'),
    d: one('float64'),
    l: one('int64'),
  });
  const file = await SafetensorsFile.open(path);
  assert.deepEqual(file.keys(), ['l', 'd', 'a', 'b', 'i', 'g', 'h', 'u', 'Ａ', '😀']);
  await file.close();
});

test('round-trips every dtype, scalars, empty tensors and metadata exactly', async () => {
  const dir = await tempDir();
  const path = join(dir, 'all.safetensors');
  const tensors: Record<string, Tensor> = {
    f32: tensor(new Float32Array([1.5, -2, Infinity, NaN]), [2, 2], 'float32'),
    f64: tensor(new Float64Array([Math.PI, -0]), [2], 'float64'),
    bf16: Tensor.fromArray(new Uint16Array([0x3f80, 0xc000, 0x7fc0]), [3], 'bfloat16'),
    f16: Tensor.fromArray(new Uint16Array([0x3c00, 0xfbff]), [1, 2], 'float16'),
    i32: tensor(new Int32Array([-2147483648, 2147483647]), [2], 'int32'),
    i64: tensor(new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]), [2], 'int64'),
    u8: tensor(new Uint8Array([0, 255]), [2], 'uint8'),
    bool: tensor([true, false, true]),
    scalar: tensor(7),
    empty: zeros([0, 3]),
  };
  await saveSafetensors(path, new Map(Object.entries(tensors)), { format: 'pt', note: 'é "quoted" \n' });
  const { tensors: back, metadata } = await loadSafetensors(path);
  assert.deepEqual(metadata, { format: 'pt', note: 'é "quoted" \n' });
  assert.deepEqual([...back.keys()].sort(), Object.keys(tensors).sort());
  for (const [name, t] of Object.entries(tensors)) {
    const b = back.get(name)!;
    assert.equal(b.dtype, t.dtype, name);
    assert.deepEqual(b.shape, t.shape, name);
    assert.ok(bytesOf(b).equals(bytesOf(t)), name);
  }
});

test('loads I8, I16 and U16 widened to int32', async () => {
  const dir = await tempDir();
  const path = join(dir, 'narrow.safetensors');
  const data = Buffer.concat([
    Buffer.from(new Int16Array([-32768, 32767]).buffer),
    Buffer.from(new Uint16Array([65535, 1]).buffer),
    Buffer.from(new Int8Array([-128, 127]).buffer),
  ]);
  await writeFile(
    path,
    safetensorsBytes(
      {
        i16: { dtype: 'I16', shape: [2], data_offsets: [0, 4] },
        u16: { dtype: 'U16', shape: [2], data_offsets: [4, 8] },
        i8: { dtype: 'I8', shape: [2], data_offsets: [8, 10] },
      },
      data,
    ),
  );
  const file = await SafetensorsFile.open(path);
  assert.deepEqual(file.info('i8'), { dtype: 'int32', fileDtype: 'I8', shape: [2], byteLength: 2 });
  assert.deepEqual((await file.get('i16')).toArray(), [-32768, 32767]);
  assert.deepEqual((await file.get('u16')).toArray(), [65535, 1]);
  assert.deepEqual((await file.get('i8')).toArray(), [-128, 127]);
  await file.close();
});

test('get() converts to the dtype asked for', async () => {
  const dir = await tempDir();
  const path = join(dir, 'f32.safetensors');
  await saveSafetensors(path, { w: tensor([1, 2.5, -3], [3]) });
  const file = await SafetensorsFile.open(path);
  const f64 = await file.get('w', { dtype: 'float64' });
  assert.equal(f64.dtype, 'float64');
  assert.deepEqual(f64.toArray(), [1, 2.5, -3]);
  const bf16 = await file.get('w', { dtype: 'bfloat16' });
  assert.deepEqual([...bf16.data()], [0x3f80, 0x4020, 0xc040]);
  assert.equal((await file.get('w', { dtype: 'float32' })).dtype, 'float32');
  await file.close();
});

test('writes views (strided, offset, broadcast) as their row-major values', async () => {
  const dir = await tempDir();
  const path = join(dir, 'views.safetensors');
  const base = tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  const views = {
    transposed: base.transpose(0, 1),
    row: base.select(0, 1),
    column: base.select(1, 2),
    expanded: tensor([7, 8]).unsqueeze(0).expand([3, 2]),
  };
  await saveSafetensors(path, views);
  const { tensors } = await loadSafetensors(path);
  for (const [name, view] of Object.entries(views)) {
    assert.deepEqual(tensors.get(name)!.toArray(), view.toArray(), name);
  }
});

test('opening reads only the header: a 5 GB file opens at once, and a tensor past 4 GiB reads correctly', async () => {
  const dir = await tempDir();
  const path = join(dir, 'sparse.safetensors');
  const big = 5 * 2 ** 30;
  const header = Buffer.from(
    JSON.stringify({
      big: { dtype: 'U8', shape: [big], data_offsets: [0, big] },
      small: { dtype: 'F32', shape: [2], data_offsets: [big, big + 8] },
    }),
  );
  const prefix = safetensorsBytes(header.toString());
  const handle = await open(path, 'w');
  await handle.write(prefix, 0, prefix.length, 0);
  await handle.write(Buffer.from(new Float32Array([0.25, -8]).buffer), 0, 8, prefix.length + big);
  await handle.close();
  const file = await SafetensorsFile.open(path);
  assert.deepEqual(file.info('big').shape, [big]);
  assert.deepEqual((await file.get('small')).toArray(), [0.25, -8]);
  await file.close();
});

test('errors name the file and the tensor', async () => {
  const dir = await tempDir();
  const path = join(dir, 'x.safetensors');
  await saveSafetensors(path, { a: zeros([2]), b: zeros([2]) });
  const file = await SafetensorsFile.open(path);
  await assert.rejects(
    file.get('c'),
    (e: unknown) =>
      e instanceof SafetensorsError &&
      e.code === 'E_SAFETENSORS' &&
      e.tensor === 'c' &&
      e.message.includes(path) &&
      e.message.includes('a, b'),
  );
  assert.throws(() => file.info('c'), SafetensorsError);
  assert.equal(file.has('a'), true);
  assert.equal(file.has('c'), false);
  await file.close();
  await file.close();
  await assert.rejects(file.get('a'), /closed/);

  await assert.rejects(
    SafetensorsFile.open(join(dir, 'nope.safetensors')),
    (e: unknown) => e instanceof MissingFileError && e.code === 'E_MISSING_FILE',
  );
  await assert.rejects(SafetensorsFile.open(dir), /not a regular file/);

  const cases: [unknown, number, RegExp][] = [
    [
      {
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        b: { dtype: 'F32', shape: [1], data_offsets: [12, 16] },
      },
      16,
      /tensor 'b'.*gap of 4 bytes after tensor 'a'/,
    ],
    [
      { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } },
      12,
      /tensor 'b'.*overlap of 4 bytes/,
    ],
    [{ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 4, /tensor 'a'.*run past the 4-byte data buffer/],
    [
      { a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } },
      8,
      /tensor 'a'.*needs 12 bytes but data_offsets \[0, 8\] hold 8/,
    ],
    [{ a: { dtype: 'F33', shape: [2], data_offsets: [0, 8] } }, 8, /tensor 'a'.*unknown dtype "F33"/],
    [{ a: { dtype: 'F8_E4M3', shape: [8], data_offsets: [0, 8] } }, 8, /tensor 'a'.*F8_E4M3 cannot be loaded/],
    [{ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 8, /cover 4 bytes but the data buffer holds 8/],
    [
      { __metadata__: { n: 1 }, a: { dtype: 'U8', shape: [8], data_offsets: [0, 8] } },
      8,
      /"__metadata__" values must be strings/,
    ],
    [
      '{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}',
      8,
      /duplicate key "a"/,
    ],
    ['[1, 2]', 0, /must be a JSON object/],
  ];
  for (const [header, dataLength, message] of cases) {
    await writeFile(path, safetensorsBytes(header, new Uint8Array(dataLength)));
    await assert.rejects(
      SafetensorsFile.open(path),
      (e: unknown) => e instanceof SafetensorsError && message.test(e.message) && e.message.startsWith(path),
      String(message),
    );
  }
});

test('the writer refuses what no reader could load', async () => {
  const dir = await tempDir();
  const path = join(dir, 'bad.safetensors');
  await assert.rejects(saveSafetensors(path, { __metadata__: zeros([1]) }), /reserved/);
  await assert.rejects(saveSafetensors(path, { ['\ud800']: zeros([1]) }), /lone surrogate/);
  await assert.rejects(
    saveSafetensors(path, { a: zeros([1]) }, { n: 1 as unknown as string }),
    /metadata values must be strings/,
  );
  const gone = zeros([1]);
  gone.dispose();
  await assert.rejects(saveSafetensors(path, { gone }), /disposed/);
  assert.deepEqual(await readdir(dir), [], 'nothing written');
});
