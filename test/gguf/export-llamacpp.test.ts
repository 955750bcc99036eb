// GGUF files written by peftjs, run by llama.cpp (node-llama-cpp): models from the HF fixtures,
// and LoRA adapters over them, give the tokens peftjs gives.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AutoModelForCausalLM,
  PeftModel,
  readTokenizerFiles,
  tensor,
  type PretrainedModel,
  type Tensor,
} from '../../src/index.js';
import { writeLoraAdapterGguf, writeModelGguf } from '../../src/gguf/export/index.js';
import { FIXTURES, loadCase } from '../helpers/parity.js';
import { disposeLlamaCpp, llamaCppGreedy } from './llamacpp.js';

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

for (const model of ['llama', 'qwen2', 'gpt2']) {
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
