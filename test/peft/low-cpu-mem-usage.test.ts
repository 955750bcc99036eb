// lowCpuMemUsage (HF PEFT's low_cpu_mem_usage): adapters built without drawing initial values,
// then loaded, give the same outputs as a normal load (HF's for multi_adapter); a file missing a
// tensor is still refused, so no parameter is left holding unset memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BlobSource, PeftModel, loadSafetensors, noGrad, safetensorsChunks, isInitSkipped, type PretrainedModel } from '../../src/index.js';
import { FIXTURES, loadCase, maxAbsDiff, modelInputs } from '../helpers/parity.js';
import { baseModel, peftCase } from '../helpers/peft-parity.js';

/** The adapter folder as bytes in memory (how peft serve hands a file it has hashed to the loader). */
async function inMemory(dir: string): Promise<BlobSource> {
  const files = ['adapter_config.json', 'adapter_model.safetensors'];
  return new BlobSource(new Map(await Promise.all(files.map(async (f) => [f, new Uint8Array(await readFile(join(dir, f)))] as const))), dir);
}

test('llama/multi_adapter: adapters loaded with lowCpuMemUsage (from bytes in memory) match HF PEFT', async () => {
  const c = await peftCase('llama', 'multi_adapter');
  const { inputs } = await loadCase(join(FIXTURES, 'llama'));
  const expected = (await loadSafetensors(join(c.dir, 'expected.safetensors'))).tensors;
  const mask = inputs.get('attention_mask')!;
  const peft = await PeftModel.fromPretrained(await baseModel(c), await inMemory(join(c.dir, 'a')), { adapterName: 'a', lowCpuMemUsage: true });
  await peft.loadAdapter(await inMemory(join(c.dir, 'b')), 'b', { lowCpuMemUsage: true });
  assert.equal(isInitSkipped(), false, 'initialisation is on again after the load');
  const mixed = noGrad(() => peft.forward({ ...modelInputs(inputs), labels: undefined, adapterNames: ['a', 'b'] }));
  assert.ok(maxAbsDiff(mixed.logits, expected.get('mixed_logits')!, mask) < 1e-4);
  peft.setAdapter('b');
  const b = noGrad(() => peft.forward({ ...modelInputs(inputs), labels: undefined }));
  assert.ok(maxAbsDiff(b.logits, expected.get('b_logits')!, mask) < 1e-4);
});

test('llama/lora_dora: lowCpuMemUsage gives the same logits bit for bit; a file missing a tensor is refused', async () => {
  const c = await peftCase('llama', 'lora_dora');
  const { inputs } = await loadCase(join(FIXTURES, 'llama'));
  const logits = async (model: PretrainedModel, lowCpuMemUsage: boolean) => {
    const peft = await PeftModel.fromPretrained(model, c.dir, { lowCpuMemUsage });
    return noGrad(() => peft.forward({ ...modelInputs(inputs), labels: undefined })).logits;
  };
  const normal = await logits(await baseModel(c), false);
  const skipped = await logits(await baseModel(c), true);
  assert.equal(maxAbsDiff(normal, skipped), 0);

  const { tensors } = await loadSafetensors(join(c.dir, 'adapter_model.safetensors'));
  const dropped = [...tensors.keys()].find((k) => k.includes('magnitude'))!;
  tensors.delete(dropped);
  const chunks = safetensorsChunks('partial', tensors, { format: 'pt' });
  const bytes = new Uint8Array(await new Blob(chunks as Uint8Array<ArrayBuffer>[]).arrayBuffer());
  const config = new Uint8Array(await readFile(join(c.dir, 'adapter_config.json')));
  const partial = new BlobSource(new Map([['adapter_config.json', config], ['adapter_model.safetensors', bytes]]), 'partial');
  await assert.rejects(PeftModel.fromPretrained(await baseModel(c), partial, { lowCpuMemUsage: true }), (e: Error) => e.message.includes(dropped));
});
