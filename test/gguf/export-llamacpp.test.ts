// GGUF files written by peftjs, run by llama.cpp (node-llama-cpp): models from the HF fixtures,
// and LoRA adapters over them, give the tokens peftjs gives.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AdamW,
  AutoModelForCausalLM,
  PeftModel,
  getPeftModel,
  noGrad,
  readTokenizerFiles,
  tensor,
  type PretrainedModel,
  type Tensor,
} from '../../src/index.js';
import { dequantizeGgml, quantizeGgml, type GgmlBlockType } from '../../src/gguf/quant/index.js';
import { writeLoraAdapterGguf, writeModelGguf } from '../../src/gguf/export/index.js';
import { FIXTURES, loadCase, modelInputs } from '../helpers/parity.js';
import { wideRandomLlama } from './wide-llama.js';
import { disposeLlamaCpp, llamaCppGreedy, llamaCppTokenize } from './llamacpp.js';

type Generating = PretrainedModel & { generate(ids: Tensor, o: object): Tensor };
const NEW = 8;
let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'peftjs-gguf-export-'));
});
after(async () => {
  await disposeLlamaCpp();
  await rm(dir, { recursive: true, force: true });
});

/** The fixture's first prompt (10 tokens). */
async function prompt(model: string): Promise<number[]> {
  const { inputs } = await loadCase(join(FIXTURES, model));
  return inputs.get('input_ids')!.toFlatArray().slice(0, 10);
}

/** peftjs's greedy continuation (no early stop at EOS: llama.cpp's evaluate does not stop either). */
function greedy(model: { generate(ids: Tensor, o: object): Tensor }, ids: number[]): number[] {
  return model
    .generate(tensor([ids], undefined, 'int64'), { maxNewTokens: NEW, eosTokenId: [] })
    .toFlatArray()
    .slice(ids.length);
}

/**
 * A prompt (the fixture's, else one of its rotations) whose greedy tokens the adapter changes, so
 * that equal tokens with the adapter show it was applied.
 */
async function changedPrompt(peft: PeftModel, ids: number[]): Promise<number[]> {
  for (let shift = 0; shift < ids.length; shift++) {
    const candidate = [...ids.slice(shift), ...ids.slice(0, shift)];
    const adapted = greedy(peft as unknown as Generating, candidate);
    const plain = peft.disableAdapter(() => greedy(peft as unknown as Generating, candidate));
    if (adapted.join() !== plain.join()) return candidate;
  }
  throw new Error('the adapter changes no greedy continuation of the rotations of the prompt');
}

async function exportModel(model: string, file: string): Promise<string> {
  const path = join(dir, file);
  const hf = (await AutoModelForCausalLM.fromPretrained(join(FIXTURES, model))) as Generating;
  await writeModelGguf(hf, await readTokenizerFiles(join(FIXTURES, model)), path, { type: 'F32' });
  return path;
}

// llama3rope: Llama 3 rope scaling, written as the converter does (rope_freqs.weight, no metadata).
for (const model of ['llama', 'qwen2', 'gpt2', 'llama3rope']) {
  test(`${model}: the F32 GGUF peftjs writes gives HF's greedy tokens in llama.cpp`, async () => {
    const path = await exportModel(model, `${model}-F32.gguf`);
    const ids = await prompt(model);
    const { expected } = await loadCase(join(FIXTURES, model));
    const hfTokens = expected.get('generated')!.toFlatArray().slice(ids.length);
    assert.deepEqual(await llamaCppGreedy(path, ids, NEW), hfTokens);
  });
}

for (const [model, method] of [
  ['llama', 'lora'],
  ['llama', 'lora_rslora'],
  ['llama', 'lora_patterns'],
  ['qwen2', 'lora'],
  ['gpt2', 'lora'],
]) {
  test(`${model} ${method}: the LoRA adapter GGUF over the base gives peftjs's tokens with the adapter in llama.cpp`, async () => {
    const base = await exportModel(model, `${model}-${method}-base.gguf`);
    const hf = (await AutoModelForCausalLM.fromPretrained(join(FIXTURES, model))) as Generating;
    const peft = await PeftModel.fromPretrained(hf, join(FIXTURES, model, 'peft', method));
    const adapter = join(dir, `${model}-${method}.gguf`);
    await writeLoraAdapterGguf(peft, adapter);
    const ids = await changedPrompt(peft, await prompt(model));
    const ours = greedy(peft as unknown as Generating, ids);
    assert.deepEqual(await llamaCppGreedy(base, ids, NEW, { lora: adapter }), ours);
  });
}

/** `model` with every matrix replaced by its round trip through `type`'s blocks: the weights a file of that type holds. */
function roundTripped<M extends PretrainedModel>(model: M, type: GgmlBlockType): M {
  noGrad(() => {
    for (const p of model.parameters()) {
      if (p.ndim !== 2) continue;
      const values = new Float32Array(p.toFlatArray());
      p.copy_(tensor(dequantizeGgml(type, quantizeGgml(type, values), values.length), p.shape));
    }
  });
  return model;
}

