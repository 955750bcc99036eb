// Prompt learning (prompt tuning, prefix tuning, P-tuning, P-tuning v2): parity with every HF
// PEFT fixture, TEXT init, classification heads that train, save → load, which parameters
// train, several adapters, and typed errors that leave the base model untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AutoModelForCausalLM, AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoTokenizer, PeftModel, PeftError,
  getPeftModel, manualSeed, noGrad, tensor, tidy, type PretrainedModel,
} from '../../src/index.js';
import { pTuningV2, wordEmbeddings } from '../../src/peft/prompt/index.js'; // registers the prompt-learning methods
import { FIXTURES, loadCase, maxAbsDiff, modelInputs } from '../helpers/parity.js';
import { checkForwardAndGradients, checkSavedFiles, peftCase } from '../helpers/peft-parity.js';

const MODELS = ['gpt2', 'llama', 'qwen2', 'mistral', 'llama3rope', 'bert', 'roberta', 't5'];
/** Methods whose file holds an encoder's outputs but not its weights (see ForwardCheckOptions). */
const REPARAMETERISED = new Set(['prefix_tuning_proj', 'p_tuning_mlp', 'p_tuning_lstm']);

for (const model of MODELS) {
  for (const method of ['prompt_tuning', 'prefix_tuning', 'prefix_tuning_proj', 'p_tuning_mlp', 'p_tuning_lstm']) {
    if (!existsSync(join(FIXTURES, model, 'peft', method))) continue;
    test(`${model}/${method}: HF PEFT's adapter gives HF's outputs, gradients, generations and files`, async () => {
      const c = await peftCase(model, method);
      const peft = await checkForwardAndGradients(c, { savedOutputsOnly: REPARAMETERISED.has(method) });
      await checkSavedFiles(c, peft);
    });
  }
}

const gpt2Dir = join(FIXTURES, 'gpt2');
const bertDir = join(FIXTURES, 'bert');

test('prompt tuning TEXT init: the virtual tokens start as the embeddings of the tokenized text, repeated to length', async () => {
  const model = await AutoModelForCausalLM.fromPretrained(gpt2Dir);
  const peft = getPeftModel(model, {
    peftType: 'PROMPT_TUNING', taskType: 'CAUSAL_LM', numVirtualTokens: 7, promptTuningInit: 'TEXT',
    promptTuningInitText: 'hello world', tokenizerNameOrPath: gpt2Dir,
  });
  const ids = (await AutoTokenizer.fromPretrained(gpt2Dir)).encode('hello world');
  const repeated = Array.from({ length: 7 }, (_, i) => ids[i % ids.length]!);
  const expected = wordEmbeddings(model).forward(tensor(repeated, [7], 'int64'));
  assert.equal(maxAbsDiff(peft.prompt_encoder!.get('default')!.embedding.weight, expected), 0);
});

/** A few SGD steps on the trainable parameters; the losses. */
function train(peft: PeftModel, inputs: Parameters<PeftModel['forward']>[0], steps: number): number[] {
  const losses: number[] = [];
  const params = peft.parameters().filter((p) => p.requiresGrad);
  for (let i = 0; i < steps; i++) {
    losses.push(tidy(() => {
      const loss = peft.forward(inputs).loss!;
      loss.backward();
      return loss.item();
    }));
    tidy(() =>
      noGrad(() => {
        for (const p of params) {
          p.copy_(p.sub(p.grad!.mul(0.5)));
          p.grad = null;
        }
        return null;
      }),
    );
  }
  return losses;
}

for (const [task, load] of [['SEQ_CLS', AutoModelForSequenceClassification], ['TOKEN_CLS', AutoModelForTokenClassification]] as const) {
  test(`P-tuning v2 (${task}): deep prompts of the chosen length and the head train, nothing else; the loss falls`, async () => {
    manualSeed(0);
    const model: PretrainedModel = await load.fromPretrained(bertDir, { numLabels: 3 });
    const before = model.stateDict();
    const snapshot = new Map([...before].map(([k, t]) => [k, t.toFlatArray()]));
    const peft = getPeftModel(model, pTuningV2({ taskType: task, numVirtualTokens: 6 }));
    const trainable = peft.namedParameters().filter(([, p]) => p.requiresGrad).map(([n, p]) => `${n}:${p.shape.join('x')}`).sort();
    assert.deepEqual(trainable, ['base_model.classifier.modules_to_save.default.bias:3', 'base_model.classifier.modules_to_save.default.weight:3x32', 'prompt_encoder.default.embedding.weight:6x128']);
    const { inputs } = await loadCase(bertDir);
    const batch = modelInputs(inputs);
    const labels = task === 'SEQ_CLS' ? tensor([0, 2], [2], 'int64') : tensor(new Array(20).fill(0).map((_, i) => i % 3), [2, 10], 'int64');
    const losses = train(peft, { ...batch, labels }, 6);
    assert.ok(losses.at(-1)! < losses[0]!, `loss ${losses.join(' → ')}`);
    for (const [k, t] of before) assert.deepEqual(t.toFlatArray(), snapshot.get(k), `${k} of the base model changed`);
  });
}

