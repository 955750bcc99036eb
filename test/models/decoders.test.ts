// Parity with HF transformers for the decoder-only architectures: logits, loss, every gradient
// of full fine-tuning, and greedy generation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { AutoModelForCausalLM, tidy, tensor, Tensor, IndexError } from '../../src/index.js';
import type { PretrainedModel } from '../../src/index.js';
import { FIXTURES, loadCase, maxAbsDiff, relativeError } from '../helpers/parity.js';

const MODELS = ['gpt2', 'llama', 'qwen2', 'mistral', 'llama3rope'];

for (const name of MODELS) {
  test(`${name}: logits, loss and every gradient match HF transformers`, async () => {
    const dir = join(FIXTURES, name);
    const { inputs, expected } = await loadCase(dir);
    const model: PretrainedModel = await AutoModelForCausalLM.fromPretrained(dir);
    const mask = inputs.get('attention_mask')!;
    const forward = () => model.forward({ inputIds: inputs.get('input_ids')!, attentionMask: mask, labels: inputs.get('labels')! });
    const evalOut = forward();
    const diff = maxAbsDiff(evalOut.logits, expected.get('logits')!, mask);
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
    const dir = join(FIXTURES, name);
    const { inputs, expected } = await loadCase(dir);
    const model = (await AutoModelForCausalLM.fromPretrained(dir)) as PretrainedModel & { generate(ids: Tensor, o: object): Tensor };
    const prompt = inputs.get('input_ids')!.narrow(0, 0, 1);
    const ref = expected.get('generated')!;
    const out = model.generate(prompt, { maxNewTokens: ref.shape[1]! - prompt.shape[1]! });
    assert.deepEqual(out.toFlatArray(), ref.toFlatArray());
  });
}

test('left-padded batched generation equals generating each row alone', async () => {
  const dir = join(FIXTURES, 'llama');
  const { inputs } = await loadCase(dir);
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
  const model = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'gpt2'));
  assert.throws(() => model.forward({ inputIds: tensor([[1, 2, 999]], undefined, 'int64') }), IndexError);
  await assert.rejects(AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'bert')), /not a supported architecture/);
});

test('logitsToKeep computes the last positions only, equal to the full logits there', async () => {
  for (const name of ['gpt2', 'llama']) {
    const { inputs } = await loadCase(join(FIXTURES, name));
    const model = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, name));
    const ids = inputs.get('input_ids')!;
    const full = model.forward({ inputIds: ids }).logits;
    const last = model.forward({ inputIds: ids, logitsToKeep: 2 }).logits;
    assert.deepEqual(last.shape, [ids.shape[0], 2, full.shape[2]]);
    assert.ok(maxAbsDiff(last, full.narrow(1, ids.shape[1]! - 2, 2)) < 1e-5, 'the same logits up to summation order');
    assert.deepEqual(model.forward({ inputIds: ids, labels: inputs.get('labels'), logitsToKeep: 1 }).logits.shape, full.shape, 'labels need every position');
  }
});