// llama.cpp quantises activations too (to Q8_0 / Q8_K) for its block dot products, where peftjs
// multiplies the dequantised weights in float32: a near-tie later in a continuation can flip (the
// llama Q8_0 file did at the 5th token), so quantised files are compared on the first 4 tokens.
const QUANT_NEW = 4;

for (const type of ['Q8_0', 'Q4_0'] as const) {
  test(`llama ${type}: llama.cpp on the file peftjs writes gives peftjs's tokens on the same quantised weights`, async () => {
    const path = join(dir, `llama-${type}.gguf`);
    const hf = (await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama'))) as Generating;
    await writeModelGguf(hf, await readTokenizerFiles(join(FIXTURES, 'llama')), path, { type });
    const ids = await prompt('llama');
    assert.deepEqual(
      await llamaCppGreedy(path, ids, QUANT_NEW),
      greedy(roundTripped(hf, type), ids).slice(0, QUANT_NEW),
    );
  });
}

test("a llama with 256-wide rows in Q4_K: llama.cpp gives peftjs's tokens on the same quantised weights", async () => {
  const model = wideRandomLlama() as unknown as Generating;
  const path = join(dir, 'wide-Q4_K.gguf');
  await writeModelGguf(model, await readTokenizerFiles(join(FIXTURES, 'llama')), path, { type: 'Q4_K' });
  const ids = await prompt('llama');
  assert.deepEqual(
    await llamaCppGreedy(path, ids, QUANT_NEW),
    greedy(roundTripped(model, 'Q4_K'), ids).slice(0, QUANT_NEW),
  );
});

test('a LoRA adapter trained in peftjs, exported, gives in llama.cpp the tokens peftjs gives with it', async () => {
  const base = await exportModel('llama', 'trained-base.gguf');
  const hf = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama'));
  const peft = getPeftModel(hf, {
    peftType: 'LORA',
    r: 8,
    loraAlpha: 16,
    targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'down_proj'],
  });
  const optimizer = new AdamW(
    peft.parameters().filter((p) => p.requiresGrad),
    { lr: 0.05 },
  );
  const { inputs } = await loadCase(join(FIXTURES, 'llama'));
  for (let step = 0; step < 4; step++) {
    peft.forward(modelInputs(inputs)).loss!.backward();
    optimizer.step();
    optimizer.zeroGrad();
  }
  const adapter = join(dir, 'trained.gguf');
  await writeLoraAdapterGguf(peft, adapter, { type: 'F16' });
  const ids = await changedPrompt(peft, await prompt('llama'));
  assert.deepEqual(await llamaCppGreedy(base, ids, NEW, { lora: adapter }), greedy(peft as unknown as Generating, ids));
});

test("llama.cpp tokenises with the exported tokenizer as HF's tokenizer.json does", async () => {
  const path = await exportModel('llama', 'tokenizer.gguf');
  const cases = JSON.parse(await readFile(join(FIXTURES, '_tokenizer', 'tokenizer_cases.json'), 'utf8')) as {
    text: string;
    ids: number[];
  }[];
  for (const { text, ids } of cases) assert.deepEqual(await llamaCppTokenize(path, text), ids, JSON.stringify(text));
});

test('adapters of the other mergeable families, merged and exported, give in llama.cpp the tokens peftjs gives with them', async () => {
  const tokenizer = await readTokenizerFiles(join(FIXTURES, 'llama'));
  // The fixture's IA3, VeRA and AdaLoRA adapters are too slight to change a greedy token: amplified.
  const amplify: Record<string, [RegExp, number]> = {
    ia3: [/\.ia3_l\./, 8],
    vera: [/\.vera_lambda_/, 30],
    adalora: [/\.lora_E\./, 30],
  };
  for (const method of ['loha', 'lokr', 'oft', 'ia3', 'lora_dora', 'vera', 'adalora']) {
    const hf = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama'));
    const peft = await PeftModel.fromPretrained(hf, join(FIXTURES, 'llama', 'peft', method));
    noGrad(() => {
      const [names, factor] = amplify[method] ?? [/$^/, 1];
      for (const [name, p] of peft.namedParameters()) if (names.test(name)) p.copy_(p.mul(factor));
    });
    const ids = await changedPrompt(peft, await prompt('llama'));
    const ours = greedy(peft as unknown as Generating, ids);
    const path = join(dir, `merged-${method}.gguf`);
    await writeModelGguf(peft.mergeAndUnload(), tokenizer, path, { type: 'F32' });
    assert.deepEqual(await llamaCppGreedy(path, ids, NEW), ours, method);
  }
});
