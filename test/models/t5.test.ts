// Parity with HF transformers for T5ForConditionalGeneration: logits, loss, every gradient of full
// fine-tuning, greedy generation; HF's module names; encoder padding; cached decoding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import {
  AutoModelForSeq2SeqLM, EncoderDecoderCache, Generator, T5ForConditionalGeneration, Tensor, ValueError,
  loadSafetensors, noGrad, parseT5Config, relativePositionBucket, shiftRight, tensor, tidy,
} from '../../src/index.js';
import { FIXTURES, loadCase, maxAbsDiffSameShape, relativeError } from '../helpers/parity.js';

const DIR = join(FIXTURES, 't5');

async function fixture() {
  const { inputs, expected } = await loadCase(DIR);
  const model = (await AutoModelForSeq2SeqLM.fromPretrained(DIR)) as T5ForConditionalGeneration;
  return { model, inputs, expected };
}

test('t5: logits, loss and every gradient match HF transformers', async () => {
  const { model, inputs, expected } = await fixture();
  // Row 1 of input_ids is right-padded: the encoder's padding is in the comparison.
  const forward = () => model.forward({ inputIds: inputs.get('input_ids')!, attentionMask: inputs.get('attention_mask')!, labels: inputs.get('labels')! });
  const out = forward();
  // Logits are per decoder position, and every decoder position is real (labels' -100 only skip the loss).
  const diff = maxAbsDiffSameShape(out.logits, expected.get('logits')!);
  assert.ok(diff < 1e-4, `max |logits - HF| = ${diff}`);
  const loss = out.loss!.item();
  assert.ok(Math.abs(loss - expected.get('loss')!.item()) < 1e-4, `loss ${loss} vs ${expected.get('loss')!.item()}`);

  model.train();
  tidy(() => {
    forward().loss!.backward();
    return null;
  });
  const params = new Map(model.namedParameters());
  const gradKeys = [...expected.keys()].filter((k) => k.startsWith('grad/'));
  assert.equal(gradKeys.length, params.size, 'HF lists a gradient for every parameter');
  for (const key of gradKeys) {
    const p = params.get(key.slice('grad/'.length));
    assert.ok(p, `no parameter ${key}`);
    assert.ok(p.grad, `${key} got no gradient`);
    const err = relativeError(p.grad, expected.get(key)!);
    assert.ok(err < 1e-4, `${key} relative error ${err}`);
  }
  const caseJson = JSON.parse(await readFile(join(DIR, 'case.json'), 'utf8'));
  assert.equal(model.numParameters(), caseJson.params.total);
});

test('t5: greedy generation matches HF token for token', async () => {
  const { model, inputs, expected } = await fixture();
  const ref = expected.get('generated')!;
  const prompt = inputs.get('input_ids')!.narrow(0, 0, 1);
  // HF returns the decoder sequence: decoder_start_token_id, then the new tokens.
  const out = model.generate(prompt, { maxNewTokens: ref.shape[1]! - 1 });
  assert.deepEqual(out.toFlatArray(), ref.toFlatArray());
});

test('t5: a padded encoder batch gives each row what it gives alone', async () => {
  const { model, inputs } = await fixture();
  const ids = inputs.get('input_ids')!;
  const mask = inputs.get('attention_mask')!;
  const labels = inputs.get('labels')!;
  const realLength = mask.select(0, 1).toFlatArray().reduce((s, v) => s + v, 0);
  assert.ok(realLength < ids.shape[1]!, 'row 1 of the fixture is padded');
  const shortIds = ids.narrow(0, 1, 1).narrow(1, 0, realLength);

  const batched = model.forward({ inputIds: ids, attentionMask: mask, labels }).logits.narrow(0, 1, 1);
  const alone = model.forward({ inputIds: shortIds, labels: labels.narrow(0, 1, 1) }).logits;
  assert.ok(maxAbsDiffSameShape(batched, alone) < 1e-5);

  const both = model.generate(ids, { attentionMask: mask, maxNewTokens: 6 });
  const row1 = model.generate(shortIds, { maxNewTokens: 6 });
  const row0 = model.generate(ids.narrow(0, 0, 1), { maxNewTokens: 6 });
  assert.deepEqual(both.toArray(), [...(row0.toArray() as number[][]), ...(row1.toArray() as number[][])]);
});

test('t5: decoding step by step with the cache equals decoding all positions at once', async () => {
  const { model, inputs } = await fixture();
  const inputIds = inputs.get('input_ids')!;
  const attentionMask = inputs.get('attention_mask')!;
  const decoderInputIds = shiftRight(inputs.get('labels')!, model.config.decoder_start_token_id, model.config.pad_token_id!);
  noGrad(() => {
    const encoderHiddenStates = model.encode({ inputIds, attentionMask });
    const full = model.decode({ decoderInputIds, encoderHiddenStates, encoderAttentionMask: attentionMask });
    const cache = new EncoderDecoderCache();
    const steps: Tensor[] = [];
    for (let t = 0; t < decoderInputIds.shape[1]!; t++) {
      steps.push(model.decode({ decoderInputIds: decoderInputIds.narrow(1, t, 1), encoderHiddenStates, encoderAttentionMask: attentionMask, cache }));
    }
    assert.equal(cache.length, decoderInputIds.shape[1]);
    for (const [t, step] of steps.entries()) assert.ok(maxAbsDiffSameShape(step, full.narrow(1, t, 1)) < 1e-5, `position ${t}`);
    cache.dispose();
  });
});

