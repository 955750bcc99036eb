// Tuners over quantised linear layers: a QLoRA forward and its gradients equal LoRA over the
// dequantised weights; every method family runs over a 4-bit base as over its dequantised
// copy; merging into a quantised base re-quantises with a warning; LoftQ; prepareModelForKbitTraining.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AutoModelForCausalLM, getPeftModel, manualSeed, prepareModelForKbitTraining, type Tensor } from '../../src/index.js';
import { Linear4bit } from '../../src/quant/linear.js';
import { dequantize4bit, quantizeState4 } from '../../src/quant/functional.js';
import { FIXTURES } from '../helpers/parity.js';
import { dequantizedReference, fixtureInputs } from './helpers.js';

const NF4_DQ = { bits: 4, type: 'nf4', doubleQuant: true } as const;

function relativeError(a: Tensor, b: Tensor): number {
  return a.sub(b).square().sum().sqrt().item() / Math.max(b.square().sum().sqrt().item(), 1e-30);
}

async function pair(name: string) {
  const quantized = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, name), { quantization: NF4_DQ });
  return { quantized, reference: await dequantizedReference(name, quantized) };
}

test('QLoRA: forward, loss and every LoRA gradient equal LoRA over the dequantised weights (llama, gpt2)', async () => {
  for (const name of ['llama', 'gpt2']) {
    const { quantized, reference } = await pair(name);
    const inputs = await fixtureInputs(name);
    const batch = { inputIds: inputs.get('input_ids')!, attentionMask: inputs.get('attention_mask')!, labels: inputs.get('labels')! };
    const grads = [quantized, reference].map((model) => {
      manualSeed(7);
      const peft = getPeftModel(model, { peftType: 'LORA', r: 4, loraAlpha: 8, targetModules: 'all-linear', initLoraWeights: false, taskType: 'CAUSAL_LM' });
      const out = peft.forward(batch);
      out.loss!.backward();
      return { logits: out.logits, loss: out.loss!.item(), grads: peft.namedParameters().filter(([, p]) => p.requiresGrad).map(([n, p]) => [n, p.grad!] as const) };
    });
    const [q, r] = grads as [(typeof grads)[0], (typeof grads)[0]];
    assert.ok(q.grads.length > 0);
    assert.ok(Math.abs(q.loss - r.loss) < 1e-5, `${name}: loss ${q.loss} vs ${r.loss}`);
    assert.ok(q.logits.sub(r.logits).abs().max().item() < 1e-5);
    q.grads.forEach(([n, g], i) => {
      assert.equal(n, r.grads[i]![0]);
      assert.ok(relativeError(g, r.grads[i]![1]) < 1e-5, `${name} ${n}: relative gradient error ${relativeError(g, r.grads[i]![1])}`);
    });
    // The base stays frozen and 4-bit: no gradient reaches it.
    assert.ok(quantized.namedParameters().every(([, p]) => !(p.dtype === 'uint8' && p.requiresGrad)));
  }
});

test('every tuner family runs over 4-bit linears as over the dequantised model', async () => {
  const methods: Record<string, unknown>[] = [
    { peftType: 'LORA', r: 2, targetModules: ['q_proj', 'v_proj'], useDora: true, initLoraWeights: false },
    { peftType: 'LOHA', r: 2, alpha: 4, targetModules: ['q_proj', 'down_proj'], initWeights: false },
    { peftType: 'LOKR', r: 2, targetModules: ['k_proj'], initWeights: false },
    { peftType: 'VERA', r: 4, targetModules: ['q_proj'] },
    { peftType: 'OFT', r: 4, oftBlockSize: 0, targetModules: ['q_proj'], initWeights: false },
    { peftType: 'IA3', targetModules: ['k_proj', 'down_proj'], feedforwardModules: ['down_proj'], initIa3Weights: false },
    { peftType: 'ADALORA', initR: 4, targetR: 2, totalStep: 10, targetModules: ['q_proj'] },
    { peftType: 'BOTTLENECK', initWeights: 'random' },
    { peftType: 'PROMPT_TUNING', taskType: 'CAUSAL_LM', numVirtualTokens: 3 },
    { peftType: 'PREFIX_TUNING', taskType: 'CAUSAL_LM', numVirtualTokens: 2 },
  ];
  const { quantized, reference } = await pair('llama');
  const ids = (await fixtureInputs('llama')).get('input_ids')!;
  for (const method of methods) {
    const logits = [quantized, reference].map((model) => {
      manualSeed(11);
      const peft = getPeftModel(model, method as never);
      const out = peft.forward({ inputIds: ids }).logits;
      (peft as unknown as { unload?: () => unknown }).unload?.();
      return out;
    });
    const diff = logits[0]!.sub(logits[1]!).abs().max().item();
    assert.ok(diff < 1e-5, `${method.peftType}: max |quantised - dequantised| logits ${diff}`);
  }
});

