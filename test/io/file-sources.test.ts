// Files from anywhere: the same loaders read a model, tokenizer and adapter from a local folder, a
// URL (served here on 127.0.0.1), File objects and an origin-private-file-system-like directory, and
// an adapter saved into Blobs is the same bytes as one saved into a folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import {
  AutoModelForCausalLM, AutoTokenizer, BlobSink, BlobSource, MissingFileError, OpfsSource, PeftModel, UrlSource, getPeftModel,
  noGrad, tensor, type DirectoryHandle, type FileSource, type Tensor,
} from '../../src/index.js';
import { FIXTURES } from '../helpers/parity.js';

const GPT2 = join(FIXTURES, 'gpt2');

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}

/** The fixture folder as picked File objects (webkitRelativePath = 'gpt2/<name>', as Chromium sets it). */
async function pickedFiles(dir: string): Promise<File[]> {
  return Promise.all(
    (await filesUnder(dir)).map(async (name) => {
      const file = new File([await readFile(join(dir, name))], name.split('/').pop()!);
      Object.defineProperty(file, 'webkitRelativePath', { value: `gpt2/${name}` });
      return file;
    }),
  );
}

/** A directory handle over a local folder, shaped as the origin-private file system's. */
function directoryHandle(dir: string): DirectoryHandle {
  return {
    getDirectoryHandle: async (name) => {
      const entries = await readdir(dir, { withFileTypes: true });
      if (!entries.some((e) => e.isDirectory() && e.name === name)) throw new Error('NotFoundError');
      return directoryHandle(join(dir, name));
    },
    getFileHandle: async (name) => {
      const bytes = await readFile(join(dir, name));
      return { getFile: async () => new Blob([bytes]) };
    },
    keys: async function* () {
      for (const name of await readdir(dir)) yield name;
    },
  };
}

async function serve(dir: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    readFile(join(dir, decodeURIComponent(new URL(req.url!, 'http://x').pathname)))
      .then((bytes) => res.end(bytes))
      .catch(() => {
        res.statusCode = 404;
        res.end();
      });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return { server, url: `http://127.0.0.1:${address.port}` };
}

async function logitsOf(where: string | FileSource): Promise<Float32Array> {
  const model = await AutoModelForCausalLM.fromPretrained(where);
  const tokenizer = await AutoTokenizer.fromPretrained(where);
  const ids = tokenizer.encode('hello world, again');
  return noGrad(() => model.forward({ inputIds: tensor(ids, [1, ids.length], 'int64') }).logits.data() as Float32Array);
}

test('a model and tokenizer load alike from a folder, a URL, picked files and a directory handle', async () => {
  const expected = await logitsOf(GPT2);
  const { server, url } = await serve(GPT2);
  try {
    assert.deepEqual(await logitsOf(new UrlSource(url)), expected);
  } finally {
    server.close();
  }
  assert.deepEqual(await logitsOf(BlobSource.fromFiles(await pickedFiles(GPT2))), expected);
  assert.deepEqual(await logitsOf(new OpfsSource(directoryHandle(GPT2))), expected);
});

test('a missing file is named by the source it was looked for in', async () => {
  const source = BlobSource.fromFiles((await pickedFiles(GPT2)).filter((f) => f.name !== 'model.safetensors'));
  await assert.rejects(
    AutoModelForCausalLM.fromPretrained(source),
    (e: unknown) => e instanceof MissingFileError && e.paths.includes('gpt2/model.safetensors'),
  );
  const { server, url } = await serve(join(GPT2, 'peft'));
  try {
    await assert.rejects(AutoTokenizer.fromPretrained(new UrlSource(url)), (e: unknown) => e instanceof MissingFileError && e.message.includes(`${url}/tokenizer.json`));
  } finally {
    server.close();
  }
});

test('an adapter saved into Blobs is byte for byte the folder HF PEFT writes, and loads back', async () => {
  const model = await AutoModelForCausalLM.fromPretrained(GPT2);
  const peft = getPeftModel(model, { peftType: 'LORA', r: 4, loraAlpha: 8, targetModules: ['c_attn'], initLoraWeights: false });
  const dir = await mkdtemp(join(tmpdir(), 'peftjs-sources-'));
  try {
    await peft.savePretrained(dir);
    const sink = new BlobSink();
    await peft.savePretrained(sink);
    assert.deepEqual([...sink.files.keys()].sort(), ['adapter_config.json', 'adapter_model.safetensors']);
    for (const [name, blob] of sink.files) {
      assert.deepEqual(new Uint8Array(await blob.arrayBuffer()), new Uint8Array(await readFile(join(dir, name))), name);
    }
    const ids = tensor([[1, 2, 3, 4]], [1, 4], 'int64');
    const run = (m: { forward(i: { inputIds: Tensor }): { logits: Tensor } }) => noGrad(() => m.forward({ inputIds: ids }).logits.data());
    const expected = run(peft);
    const again = await PeftModel.fromPretrained(await AutoModelForCausalLM.fromPretrained(GPT2), sink.source());
    assert.deepEqual(run(again), expected);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
