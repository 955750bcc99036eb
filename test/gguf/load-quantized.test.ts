// GGUF files with block-quantised weights load quantised: GgmlLinear / GgmlEmbedding over the file's
// blocks (no float copy of those weights resident), computing what the dequantised load computes;
// `{ dtype }` dequantises; a LoRA trains over them and merges into them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AdamW,
  AutoModelForCausalLM,
  getPeftModel,
  manualSeed,
  noGrad,
  readTokenizerFiles,
  type Module,
  type Tensor,
} from '../../src/index.js';
import { GgmlEmbedding, GgmlLinear } from '../../src/gguf/quant/index.js';
import { writeModelGguf } from '../../src/gguf/export/index.js';
import { GgufFile } from '../../src/gguf/reader.js';
import { FIXTURES, loadCase, modelInputs } from '../helpers/parity.js';
import { wideRandomLlama } from './wide-llama.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'peftjs-gguf-quantized-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** The fixture llama (rows of 32 and 64: whole Q8_0 / Q4_0 blocks), written as `type`. */
async function fixtureGguf(type: 'Q8_0' | 'Q4_0'): Promise<string> {
  const path = join(dir, `llama-${type}.gguf`);
  const hf = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama'));
  await writeModelGguf(hf, await readTokenizerFiles(join(FIXTURES, 'llama')), path, { type });
  return path;
}

/** A random llama with 256-wide rows (a K-quant super-block), written as Q4_K. */
async function wideQ4kGguf(): Promise<string> {
  manualSeed(3);
  const path = join(dir, 'wide-Q4_K.gguf');
  await writeModelGguf(wideRandomLlama(), await readTokenizerFiles(join(FIXTURES, 'llama')), path, { type: 'Q4_K' });
  return path;
}

/** Bytes of the model's distinct parameter storages (two views of one buffer counted once). */
function bytesHeld(model: Module): number {
  const seen = new Set<ArrayBufferLike>();
  let total = 0;
  for (const p of model.parameters()) {
    const b = p.buffer;
    if (seen.has(b.buffer)) continue;
    seen.add(b.buffer);
    total += b.byteLength;
  }
  return total;
}

async function fileTensorBytes(path: string): Promise<number> {
  await using file = await GgufFile.open(path);
  return [...file.tensors.values()].reduce((sum, t) => sum + t.byteLength, 0);
}

function logits(model: Module, ids: Tensor): Tensor {
  return noGrad(
    () => (model as unknown as { forward(i: unknown): { logits: Tensor } }).forward({ inputIds: ids }).logits,
  );
}

for (const [type, make] of [
  ['Q8_0', () => fixtureGguf('Q8_0')],
  ['Q4_0', () => fixtureGguf('Q4_0')],
  ['Q4_K', wideQ4kGguf],
] as const) {
  test(`${type}: loads as ggml layers over the file's blocks and computes what the dequantised load computes (within llama.cpp's activation quantisation)`, async () => {
    const path = await make();
    const quantized = await AutoModelForCausalLM.fromPretrained(path);
    const modules = new Map(quantized.namedModules());
    assert.ok(modules.get('model.layers.0.self_attn.q_proj') instanceof GgmlLinear);
    assert.ok(modules.get('model.layers.0.mlp.down_proj') instanceof GgmlLinear);
    const attn = modules.get('model.layers.0.self_attn.k_proj') as GgmlLinear;
    assert.equal(attn.ggml.type, type);
    assert.ok(modules.get('model.embed_tokens') instanceof GgmlEmbedding);
    assert.ok(modules.get('lm_head') instanceof GgmlLinear);
    // Only the file's tensors are held: no float copy of a quantised weight.
    const held = bytesHeld(quantized);
    const fileBytes = await fileTensorBytes(path);
    assert.ok(Math.abs(held - fileBytes) <= 0.01 * fileBytes, `held ${held} bytes, file tensors ${fileBytes}`);

    const dequantized = await AutoModelForCausalLM.fromPretrained(path, { dtype: 'float32' });
    assert.equal(dequantized.stateDict().get('model.layers.0.self_attn.q_proj.weight')!.dtype, 'float32');
    const ids = (await loadCase(join(FIXTURES, 'llama'))).inputs.get('input_ids')!;
    const [q, d] = [logits(quantized, ids), logits(dequantized, ids)];
    const diff = q.sub(d).abs().max().item();
    const scale = d.abs().max().item();
    // The prompts (16 rows) take llama.cpp's integer path (x as Q8_0 blocks), which moves these logits
    // by about 2% of their scale (Q8_0 0.064 and Q4_0 0.073 of 3.2, Q4_K 0.112 of 6.2).
    const bound = 0.03 * scale;
    assert.ok(diff <= bound, `${type}: max |quantised - dequantised| logits ${diff} (scale ${scale})`);
  });
}

