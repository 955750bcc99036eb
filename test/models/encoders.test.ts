// Parity with HF transformers for the encoder architectures (BERT, RoBERTa, ViT): logits, loss
// and every gradient of full fine-tuning; HF's module names; bf16 weights; the Auto classes; the
// token-classification head; HF's classification losses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import {
  AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoModelForImageClassification,
  BertForSequenceClassification, BertForTokenClassification, RobertaForSequenceClassification, RobertaForTokenClassification,
  ViTForImageClassification, PatchConv2d, renameViTKey, sequenceClassificationLoss, loadSafetensors, tidy, tensor, randn,
  crossEntropy, Tensor, IndexError, ShapeError, ValueError,
} from '../../src/index.js';
import type { PretrainedModel } from '../../src/index.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { FIXTURES, loadCase, maxAbsDiffSameShape, modelInputs, relativeError } from '../helpers/parity.js';
import { recordingLogger } from './derived-checkpoint.js';

const KEY_BIAS = /\.(key|k_proj)\.bias$/;

function norm(t: Tensor): number {
  return Math.sqrt(t.square().sum().item());
}

const CASES = [
  { name: 'bert', auto: AutoModelForSequenceClassification, cls: BertForSequenceClassification },
  { name: 'roberta', auto: AutoModelForSequenceClassification, cls: RobertaForSequenceClassification },
  { name: 'vit', auto: AutoModelForImageClassification, cls: ViTForImageClassification },
];

for (const { name, auto, cls } of CASES) {
  test(`${name}: logits, loss and every gradient match HF transformers`, async () => {
    const dir = join(FIXTURES, name);
    const { inputs, expected } = await loadCase(dir);
    const model: PretrainedModel = await auto.fromPretrained(dir);
    assert.ok(model instanceof cls, `${name}: got ${model.constructor.name}`);
    // Sequence and image classifiers read one token per example (every row's first token is
    // real), so the whole [batch, labels] logits are specified.
    const out = model.forward(modelInputs(inputs));
    const diff = maxAbsDiffSameShape(out.logits, expected.get('logits')!);
    assert.ok(diff < 1e-4, `${name}: max |logits - HF| = ${diff}`);
    const loss = out.loss!.item();
    assert.ok(Math.abs(loss - expected.get('loss')!.item()) < 1e-4, `${name}: loss ${loss} vs ${expected.get('loss')!.item()}`);

    model.train();
    tidy(() => {
      model.forward(modelInputs(inputs)).loss!.backward();
      return null;
    });
    const params = new Map(model.namedParameters());
    const gradKeys = [...expected.keys()].filter((k) => k.startsWith('grad/'));
    // Every parameter has a reference gradient, and every reference names one of our parameters.
    assert.deepEqual([...params.keys()].sort(), gradKeys.map((k) => k.slice('grad/'.length)).sort());
    for (const key of gradKeys) {
      const p = params.get(key.slice('grad/'.length))!;
      assert.ok(p.grad, `${name}: ${key} got no gradient`);
      const ref = expected.get(key)!;
      if (KEY_BIAS.test(key)) {
        // Zero in exact arithmetic: q·(k + b) adds the same q·b to every score of a query's row,
        // which softmax ignores. Both sides hold only float32 rounding, so compare sizes.
        assert.ok(norm(ref) < 1e-6 && norm(p.grad) < 1e-6, `${name}: ${key} norms ${norm(p.grad)} (ours), ${norm(ref)} (HF)`);
        continue;
      }
      const err = relativeError(p.grad, ref);
      assert.ok(err < 1e-4, `${name}: ${key} relative error ${err}`);
    }
    const caseJson = JSON.parse(await readFile(join(dir, 'case.json'), 'utf8'));
    assert.equal(model.numParameters(), caseJson.params.total);
  });

  test(`${name}: bf16 and f16 weights give the float32 logits within half-precision rounding`, async () => {
    const dir = join(FIXTURES, name);
    const { inputs, expected } = await loadCase(dir);
    for (const dtype of ['bfloat16', 'float16'] as const) {
      const model = await auto.fromPretrained(dir, { dtype });
      assert.ok(model.parameters().every((p) => p.dtype === dtype), `${name}: some weight is not ${dtype}`);
      const { logits, loss } = model.forward(modelInputs(inputs));
      assert.equal(logits.dtype, 'float32');
      const diff = maxAbsDiffSameShape(logits, expected.get('logits')!);
      assert.ok(diff < (dtype === 'float16' ? 0.002 : 0.02), `${name} ${dtype}: max |logits - HF| = ${diff}`);
      assert.ok(Number.isFinite(loss!.item()));
    }
  });
}

