// The tokenizer of a GGUF file (byte-level BPE, as the converter writes it from tokenizer.json)
// gives the ids of the HF tokenizer it came from.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoModelForCausalLM, AutoTokenizer, readTokenizerFiles } from '../../src/index.js';
import { writeModelGguf } from '../../src/gguf/export/index.js';
import { GgufFormatError } from '../../src/gguf/errors.js';
import { writeGguf } from '../../src/gguf/writer.js';
import { gguf } from '../../src/gguf/metadata.js';
import { FIXTURES } from '../helpers/parity.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'peftjs-gguf-tok-'));
});
after(() => rm(dir, { recursive: true, force: true }));

for (const model of ['gpt2', 'qwen2']) {
  test(`${model}: AutoTokenizer on the GGUF file encodes and decodes as the folder's tokenizer`, async () => {
    const path = join(dir, `${model}.gguf`);
    const hf = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, model));
    await writeModelGguf(hf, await readTokenizerFiles(join(FIXTURES, model)), path, { type: 'F32' });
    const fromGguf = await AutoTokenizer.fromPretrained(path);
    const fromFolder = await AutoTokenizer.fromPretrained(join(FIXTURES, model));
    const cases = JSON.parse(await readFile(join(FIXTURES, '_tokenizer', 'tokenizer_cases.json'), 'utf8')) as {
      text: string;
    }[];
    assert.ok(cases.length > 3);
    for (const { text } of cases) {
      const ids = fromFolder.encode(text);
      assert.deepEqual(fromGguf.encode(text), ids, text);
      assert.equal(fromGguf.decode(ids), fromFolder.decode(ids), text);
    }
  });
}

test('a tokenizer model peftjs does not read yet is a typed error', async () => {
  const path = join(dir, 'spm.gguf');
  await writeGguf(path, new Map([['tokenizer.ggml.model', gguf.str('t5')]]), []);
  await assert.rejects(
    AutoTokenizer.fromPretrained(path),
    (e) => e instanceof GgufFormatError && /'t5'/.test(e.message),
  );
});
