// The command over quantised models: a QLoRA recipe (quantization:), peft info's bytes per part,
// peft merge into a 4-bit base (re-quantised, kept in bitsandbytes' layout) and --dtype bfloat16
// (dequantised first, a full-precision folder).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoModelForCausalLM, PeftModel, loadSafetensors } from '../../src/index.js';
import { EXIT } from '../../src/cli/exit-codes.js';
import { main } from '../../src/cli/main.js';
import { Linear4bit } from '../../src/quant/linear.js';
import { FIXTURES } from '../helpers/parity.js';
import { dequantizedReference, fixtureInputs } from './helpers.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (add: (s: string) => void) => ({ write: (s: string) => (add(s), true) }) as unknown as NodeJS.WriteStream;
  const code = await main(argv, sink((s) => (out += s)), sink((s) => (err += s)));
  return { code, out, err };
}

const result = (out: string) => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.event === 'result')!;

test('peft merge over a 4-bit base: kept 4-bit by default, full precision with --dtype; peft info gives the bytes', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'peftjs-qcli-'));
  t.mock.method(console, 'warn', () => {});
  try {
    const base = join(dir, 'llama-nf4');
    const quantized = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama'), { quantization: { bits: 4, type: 'nf4', doubleQuant: true } });
    await quantized.savePretrained(base);
    const adapter = join(FIXTURES, 'llama/peft/lora');
    const ids = (await fixtureInputs('llama')).get('input_ids')!;
    const exact = (await PeftModel.fromPretrained(await dequantizedReference('llama', quantized), adapter)).mergeAndUnload().forward({ inputIds: ids }).logits;

    const full = join(dir, 'merged-bf16');
    const merged16 = await run('--json', 'merge', '--model', base, '--adapter', adapter, '--output', full, '--dtype', 'bfloat16');
    assert.equal(merged16.code, EXIT.OK, merged16.err);
    const config16 = JSON.parse(await readFile(join(full, 'config.json'), 'utf8'));
    assert.equal(config16.quantization_config, undefined);
    assert.equal(config16.dtype, 'bfloat16');
    const { tensors } = await loadSafetensors(join(full, 'model.safetensors'));
    assert.equal(tensors.get('model.layers.0.self_attn.q_proj.weight')!.dtype, 'bfloat16');
    const logits16 = (await AutoModelForCausalLM.fromPretrained(full)).forward({ inputIds: ids }).logits;
    const diff16 = logits16.sub(exact).abs().max().item();
    assert.ok(diff16 < 0.05, `bf16 merge of the dequantised base within bf16 rounding: ${diff16}`);

    const q = join(dir, 'merged-nf4');
    const merged4 = await run('--json', 'merge', '--model', base, '--adapter', adapter, '--output', q);
    assert.equal(merged4.code, EXIT.OK, merged4.err);
    const loaded4 = await AutoModelForCausalLM.fromPretrained(q);
    assert.ok(loaded4.getSubmodule('model.layers.0.self_attn.q_proj') instanceof Linear4bit);
    assert.equal(JSON.parse(await readFile(join(q, 'config.json'), 'utf8')).quantization_config.bnb_4bit_quant_type, 'nf4');

    const info = await run('--json', 'info', base);
    assert.equal(info.code, EXIT.OK, info.err);
    const r = result(info.out) as { bytes: number; bytesByKind: Record<string, number>; bytesByPart: Record<string, number>; quantization: string; parameters: number };
    assert.equal(r.quantization, '4-bit nf4, double quantisation (bitsandbytes)');
    assert.ok(r.bytesByKind.quantized! > 0 && r.bytesByKind.quantStats! > 0 && r.bytesByKind.fullPrecision! > 0);
    assert.equal(r.bytes, Object.values(r.bytesByPart).reduce((a, b) => a + b));
    assert.deepEqual(Object.keys(r.bytesByPart).sort(), ['attention', 'embeddings', 'feed-forward', 'head', 'norms']);
    const float = result((await run('--json', 'info', join(FIXTURES, 'llama'))).out) as { bytes: number; parameters: number };
    assert.equal(float.parameters, r.parameters);
    assert.ok(r.bytes < float.bytes);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('peft train: a recipe with quantization: trains LoRA over a 4-bit base', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peftjs-qcli-'));
  try {
    const data = join(process.cwd(), 'test/fixtures/data');
    const recipe = join(dir, 'qlora.yaml');
    await writeFile(recipe, [
      `model: ${join(FIXTURES, 'gpt2')}`,
      'quantization: { bits: 4, type: nf4, double_quant: true }',
      'method: { peft_type: LORA, r: 4, lora_alpha: 8, target_modules: [c_attn] }',
      `data: { train: ${join(data, 'causal.jsonl')}, format: text, max_length: 16, cache_dir: ${join(dir, 'cache')} }`,
      'training: { max_steps: 3, batch_size: 4, lr: 0.01, logging_steps: 1, seed: 7 }',
      `output: ${join(dir, 'run')}`,
    ].join('\n'));
    const trained = await run('--json', 'train', recipe);
    assert.equal(trained.code, EXIT.OK, trained.err);
    const adapter = await loadSafetensors(join(dir, 'run/adapter/adapter_model.safetensors'));
    assert.ok([...adapter.tensors.keys()].some((k) => k.includes('c_attn.lora_B')));
    const bad = await run('train', recipe, '--set', 'quantization.bits=3');
    assert.notEqual(bad.code, EXIT.OK);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