test('merging into a 4-bit base dequantises, merges and quantises again, with a warning giving the error', async (t) => {
  const { quantized, reference } = await pair('llama');
  const ids = (await fixtureInputs('llama')).get('input_ids')!;
  const warn = t.mock.method(console, 'warn', () => {});
  const merged = [quantized, reference].map((model) => {
    manualSeed(3);
    const peft = getPeftModel(model, { peftType: 'LORA', r: 4, loraAlpha: 8, targetModules: ['q_proj', 'o_proj'], initLoraWeights: false });
    const unmerged = peft.forward({ inputIds: ids }).logits;
    return { unmerged, model: peft.mergeAndUnload() };
  });
  assert.equal(warn.mock.callCount(), 1);
  assert.match(String(warn.mock.calls[0]!.arguments[0]), /merging adapters into 4 quantised weight\(s\).*largest error is [0-9.e-]+ \(relative [0-9.e-]+\) at 'model\.layers\.\d\.self_attn\.(q|o)_proj'/);
  const q = merged[0]!.model.getSubmodule('model.layers.0.self_attn.q_proj');
  assert.ok(q instanceof Linear4bit, 'still 4-bit after merging');
  // The merged 4-bit weight is the quantisation of W_deq + ΔW, computed from the reference's merge.
  const refMerged = (merged[1]!.model.getSubmodule('model.layers.0.self_attn.q_proj') as unknown as { weight: Tensor }).weight;
  const expected = quantizeState4(refMerged.data<'float32'>(), refMerged.shape, { quantType: 'nf4', blockSize: 64, doubleQuant: true });
  assert.deepEqual(q.quantState.packed, expected.packed);
  assert.deepEqual(dequantize4bit(q.quantState).toFlatArray(), dequantize4bit(expected).toFlatArray());
  // The merged model computes with its new 4-bit weights, and nothing else changed.
  const after = merged[0]!.model.forward({ inputIds: ids }).logits;
  const overDequantised = (await dequantizedReference('llama', merged[0]!.model)).forward({ inputIds: ids }).logits;
  assert.ok(after.sub(overDequantised).abs().max().item() < 1e-5);
  assert.ok(after.sub(merged[0]!.unmerged).abs().max().item() > 0, 're-quantisation changed the result, which the warning says');
});

test('LoftQ: A, B and the base as HF\'s loftq_init computes them; saved config as HF PEFT writes it; quantised bases refused', async () => {
  const model = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama'));
  const layerPath = 'model.layers.0.mlp.up_proj';
  const original = (model.getSubmodule(layerPath) as unknown as { weight: Tensor }).weight.clone();
  const peft = getPeftModel(model, { peftType: 'LORA', r: 4, loraAlpha: 4, targetModules: ['up_proj'], initLoraWeights: 'loftq', loftqConfig: { loftqBits: 4, loftqIter: 2 } });
  const layer = peft.getSubmodule(`base_model.model.${layerPath}`) as unknown as { lora_A: { get(n: string): { weight: Tensor } }; lora_B: { get(n: string): { weight: Tensor } }; base_layer: { weight: Tensor } };
  const A = layer.lora_A.get('default').weight;
  const B = layer.lora_B.get('default').weight;
  const base = layer.base_layer.weight;
  // The base is an NF4 round trip: quantising it again changes nothing.
  const again = dequantize4bit(quantizeState4(base.data<'float32'>(), base.shape, { quantType: 'nf4', blockSize: 64 }));
  assert.deepEqual(again.toFlatArray(), base.toFlatArray());
  // B·A is the best rank-4 approximation of W − Q(W − B'A') of the previous step: it reduces the error.
  const quantOnly = relativeError(dequantize4bit(quantizeState4(original.data<'float32'>(), original.shape, { quantType: 'nf4', blockSize: 64 })), original);
  const withLoftq = relativeError(base.add(B.matmul(A)), original);
  assert.ok(withLoftq < quantOnly, `LoftQ error ${withLoftq} < plain NF4 error ${quantOnly}`);
  assert.deepEqual(peft.peftConfig.get('default')!.extra.loftq_config ?? null, null);
  const written = (await import('../../src/peft/tuners/lora/config.js')).writeLoraConfig(peft.peftConfig.get('default') as never);
  assert.equal(written.init_lora_weights, 'loftq');
  assert.deepEqual(written.loftq_config, { loftq_bits: 4, loftq_iter: 2 });
  const quantized = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama'), { quantization: { bits: 4 } });
  assert.throws(() => getPeftModel(quantized, { peftType: 'LORA', targetModules: ['up_proj'], initLoraWeights: 'loftq', loftqConfig: { loftqBits: 4, loftqIter: 1 } }), /needs the base weights in full precision/);
  assert.throws(() => getPeftModel(quantized, { peftType: 'LORA', targetModules: ['up_proj'], initLoraWeights: 'loftq' }), /loftq_config must be given/);
});

test('prepareModelForKbitTraining: everything frozen, 16-bit weights in float32, checkpointing and input gradients on', async () => {
  const model = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama'), { dtype: 'bfloat16', quantization: NF4_DQ });
  prepareModelForKbitTraining(model);
  for (const [name, p] of model.namedParameters()) {
    assert.equal(p.requiresGrad, false, name);
    assert.ok(p.dtype === 'float32' || p.dtype === 'uint8', `${name}: ${p.dtype}`);
  }
  const peft = getPeftModel(model, { peftType: 'LORA', r: 2, targetModules: ['q_proj'], initLoraWeights: false });
  peft.train();
  const ids = (await fixtureInputs('llama')).get('input_ids')!;
  const out = peft.forward({ inputIds: ids, labels: ids });
  out.loss!.backward();
  const grads = peft.namedParameters().filter(([, p]) => p.requiresGrad);
  assert.ok(grads.length > 0 && grads.every(([, p]) => p.grad !== null && p.grad.abs().max().item() > 0));
});