test('a LoRA trains over a Q4_0 base (its loss falls, the blocks stay frozen) and merges into it', async () => {
  const model = await AutoModelForCausalLM.fromPretrained(await fixtureGguf('Q4_0'));
  manualSeed(5);
  const peft = getPeftModel(model, {
    peftType: 'LORA',
    r: 4,
    loraAlpha: 8,
    targetModules: ['q_proj', 'v_proj', 'down_proj'],
  });
  const trainable = peft.parameters().filter((p) => p.requiresGrad);
  assert.ok(trainable.every((p) => p.dtype === 'float32'));
  const optimizer = new AdamW(trainable, { lr: 0.02 });
  const { inputs } = await loadCase(join(FIXTURES, 'llama'));
  const losses: number[] = [];
  peft.train();
  for (let step = 0; step < 5; step++) {
    const loss = peft.forward(modelInputs(inputs)).loss!;
    losses.push(loss.item());
    loss.backward();
    optimizer.step();
    optimizer.zeroGrad();
  }
  assert.ok(losses[4]! < losses[0]! - 0.01, `losses ${losses.join(', ')}`);
  // Merging dequantises, adds the delta and quantises to Q4_0 again: the new blocks hold base + delta
  // within Q4_0's rounding, and are not the old blocks.
  const layer = [...peft.namedModules()].find(([p]) => p.endsWith('layers.0.self_attn.q_proj'))![1] as unknown as {
    base_layer: GgmlLinear;
    deltaOutIn(name: string): Tensor;
  };
  const before = layer.base_layer.dequantizedWeight();
  const expected = noGrad(() => before.add(layer.deltaOutIn('default')));
  const merged = peft.mergeAndUnload();
  const q = merged.getSubmodule('model.layers.0.self_attn.q_proj');
  assert.ok(q instanceof GgmlLinear && q.ggml.type === 'Q4_0', 'the merged base stays Q4_0');
  const after = q.dequantizedWeight();
  const norm = (t: Tensor) => t.square().sum().sqrt().item();
  assert.ok(norm(after.sub(before)) > 0, 'the merge changed the blocks');
  const relative = norm(after.sub(expected)) / norm(expected);
  assert.ok(relative < 0.15, `merged blocks vs base + delta: relative error ${relative}`);
});

test('K-quant export of rows shorter than a super-block falls back as llama-quantize does, and loads so', async () => {
  const hf = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama'));
  const tokenizer = await readTokenizerFiles(join(FIXTURES, 'llama'));
  for (const [type, fallback] of [
    ['Q4_K', 'Q5_0'],
    ['Q5_K', 'Q5_1'],
    ['Q6_K', 'Q8_0'],
  ] as const) {
    const path = join(dir, `llama-${type}-fallback.gguf`);
    await writeModelGguf(hf, tokenizer, path, { type });
    await using file = await GgufFile.open(path);
    assert.equal(file.tensors.get('blk.0.attn_q.weight')!.type.name, fallback, type);
    const loaded = await AutoModelForCausalLM.fromPretrained(path);
    const q = loaded.getSubmodule('model.layers.0.self_attn.q_proj');
    assert.ok(q instanceof GgmlLinear && q.ggml.type === fallback, `${type} file loads as ${fallback} blocks`);
  }
});