test('t5: module tree and parameter names are HF\'s', async () => {
  const { model } = await fixture();
  const checkpoint = (await loadSafetensors(join(DIR, 'model.safetensors'))).tensors;
  assert.deepEqual(model.namedParameters().map(([n]) => n).sort(), [...checkpoint.keys()].sort());
  // Tied: the stacks' embed_tokens and lm_head hold the shared table, as in HF's state dict.
  const state = model.stateDict();
  for (const name of ['encoder.embed_tokens.weight', 'decoder.embed_tokens.weight', 'lm_head.weight']) {
    assert.equal(state.get(name), state.get('shared.weight'), name);
  }
  // Every module an HF PEFT adapter targets exists under the same path.
  for (const method of ['lora', 'ia3']) {
    const adapter = (await loadSafetensors(join(DIR, 'peft', method, 'adapter_model.safetensors'))).tensors;
    for (const key of adapter.keys()) {
      const path = key.replace(/^base_model\.model\./, '').replace(/\.(lora_[AB]\.weight|ia3_l)$/, '');
      assert.doesNotThrow(() => model.getSubmodule(path), path);
    }
  }
});

test('t5: relative position buckets are HF\'s for t5-small\'s settings (32 buckets, distance 128)', () => {
  // key − query → bucket; the log-spaced boundaries at 16, 32, 64 are exact in float32 as in torch.
  const encoder = { 0: 0, [-1]: 1, [-7]: 7, [-8]: 8, [-12]: 9, [-16]: 10, [-32]: 12, [-64]: 14, [-128]: 15, [-1000]: 15, 1: 17, 16: 26 };
  for (const [rel, bucket] of Object.entries(encoder)) assert.equal(relativePositionBucket(Number(rel), true, 32, 128), bucket, `encoder ${rel}`);
  const decoder = { 5: 0, 0: 0, [-15]: 15, [-16]: 16, [-32]: 21, [-128]: 31, [-1000]: 31 };
  for (const [rel, bucket] of Object.entries(decoder)) assert.equal(relativePositionBucket(Number(rel), false, 32, 128), bucket, `decoder ${rel}`);
});

test('t5: gated-gelu and an untied head build with HF\'s names', () => {
  const config = parseT5Config({
    model_type: 't5', vocab_size: 16, d_model: 8, d_kv: 4, d_ff: 12, num_layers: 1, num_decoder_layers: 2, num_heads: 2,
    feed_forward_proj: 'gated-gelu', tie_word_embeddings: false,
  });
  const model = new T5ForConditionalGeneration(config);
  const names = model.namedParameters().map(([n]) => n);
  for (const name of ['encoder.block.0.layer.1.DenseReluDense.wi_0.weight', 'decoder.block.1.layer.2.DenseReluDense.wi_1.weight', 'lm_head.weight']) {
    assert.ok(names.includes(name), name);
  }
  assert.notEqual(model.lm_head.weight, model.shared.weight);
  assert.ok(!names.some((n) => n.startsWith('decoder.block.1.') && n.includes('relative_attention_bias')), 'only block 0 has the bias table');
  const out = model.forward({ inputIds: tensor([[3, 4, 5]], undefined, 'int64'), labels: tensor([[6, 7]], undefined, 'int64') });
  assert.deepEqual(out.logits.shape, [1, 2, 16]);
  out.loss!.backward();
  assert.ok(model.encoder.block.at(0).layer.at(1).namedParameters().every(([, p]) => p.grad !== null));
});

test('t5: labels shift right after decoder_start_token_id, with -100 read as pad', () => {
  const shifted = shiftRight(tensor([[5, 6, 7], [8, -100, -100]], undefined, 'int64'), 1, 0);
  assert.deepEqual(shifted.toArray(), [[1, 5, 6], [1, 8, 0]]);
});

test('t5: generation stops at eos, streams tokens, and samples reproducibly', async () => {
  const { model, inputs, expected } = await fixture();
  const prompt = inputs.get('input_ids')!.narrow(0, 0, 1);
  const greedy = expected.get('generated')!.toFlatArray();
  const streamed: number[] = [];
  const stopped = model.generate(prompt, { maxNewTokens: 8, eosTokenId: greedy[2]!, onToken: (t) => streamed.push(t[0]!) });
  assert.deepEqual(stopped.toFlatArray(), greedy.slice(0, 3));
  assert.deepEqual(streamed, greedy.slice(1, 3));

  const sample = () => model.generate(prompt, { maxNewTokens: 6, doSample: true, topK: 20, generator: new Generator(7) }).toFlatArray();
  assert.deepEqual(sample(), sample());
});

test('t5: forward without decoder inputs or labels is a ValueError', async () => {
  const { model, inputs } = await fixture();
  assert.throws(() => model.forward({ inputIds: inputs.get('input_ids')! }), ValueError);
});