test('save → load gives identical outputs, for two adapters (add, set, delete) and for P-tuning with an LSTM', async () => {
  manualSeed(1);
  const { inputs } = await loadCase(gpt2Dir);
  const batch = { inputIds: inputs.get('input_ids')!, attentionMask: inputs.get('attention_mask')! };
  const peft = getPeftModel(await AutoModelForCausalLM.fromPretrained(gpt2Dir), { peftType: 'P_TUNING', taskType: 'CAUSAL_LM', numVirtualTokens: 3, encoderReparameterizationType: 'LSTM', encoderHiddenSize: 8 });
  peft.addAdapter('second', { peftType: 'P_TUNING', taskType: 'CAUSAL_LM', numVirtualTokens: 5 });
  const dir = await mkdtemp(join(tmpdir(), 'peftjs-prompt-'));
  try {
    peft.eval();
    const first = peft.forward(batch).logits;
    peft.setAdapter('second');
    const second = peft.forward(batch).logits;
    assert.deepEqual(second.shape, [2, 15, 320]);
    await peft.savePretrained(dir);
    const loaded = await PeftModel.fromPretrained(await AutoModelForCausalLM.fromPretrained(gpt2Dir), dir);
    await loaded.loadAdapter(join(dir, 'second'), 'second');
    assert.ok(maxAbsDiff(loaded.forward(batch).logits, first) < 1e-5);
    loaded.setAdapter('second');
    assert.ok(maxAbsDiff(loaded.forward(batch).logits, second) < 1e-5);
    loaded.deleteAdapter('second');
    assert.deepEqual([...loaded.peftConfig.keys()], ['default']);
    assert.ok(!loaded.prompt_encoder!.has('second'));
    const base = loaded.disableAdapter(() => loaded.forward(batch).logits);
    assert.deepEqual(base.shape, [2, 10, 320], 'disabled: the base model alone');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('prefix tuning generation from a fresh adapter extends the prompt; gradients reach only the prefixes', async () => {
  manualSeed(2);
  const peft = getPeftModel(await AutoModelForCausalLM.fromPretrained(gpt2Dir), { peftType: 'PREFIX_TUNING', taskType: 'CAUSAL_LM', numVirtualTokens: 2, prefixProjection: true });
  const out = peft.forward({ inputIds: tensor([[5, 6, 7]], [1, 3], 'int64'), labels: tensor([[5, 6, 7]], [1, 3], 'int64') });
  out.loss!.backward();
  for (const [name, p] of peft.namedParameters()) {
    assert.equal(p.grad !== null, name.startsWith('prompt_encoder.default.'), `${name}: gradient ${p.grad ? 'present' : 'absent'}`);
  }
  assert.deepEqual(peft.generate(tensor([[5, 6, 7]], [1, 3], 'int64'), { maxNewTokens: 4 }).shape, [1, 7]);
});

test('bad input: typed errors naming the value, and the base model untouched', async () => {
  const model = await AutoModelForCausalLM.fromPretrained(gpt2Dir);
  const names = model.namedParameters().map(([n]) => n);
  const expectError = (options: Record<string, unknown>, pattern: RegExp) =>
    assert.throws(() => getPeftModel(model, { peftType: 'PREFIX_TUNING', taskType: 'CAUSAL_LM', ...options }), (e: unknown) => e instanceof PeftError && pattern.test((e as Error).message));
  expectError({ numVirtualTokens: 64 }, /num_virtual_tokens 64 does not fit the model's 64 positions/);
  expectError({ numVirtualTokens: 0 }, /num_virtual_tokens/);
  expectError({ numVirtualTokens: 4, taskType: null }, /needs task_type/);
  expectError({ numVirtualTokens: 4, taskType: 'SEQ_2_SEQ_LM' }, /needs an encoder-decoder model/);
  assert.throws(() => getPeftModel(model, { peftType: 'PROMPT_TUNING', taskType: 'CAUSAL_LM', promptTuningInit: 'TEXT' }), /needs prompt_tuning_init_text and tokenizer_name_or_path/);
  assert.deepEqual(model.namedParameters().map(([n]) => n), names, 'the model is unchanged');
  assert.ok(model.parameters().every((p) => p.requiresGrad), 'nothing was frozen');
  const peft = getPeftModel(model, { peftType: 'PREFIX_TUNING', taskType: 'CAUSAL_LM', numVirtualTokens: 4 });
  assert.throws(() => peft.mergeAndUnload(), /cannot be merged/);
  assert.throws(() => peft.addAdapter('x', { peftType: 'LORA', targetModules: ['c_attn'] }), /cannot join them/);
  assert.throws(() => peft.forward({ inputIds: tensor([[1]], [1, 1], 'int64'), adapterNames: ['default'] }), /cannot be mixed/);
});
