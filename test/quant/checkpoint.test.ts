// Quantised models in files: quantising while loading, transformers' bitsandbytes layout
// (keys, dtypes, shapes, the packed quant_state JSON), folders in that layout giving the logits
// of the same model over the dequantised weights, and save → load → save byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoModelForCausalLM, AutoModelForSeq2SeqLM, loadSafetensors, saveSafetensors, tensor, type Embedding, type Module } from '../../src/index.js';
import { quantizeState4 } from '../../src/quant/functional.js';
import { Linear4bit, Linear8bitLt } from '../../src/quant/linear.js';
import { pythonFloat } from '../../src/quant/serialize.js';
import { FIXTURES } from '../helpers/parity.js';
import { dequantizedReference, fixtureInputs, quantizedPaths } from './helpers.js';

async function inputIds(name: string) {
  return (await fixtureInputs(name)).get('input_ids')!;
}

test('a folder in bitsandbytes 4-bit layout gives the logits of the model over its dequantised weights (llama, gpt2 with Conv1D)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peftjs-q4-'));
  try {
    for (const [name, quantization] of [['llama', { bits: 4, type: 'nf4', doubleQuant: true }], ['gpt2', { bits: 4, type: 'fp4', blockSize: 32 }]] as const) {
      const out = join(dir, name);
      const quantized = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, name), { quantization });
      await quantized.savePretrained(out);
      const loaded = await AutoModelForCausalLM.fromPretrained(out);
      assert.ok(quantizedPaths(loaded).length > 0);
      assert.deepEqual(quantizedPaths(loaded), quantizedPaths(quantized));
      const ids = await inputIds(name);
      const logits = loaded.forward({ inputIds: ids }).logits;
      const ref = (await dequantizedReference(name, loaded)).forward({ inputIds: ids }).logits;
      const diff = logits.sub(ref).abs().max().item();
      assert.ok(diff < 1e-5, `${name}: max |logits - dequantised model's| = ${diff}`);
      assert.deepEqual(logits.toFlatArray(), quantized.forward({ inputIds: ids }).logits.toFlatArray(), `${name}: the same as the model quantised while loading`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the file holds exactly the keys, dtypes and shapes transformers writes; the output head stays full precision', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peftjs-q4-'));
  try {
    const model = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama'), { quantization: { bits: 4, type: 'nf4', doubleQuant: true } });
    assert.ok(!(model.getSubmodule('lm_head') instanceof Linear4bit), 'lm_head is kept (get_keys_to_not_convert)');
    await model.savePretrained(dir);
    const { tensors } = await loadSafetensors(join(dir, 'model.safetensors'));
    const p = 'model.layers.0.self_attn.k_proj.weight'; // [16, 32]: 512 values, 8 blocks of 64
    const entry = (k: string) => [tensors.get(k)!.dtype, tensors.get(k)!.shape];
    assert.deepEqual(entry(p), ['uint8', [256, 1]]);
    assert.deepEqual(entry(`${p}.absmax`), ['uint8', [8]]);
    assert.deepEqual(entry(`${p}.quant_map`), ['float32', [16]]);
    assert.deepEqual(entry(`${p}.nested_absmax`), ['float32', [1]]);
    assert.deepEqual(entry(`${p}.nested_quant_map`), ['float32', [256]]);
    const json = new TextDecoder().decode(tensors.get(`${p}.quant_state.bitsandbytes__nf4`)!.data<'uint8'>());
    const offset = (model.getSubmodule('model.layers.0.self_attn.k_proj') as Linear4bit).quantState.nested!.offset;
    assert.equal(json, `{"quant_type": "nf4", "blocksize": 64, "dtype": "float32", "shape": [16, 32], "nested_blocksize": 256, "nested_dtype": "float32", "nested_offset": ${pythonFloat(offset)}}`);
    assert.equal(tensors.get('lm_head.weight')!.dtype, 'float32');
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    assert.deepEqual(config.quantization_config, {
      _load_in_4bit: true, _load_in_8bit: false, bnb_4bit_compute_dtype: 'float32', bnb_4bit_quant_storage: 'uint8', bnb_4bit_quant_type: 'nf4',
      bnb_4bit_use_double_quant: true, llm_int8_enable_fp32_cpu_offload: false, llm_int8_has_fp16_weight: false, llm_int8_skip_modules: null,
      llm_int8_threshold: 6, load_in_4bit: true, load_in_8bit: false, quant_method: 'bitsandbytes',
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('save → load → save of a quantised model is byte-identical', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peftjs-q4-'));
  try {
    const model = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'qwen2'), { quantization: { bits: 4, doubleQuant: true, blockSize: 128 } });
    await model.savePretrained(join(dir, 'a'));
    await (await AutoModelForCausalLM.fromPretrained(join(dir, 'a'))).savePretrained(join(dir, 'b'));
    for (const file of ['model.safetensors', 'config.json']) {
      assert.ok((await readFile(join(dir, 'a', file))).equals(await readFile(join(dir, 'b', file))), file);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('transformers\' modules kept unquantised: T5 keeps wo and lm_head; a skipModules list replaces the defaults; int8 loads', async () => {
  const kindsOf = (m: { namedModules(): Iterable<[string, object]> }) => new Map([...m.namedModules()].map(([p, x]) => [p, x.constructor.name]));
  const byDefault = kindsOf(await AutoModelForSeq2SeqLM.fromPretrained(join(FIXTURES, 't5'), { quantization: { bits: 4 } }));
  assert.equal(byDefault.get('lm_head'), 'Linear');
  assert.equal(byDefault.get('encoder.block.0.layer.1.DenseReluDense.wo'), 'Linear');
  // llm_int8_skip_modules given: it replaces get_keys_to_not_convert (the head is quantised, T5's
  // tied one from the embedding's values); _keep_in_fp32_modules still apply
  const kinds = kindsOf(await AutoModelForSeq2SeqLM.fromPretrained(join(FIXTURES, 't5'), { quantization: { bits: 4, skipModules: ['q'] } }));
  assert.equal(kinds.get('encoder.block.0.layer.1.DenseReluDense.wo'), 'Linear');
  assert.equal(kinds.get('encoder.block.0.layer.0.SelfAttention.q'), 'Linear');
  assert.equal(kinds.get('encoder.block.0.layer.0.SelfAttention.k'), 'Linear4bit');
  assert.equal(kinds.get('lm_head'), 'Linear4bit');
  const int8 = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'gpt2'), { quantization: { bits: 8 } });
  assert.ok(int8.getSubmodule('transformer.h.0.attn.c_attn') instanceof Linear8bitLt);
  const ids = await inputIds('gpt2');
  const ref = (await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'gpt2'))).forward({ inputIds: ids }).logits;
  const logits = int8.forward({ inputIds: ids }).logits;
  const diff = logits.sub(ref).abs().max().item();
  assert.ok(diff < 0.05 * ref.abs().max().item(), `int8 logits within 5% of the float model's: ${diff}`);
  // Saved as Linear8bitLt writes it (weight I8, SCB F32, weight_format U8 0), reloaded as saved.
  const dir = await mkdtemp(join(tmpdir(), 'peftjs-q8-'));
  try {
    await int8.savePretrained(join(dir, 'a'));
    const bytes = await readFile(join(dir, 'a', 'model.safetensors'));
    const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8'));
    assert.deepEqual(header['transformer.h.0.attn.c_attn.weight'].dtype, 'I8');
    assert.deepEqual(header['transformer.h.0.attn.c_attn.SCB'].dtype, 'F32');
    assert.deepEqual([header['transformer.h.0.attn.c_attn.weight_format'].dtype, header['transformer.h.0.attn.c_attn.weight_format'].shape], ['U8', []]);
    const again = await AutoModelForCausalLM.fromPretrained(join(dir, 'a'));
    assert.ok(again.getSubmodule('transformer.h.0.attn.c_attn') instanceof Linear8bitLt);
    assert.deepEqual(again.forward({ inputIds: ids }).logits.toFlatArray(), logits.toFlatArray());
    await again.savePretrained(join(dir, 'b'));
    assert.ok(bytes.equals(await readFile(join(dir, 'b', 'model.safetensors'))), 'int8 save → load → save is byte-identical');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('skipModules: [] quantises a tied LM head (the embedding stays full precision), saved and reloaded as such', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peftjs-q4-'));
  try {
    const float = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'qwen2'));
    const model = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'qwen2'), { quantization: { bits: 4, skipModules: [] } });
    const head = model.getSubmodule('lm_head');
    assert.ok(head instanceof Linear4bit, 'lm_head quantised');
    const embedding = (m: Module) => (m.getSubmodule('model.embed_tokens') as Embedding).weight;
    assert.deepEqual(embedding(model).toFlatArray(), embedding(float).toFlatArray(), 'the embedding keeps its values');
    const values = embedding(float).to('float32').contiguous().data<'float32'>();
    assert.deepEqual(head.quantState.packed, quantizeState4(values, head.quantState.shape, { quantType: 'nf4' }).packed, 'the head holds the embedding quantised');
    await model.savePretrained(dir);
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    assert.deepEqual(config.quantization_config.llm_int8_skip_modules, []);
    const again = await AutoModelForCausalLM.fromPretrained(dir);
    assert.ok(again.getSubmodule('lm_head') instanceof Linear4bit);
    const ids = await inputIds('qwen2');
    assert.deepEqual(again.forward({ inputIds: ids }).logits.toFlatArray(), model.forward({ inputIds: ids }).logits.toFlatArray());
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a damaged quantised folder is refused with the key and the problem named', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peftjs-q4-'));
  try {
    const model = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama'), { quantization: { bits: 4 } });
    await model.savePretrained(dir);
    const file = join(dir, 'model.safetensors');
    const { tensors } = await loadSafetensors(file);
    const key = 'model.layers.0.mlp.up_proj.weight.quant_state.bitsandbytes__nf4';
    const text = new TextDecoder().decode(tensors.get(key)!.data<'uint8'>()).replace('[64, 32]', '[64, 16]');
    tensors.set(key, tensor(new TextEncoder().encode(text), undefined, 'uint8'));
    await saveSafetensors(file, tensors);
    await assert.rejects(AutoModelForCausalLM.fromPretrained(dir), /up_proj\.weight: .*must be uint8 with 512 values/);
    await assert.rejects(AutoModelForCausalLM.fromPretrained(dir, { quantization: { bits: 4 } }), /load it without the quantization option/);
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    config.quantization_config.quant_method = 'gptq';
    await writeFile(join(dir, 'config.json'), JSON.stringify(config));
    await assert.rejects(AutoModelForCausalLM.fromPretrained(dir), /quant_method "gptq" is not supported/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('pythonFloat writes floats as Python\'s repr', () => {
  assert.deepEqual([0.1, 1, 1e-5, 1.5e-7, 0.0001, 1e16, 123456.5, -2.5e-5, Math.fround(0.03)].map(pythonFloat),
    ['0.1', '1.0', '1e-05', '1.5e-07', '0.0001', '1e+16', '123456.5', '-2.5e-05', '0.029999999329447746']);
});