test('AutoModelForSequenceClassification picks the class of the checkpoint\'s family, or none', async () => {
  assert.ok((await AutoModelForSequenceClassification.fromPretrained(join(FIXTURES, 'roberta'))) instanceof RobertaForSequenceClassification);
  await assert.rejects(AutoModelForSequenceClassification.fromPretrained(join(FIXTURES, 'vit')), /not a supported architecture/);
});

/** Checks a token-classification model against the sequence model whose encoder it shares. */
function checkTokenHead(model: PretrainedModel, seqModel: PretrainedModel, inputs: Map<string, Tensor>): void {
  const base = { ...modelInputs(inputs), labels: undefined };
  assert.equal(model.namedParameters().some(([n]) => n.includes('pooler')), false);
  assert.equal(maxAbsDiffSameShape(model.forward(base).lastHiddenState!, seqModel.forward(base).lastHiddenState!), 0);

  const labels = tensor([[0, 1, 2, -100, 1, 0, 2, 1, -100, 0], [2, 2, 1, 0, 1, 0, 1, -100, -100, -100]], undefined, 'int64');
  const { logits, loss } = model.forward({ ...base, labels });
  assert.deepEqual(logits.shape, [2, 10, 3]);
  // Mean cross-entropy over the 15 labelled tokens only.
  const logProbs = logits.reshape([20, 3]).logSoftmax(-1).toArray() as number[][];
  const kept = labels.toFlatArray().map((t, i) => [t, i] as const).filter(([t]) => t !== -100);
  const reference = -kept.reduce((s, [t, i]) => s + logProbs[i]![t]!, 0) / kept.length;
  assert.ok(Math.abs(loss!.item() - reference) < 1e-5, `loss ${loss!.item()} vs ${reference}`);
  const outOfRange = tensor([[3, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]], undefined, 'int64');
  assert.throws(() => model.forward({ ...base, labels: outOfRange }), IndexError);
  assert.throws(() => model.forward({ ...base, labels: tensor([0, 1], undefined, 'int64') }), ShapeError);
}

test('bert: a token-classification head on the checkpoint gives [batch, seq, labels] and ignores -100 labels', async () => {
  const dir = join(FIXTURES, 'bert');
  const { inputs } = await loadCase(dir);
  // The checkpoint's classifier [3, hidden] fits the token head too, so it loads whole (as in HF).
  const model = await AutoModelForTokenClassification.fromPretrained(dir);
  assert.ok(model instanceof BertForTokenClassification, `got ${model.constructor.name}`);
  checkTokenHead(model, await AutoModelForSequenceClassification.fromPretrained(dir), inputs);
});

test('roberta: the token-classification head over the checkpoint\'s encoder', async () => {
  const dir = join(FIXTURES, 'roberta');
  const { inputs } = await loadCase(dir);
  // The checkpoint's head is RoBERTa's sequence head: the token classifier starts anew (see fresh-heads.test.ts).
  const model = await AutoModelForTokenClassification.fromPretrained(dir, { logger: recordingLogger() });
  assert.ok(model instanceof RobertaForTokenClassification, `got ${model.constructor.name}`);
  checkTokenHead(model, await AutoModelForSequenceClassification.fromPretrained(dir), inputs);
});

test('classification losses follow problem_type as HF: MSE, cross-entropy, BCE with logits', () => {
  const logits = tensor([[0.5, -1, 2], [1.5, 0, -0.5]]);
  const config = (problem_type: 'regression' | 'single_label_classification' | 'multi_label_classification' | null, num_labels = 3) => ({ problem_type, num_labels });
  // Integer labels: single-label cross-entropy (and -100 is ignored).
  const ce = crossEntropy(logits, tensor([2, 0], undefined, 'int64')).item();
  assert.ok(Math.abs(sequenceClassificationLoss(logits, tensor([2, 0], undefined, 'int64'), config(null)).item() - ce) < 1e-6);
  const firstOnly = crossEntropy(logits.narrow(0, 0, 1), tensor([2], undefined, 'int64')).item();
  assert.ok(Math.abs(sequenceClassificationLoss(logits, tensor([2, -100], undefined, 'int64'), config(null)).item() - firstOnly) < 1e-6);
  // Float labels: multi-label BCE, mean of -(y·log σ(x) + (1-y)·log(1-σ(x))).
  const y = [[1, 0, 1], [0, 0, 1]];
  const x = logits.toArray() as number[][];
  const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
  const bce = x.flatMap((row, i) => row.map((v, j) => -(y[i]![j]! * Math.log(sigmoid(v)) + (1 - y[i]![j]!) * Math.log(1 - sigmoid(v))))).reduce((a, b) => a + b) / 6;
  assert.ok(Math.abs(sequenceClassificationLoss(logits, tensor(y), config(null)).item() - bce) < 1e-6);
  // One label: regression, [batch] or [batch, 1] targets.
  const scores = tensor([[0.5], [2]]);
  for (const targets of [tensor([1, 1]), tensor([[1], [1]])]) {
    assert.ok(Math.abs(sequenceClassificationLoss(scores, targets, config(null, 1)).item() - (0.25 + 1) / 2) < 1e-6);
  }
  // An explicit problem_type wins: regression over three outputs.
  assert.ok(Math.abs(sequenceClassificationLoss(logits, tensor(y), config('regression')).item() - x.flat().reduce((s, v, k) => s + (v - y.flat()[k]!) ** 2, 0) / 6) < 1e-6);
  assert.throws(() => sequenceClassificationLoss(logits, tensor([0, 1, 2], undefined, 'int64'), config(null)), ShapeError);
  assert.throws(() => sequenceClassificationLoss(logits, tensor([0, 3], undefined, 'int64'), config(null)), IndexError);
});

