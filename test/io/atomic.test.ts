import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createFileOnce, writeAll, writeAtomic, writeFileAtomic, writeFolderAtomic } from '../../src/io/atomic.js';
import { tempDir } from './helpers.js';

test('writeFileAtomic writes strings and bytes, replacing the old file, and leaves no temporary file', async () => {
  const dir = await tempDir();
  const path = join(dir, 'a.json');
  await writeFileAtomic(path, '{"x": "é"}');
  assert.equal(await readFile(path, 'utf8'), '{"x": "é"}');
  await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
  assert.deepEqual([...(await readFile(path))], [1, 2, 3]);
  assert.deepEqual(await readdir(dir), ['a.json']);
});

test('a failed write keeps the old file and removes the temporary one', async () => {
  const dir = await tempDir();
  const path = join(dir, 'model.safetensors');
  await writeFile(path, 'old');
  await assert.rejects(
    writeAtomic(path, async (file) => {
      await writeAll(file, Buffer.from('half of the new'));
      throw new Error('disk full');
    }),
    /disk full/,
  );
  assert.equal(await readFile(path, 'utf8'), 'old');
  assert.deepEqual(await readdir(dir), ['model.safetensors']);
});

test('writing into a missing folder fails without creating anything', async () => {
  const dir = await tempDir();
  await assert.rejects(writeFileAtomic(join(dir, 'no', 'such', 'file'), 'x'), { code: 'ENOENT' });
  assert.deepEqual(await readdir(dir), []);
});

test('writeFolderAtomic: the folder appears whole; a failed fill leaves nothing; an existing folder is not replaced', async () => {
  const dir = await tempDir();
  const path = join(dir, 'encoder');
  await assert.rejects(
    writeFolderAtomic(path, async (folder) => {
      await writeFile(join(folder, 'config.json'), '{}');
      throw new Error('interrupted');
    }),
    /interrupted/,
  );
  assert.deepEqual(await readdir(dir), []);
  await writeFolderAtomic(path, async (folder) => {
    assert.notEqual(folder, path);
    await writeFile(join(folder, 'config.json'), '{"a": 1}');
    await mkdir(join(folder, 'sub'));
  });
  assert.deepEqual((await readdir(path)).sort(), ['config.json', 'sub']);
  await assert.rejects(
    writeFolderAtomic(path, (folder) => writeFile(join(folder, 'config.json'), '{"a": 2}')),
    /ENOTEMPTY|EEXIST/,
  );
  assert.equal(await readFile(join(path, 'config.json'), 'utf8'), '{"a": 1}');
  assert.deepEqual(await readdir(dir), ['encoder']);
});

test('createFileOnce: of writers racing for one path exactly one creates it; the others leave it untouched', async () => {
  const dir = await tempDir();
  const path = join(dir, 'done.json');
  const created = await Promise.all(Array.from({ length: 8 }, (_, i) => createFileOnce(path, `writer ${i}\n`)));
  assert.equal(created.filter(Boolean).length, 1, `created: ${created}`);
  assert.equal(await readFile(path, 'utf8'), `writer ${created.indexOf(true)}\n`);
  assert.equal(await createFileOnce(path, new Uint8Array([1, 2])), false);
  assert.equal(await readFile(path, 'utf8'), `writer ${created.indexOf(true)}\n`, 'a later writer changes nothing');
  assert.deepEqual(await readdir(dir), ['done.json'], 'no temporary file is left');
});
