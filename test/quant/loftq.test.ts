// LoftQ at 2 and 8 bits (HF PEFT's NFQuantizer, src/quant/nf-quantizer.ts) and over GPT-2's Conv1D:
// the normal maps (the 4-bit one must be bitsandbytes' NF4 table bit for bit, which checks the ppf and
// linspace ports), the round trip on a hand-computed block, the LoftQ base and A·B against HF's
// algorithm, and the refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AutoModelForCausalLM, getPeftModel, Tensor } from '../../src/index.js';
import { truncatedSvd } from '../../src/tensor/index.js';
import { PeftConfigError } from '../../src/peft/errors.js';
import { NF4_CODE } from '../../src/quant/codes.js';
import { dequantize4bit, quantizeState4 } from '../../src/quant/functional.js';
import { createNormalMap, nfQuantizerRoundTrip } from '../../src/quant/nf-quantizer.js';
import { FIXTURES } from '../helpers/parity.js';
import { gaussian } from './data.js';

const f32 = Math.fround;

function relativeError(a: Tensor, b: Tensor): number {
  return a.sub(b).square().sum().sqrt().item() / Math.max(b.square().sum().sqrt().item(), 1e-30);
}

interface LoraView {
  lora_A: { get(n: string): { weight: Tensor } };
  lora_B: { get(n: string): { weight: Tensor } };
  base_layer: { weight: Tensor };
}

test("normal maps: 4 bits is bitsandbytes' NF4 table exactly; 2 and 8 bits sorted, from -1 to 1 with one zero", () => {
  assert.deepEqual(createNormalMap(4), NF4_CODE);
  const two = createNormalMap(2);
  // ppf(0.7338541...) / ppf(0.9677083) in float32: the middle of linspace(0.9677083, 0.5, 3)
  assert.deepEqual([...two], [-1, 0, f32(0.33791524171829224), 1]);
  const eight = createNormalMap(8);
  assert.equal(eight.length, 256);
  assert.equal(eight[0], -1);
  assert.equal(eight[255], 1);
  assert.equal(eight.filter((v) => v === 0).length, 1);
  for (let i = 1; i < 256; i++) assert.ok(eight[i]! > eight[i - 1]!, `8-bit map sorted at ${i}`);
});

test('NFQuantizer round trip: each element the nearest map value times its block absmax (hand-computed 2-bit block)', () => {
  const block = new Float32Array(64).fill(0);
  block.set([2, 1, 0.32, 0.34, -0.6, -1.2, 1.4, -2]);
  // |w| max 2; w / 2 = 1, 0.5, 0.16, 0.17, -0.3, -0.6, 0.7, -1 against [-1, 0, 0.3379, 1]
  const t = createNormalMap(2)[2]!;
  const expected = [2, f32(t * 2), 0, f32(t * 2), 0, -2, 2, -2];
  const out = nfQuantizerRoundTrip(block, 1, 64, 2);
  assert.deepEqual([...out.subarray(0, 8)], expected);
  assert.deepEqual([...out.subarray(8)], new Array(56).fill(0));
  // A block of zeros: 0 / 0 is NaN, which torch.argmin takes as the minimum (index 0): -1 * 0.
  assert.ok(Object.is(nfQuantizerRoundTrip(new Float32Array(64), 1, 64, 2)[0], -0));
  // 8 bits: every output is a map value times the block absmax, and the nearest one.
  const w = gaussian(3, 4 * 64);
  const map = createNormalMap(8);
  const q = nfQuantizerRoundTrip(w, 4, 64, 8);
  for (let b = 0; b < 4; b++) {
    const max = Math.max(...w.subarray(b * 64, b * 64 + 64).map(Math.abs));
    for (let i = b * 64; i < b * 64 + 64; i++) {
      const normed = f32(w[i]! / max);
      const best = Math.min(...[...map].map((v) => Math.abs(f32(normed - v))));
      assert.ok(
        map.some((v) => f32(v * max) === q[i] && Math.abs(f32(normed - v)) === best),
        `element ${i}`,
      );
    }
  }
  assert.throws(() => nfQuantizerRoundTrip(new Float32Array(96), 3, 32, 2), /not a whole number of blocks/);
  assert.throws(() => nfQuantizerRoundTrip(new Float32Array(64), 1, 64, 3), /2, 4 or 8 bits, not 3/);
});

