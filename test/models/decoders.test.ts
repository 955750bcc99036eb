// Parity with HF transformers for the decoder-only architectures: logits, loss, every gradient
// of full fine-tuning, and greedy generation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { AutoModelForCausalLM, loadSafetensors, tidy, tensor, Tensor, IndexError } from '../../src/index.js';
import type { PretrainedModel } from '../../src/index.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'hf');
const MODELS = ['gpt2', 'llama', 'qwen2', 'mistral', 'llama3rope'];

async function fixture(name: string) {
  const dir = join(FIXTURES, name);
  const inputs = (await loadSafetensors(join(dir, 'inputs.safetensors'))).tensors;
  const expected = (await loadSafetensors(join(dir, 'expected.safetensors'))).tensors;
  return { dir, inputs, expected };
}

/** Largest |a - b| over positions where mask [B, T] is 1 (last dim compared whole). */
function maxAbsDiffMasked(a: Tensor, b: Tensor, mask: Tensor): number {
  const [B, T, V] = a.shape as [number, number, number];
  const av = a.toFlatArray();
  const bv = b.toFlatArray();
  const m = mask.toFlatArray();
  let worst = 0;
  for (let i = 0; i < B * T; i++) {
    if (!m[i]) continue;
    for (let j = 0; j < V; j++) worst = Math.max(worst, Math.abs(av[i * V + j]! - bv[i * V + j]!));
  }
  return worst;
}

function relativeError(a: Tensor, b: Tensor): number {
  const av = a.toFlatArray();
  const bv = b.toFlatArray();
  let num = 0;
  let den = 0;
  for (let i = 0; i < av.length; i++) {
    num += (av[i]! - bv[i]!) ** 2;
    den += bv[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

for (const name of MODELS) {
  test(`${name}: logits, loss and every gradient match HF transformers`, async () => {
    const { dir, inputs, expected } = await fixture(name);
    const model: PretrainedModel = await AutoModelForCausalLM.fromPretrained(dir);
    const mask = inputs.get('attention_mask')!;
    const forward = () => model.forward({ inputIds: inputs.get('input_ids')!, attentionMask: mask, labels: inputs.get('labels')! });
    const evalOut = forward();
    const diff = maxAbsDiffMasked(evalOut.logits, expected.get('logits')!, mask);
    assert.ok(diff < 1e-4, `${name}: max |logits - HF| = ${diff}`);
    assert.ok(Math.abs(evalOut.loss!.item() - expected.get('loss')!.item()) < 1e-4, `${name}: loss ${evalOut.loss!.item()} vs ${expected.get('loss')!.item()}`);

    model.train();
    tidy(() => {
      forward().loss!.backward();
      return null;
    });
    const params = new Map(model.namedParameters());
    const gradKeys = [...expected.keys()].filter((k) => k.startsWith('grad/'));
    assert.ok(gradKeys.length > 0);
    for (const key of gradKeys) {
      const p = params.get(key.slice('grad/'.length));
      assert.ok(p, `${name}: no parameter ${key}`);
      assert.ok(p.grad, `${name}: ${key} got no gradient`);
      const err = relativeError(p.grad, expected.get(key)!);
      assert.ok(err < 1e-4, `${name}: ${key} relative error ${err}`);
    }
    const caseJson = JSON.parse(await readFile(join(dir, 'case.json'), 'utf8'));
    assert.equal(model.numParameters(), caseJson.params.total);
  });

  test(`${name}: greedy generation matches HF token for token`, async () => {
    const { dir, inputs, expected } = await fixture(name);
    const model = (await AutoModelForCausalLM.fromPretrained(dir)) as PretrainedModel & { generate(ids: Tensor, o: object): Tensor };
    const prompt = inputs.get('input_ids')!.narrow(0, 0, 1);
    const ref = expected.get('generated')!;
    const out = model.generate(prompt, { maxNewTokens: ref.shape[1]! - prompt.shape[1]! });
    assert.deepEqual(out.toFlatArray(), ref.toFlatArray());
  });
}

test('left-padded batched generation equals generating each row alone', async () => {
  const { dir, inputs } = await fixture('llama');
  const model = (await AutoModelForCausalLM.fromPretrained(dir)) as PretrainedModel & { generate(ids: Tensor, o: object): Tensor };
  const ids = inputs.get('input_ids')!.toArray() as number[][];
  const short = ids[1]!.slice(0, 7);
  const long = ids[0]!;
  const alone = model.generate(tensor([short], undefined, 'int64'), { maxNewTokens: 5 }).toFlatArray();
  const padded = [...new Array(long.length - short.length).fill(0), ...short];
  const mask = [...new Array(long.length - short.length).fill(0), ...short.map(() => 1)];
  const batch = model.generate(tensor([long, padded], undefined, 'int64'), { maxNewTokens: 5, attentionMask: tensor([long.map(() => 1), mask], undefined, 'int64') });
  assert.deepEqual(batch.select(0, 1).toFlatArray().slice(long.length - short.length), alone);
});

test('bad input to a model gives typed errors', async () => {
  const { dir } = await fixture('gpt2');
  const model = await AutoModelForCausalLM.fromPretrained(dir);
  assert.throws(() => model.forward({ inputIds: tensor([[1, 2, 999]], undefined, 'int64') }), IndexError);
  await assert.rejects(AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'bert')), /not a supported architecture/);
});
