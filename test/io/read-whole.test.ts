// readWholeFile: the same bytes as fs.readFile (a file larger than one of readFile's 512 KiB pieces, an
// empty file) and the same refusal of a missing path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWholeFile } from '../../src/io/files/read-whole.js';

test("readWholeFile gives readFile's bytes and refuses a missing file with ENOENT", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peft-read-whole-'));
  try {
    const big = Buffer.from(Array.from({ length: 1_300_001 }, (_, i) => (i * 7919) % 251));
    await writeFile(join(dir, 'big.bin'), big);
    await writeFile(join(dir, 'empty.bin'), Buffer.alloc(0));
    assert.deepEqual(await readWholeFile(join(dir, 'big.bin')), await readFile(join(dir, 'big.bin')));
    assert.equal((await readWholeFile(join(dir, 'empty.bin'))).length, 0);
    await assert.rejects(readWholeFile(join(dir, 'missing.bin')), { code: 'ENOENT' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