test('LoftQ at 2 and 8 bits: the base is the NFQuantizer round trip of W, B·A the top-r SVD of the residual', async () => {
  for (const bits of [2, 8]) {
    const model = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama'));
    const layerPath = 'model.layers.0.mlp.up_proj';
    const original = (model.getSubmodule(layerPath) as unknown as { weight: Tensor }).weight.clone();
    const peft = getPeftModel(model, {
      peftType: 'LORA',
      r: 4,
      loraAlpha: 4,
      targetModules: ['up_proj'],
      initLoraWeights: 'loftq',
      loftqConfig: { loftqBits: bits, loftqIter: 1 },
    });
    const layer = peft.getSubmodule(`base_model.model.${layerPath}`) as unknown as LoraView;
    const [rows, cols] = original.shape as [number, number];
    const quantOnly = nfQuantizerRoundTrip(original.data<'float32'>(), rows, cols, bits);
    assert.deepEqual(layer.base_layer.weight.data<'float32'>(), quantOnly);
    const residual = original.sub(Tensor.fromArray(quantOnly, original.shape, 'float32'));
    const BA = layer.lora_B.get('default').weight.matmul(layer.lora_A.get('default').weight);
    // B·A = U_4·S_4·V_4ᵀ of the residual (HF's _low_rank_decomposition), computed here separately.
    const { U, S, Vh } = truncatedSvd(residual, 4);
    const best = U.mul(S.unsqueeze(0)).matmul(Vh);
    assert.ok(relativeError(BA, best) < 1e-4, `${bits} bits: B·A is the residual's best rank-4 approximation`);
    assert.ok(relativeError(residual.sub(BA), residual) < 1, `${bits} bits: B·A reduces the residual`);
  }
});

test("LoftQ over GPT-2's Conv1D: decomposed as the linear [out, in]; base stored [in, out]; the model runs", async () => {
  const model = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'gpt2'));
  const layerPath = 'transformer.h.0.attn.c_attn';
  const stored = (model.getSubmodule(layerPath) as unknown as { weight: Tensor }).weight.clone(); // [in, out]
  const [inF, outF] = stored.shape as [number, number];
  const peft = getPeftModel(model, {
    peftType: 'LORA',
    r: 4,
    loraAlpha: 4,
    targetModules: ['c_attn'],
    fanInFanOut: true,
    initLoraWeights: 'loftq',
    loftqConfig: { loftqBits: 4, loftqIter: 2 },
  });
  const layer = peft.getSubmodule(`base_model.model.${layerPath}`) as unknown as LoraView;
  const A = layer.lora_A.get('default').weight;
  const B = layer.lora_B.get('default').weight;
  assert.deepEqual(A.shape, [4, inF]);
  assert.deepEqual(B.shape, [outF, 4]);
  const base = layer.base_layer.weight;
  assert.deepEqual(base.shape, [inF, outF]);
  // The base, read as the linear [out, in], is an NF4 round trip (block 64, as bitsandbytes' Params4bit).
  const linear = base.transpose(0, 1).contiguous();
  const again = dequantize4bit(
    quantizeState4(linear.data<'float32'>(), linear.shape, { quantType: 'nf4', blockSize: 64 }),
  );
  assert.deepEqual(again.toFlatArray(), linear.toFlatArray());
  const W = stored.transpose(0, 1).contiguous();
  const quantOnly = dequantize4bit(quantizeState4(W.data<'float32'>(), W.shape, { quantType: 'nf4', blockSize: 64 }));
  assert.ok(relativeError(linear.add(B.matmul(A)), W) < relativeError(quantOnly, W), 'LoftQ beats plain NF4');
  const logits = peft.forward({ inputIds: Tensor.fromArray(new Int32Array([1, 2, 3]), [1, 3], 'int64') }).logits;
  assert.ok(logits.abs().max().item() < Infinity);
});

test('LoftQ refuses loftq_bits 3 with a typed error', async () => {
  const model = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama'));
  assert.throws(
    () =>
      getPeftModel(model, {
        peftType: 'LORA',
        targetModules: ['up_proj'],
        initLoraWeights: 'loftq',
        loftqConfig: { loftqBits: 3, loftqIter: 1 },
      }),
    (e: unknown) => e instanceof PeftConfigError && /loftq_bits must be 2, 4 or 8/.test(e.message),
  );
});