test('vit: in-memory names are transformers 5\'s; checkpoint and older adapter names map onto them', async () => {
  const model = (await AutoModelForImageClassification.fromPretrained(join(FIXTURES, 'vit'))) as ViTForImageClassification;
  const modules = new Set([...model.namedModules()].map(([n]) => n));
  // Every module HF PEFT's ViT LoRA adapter targets exists under its name.
  const adapter = (await loadSafetensors(join(FIXTURES, 'vit', 'peft', 'lora', 'adapter_model.safetensors'))).tensors;
  for (const key of adapter.keys()) {
    const path = key.replace(/^base_model\.model\./, '').replace(/\.(lora_[AB]\.)?(weight|bias)$/, '');
    assert.ok(modules.has(path), `no module ${path} (from ${key})`);
  }
  assert.equal(renameViTKey('vit.encoder.layer.3.attention.attention.query.weight'), 'vit.layers.3.attention.q_proj.weight');
  assert.equal(renameViTKey('vit.encoder.layer.0.attention.attention.value.lora_A.weight'), 'vit.layers.0.attention.v_proj.lora_A.weight');
  assert.equal(renameViTKey('encoder.layer.1.attention.output.dense.bias'), 'layers.1.attention.o_proj.bias');
  assert.equal(renameViTKey('vit.encoder.layer.1.intermediate.dense.weight'), 'vit.layers.1.mlp.fc1.weight');
  assert.equal(renameViTKey('vit.encoder.layer.1.output.dense.weight'), 'vit.layers.1.mlp.fc2.weight');
  assert.equal(renameViTKey('vit.layers.1.mlp.fc2.weight'), 'vit.layers.1.mlp.fc2.weight');
  assert.equal(renameViTKey('vit.embeddings.patch_embeddings.projection.weight'), 'vit.embeddings.patch_embeddings.projection.weight');
});

test('PatchConv2d: backward matches finite differences; torch\'s weight layout', () => {
  const conv = new PatchConv2d(2, 3, 2, { dtype: 'float64' });
  assert.deepEqual(conv.weight.shape, [3, 2, 2, 2]);
  const pixels = randn([2, 2, 4, 6], { dtype: 'float64' }).requiresGrad_();
  conv.weight.requiresGrad_();
  gradcheck((x, w, b) => {
    conv.weight = w as typeof conv.weight;
    conv.bias = b as typeof conv.bias;
    return conv.forward(x!);
  }, [pixels, conv.weight, conv.bias]);
  // Output [B, patches, out] with patches row-major: patch (1, 2) is token 1·3 + 2.
  const out = conv.forward(pixels).toArray() as number[][][];
  const w = conv.weight.toArray() as number[][][][];
  const px = pixels.toArray() as number[][][][];
  let manual = conv.bias.toFlatArray()[1]!;
  for (let c = 0; c < 2; c++) for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) manual += w[1]![c]![i]![j]! * px[0]![c]![2 + i]![4 + j]!;
  assert.ok(Math.abs(out[0]![5]![1]! - manual) < 1e-12);
  assert.throws(() => conv.forward(randn([1, 2, 5, 6], { dtype: 'float64' })), ShapeError);
});

test('bad encoder inputs give typed errors that name the fix', async () => {
  const vit = await AutoModelForImageClassification.fromPretrained(join(FIXTURES, 'vit'));
  assert.throws(() => vit.forward({}), ValueError);
  assert.throws(() => vit.forward({ pixelValues: randn([1, 3, 8, 8]) }), /resize the images to 16×16/);
  const bert = await AutoModelForSequenceClassification.fromPretrained(join(FIXTURES, 'bert'));
  const ids = tensor([[5, 6, 7]], undefined, 'int64');
  assert.throws(() => bert.forward({ inputIds: ids, tokenTypeIds: tensor([[0, 0]], undefined, 'int64') }), ShapeError);
  assert.throws(() => bert.forward({ inputIds: tensor([new Array(65).fill(5)], undefined, 'int64') }), /max_position_embeddings = 64/);
  assert.throws(() => bert.forward({ inputIds: ids, labels: tensor([7], undefined, 'int64') }), IndexError);
});
