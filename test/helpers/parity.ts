// Comparing our outputs with the HF reference fixtures (test/fixtures/hf, see its README).
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { loadSafetensors, type ModelInputs, type Tensor } from '../../src/index.js';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'hf');

/** A fixture folder's inputs and expected outputs. */
export async function loadCase(dir: string): Promise<{ inputs: Map<string, Tensor>; expected: Map<string, Tensor> }> {
  const inputs = (await loadSafetensors(join(dir, 'inputs.safetensors'))).tensors;
  const expected = (await loadSafetensors(join(dir, 'expected.safetensors'))).tensors;
  return { inputs, expected };
}

/** The fixture inputs as model inputs (with labels). */
export function modelInputs(inputs: Map<string, Tensor>): ModelInputs {
  return {
    inputIds: inputs.get('input_ids'),
    attentionMask: inputs.get('attention_mask'),
    labels: inputs.get('labels'),
    tokenTypeIds: inputs.get('token_type_ids'),
    pixelValues: inputs.get('pixel_values'),
  };
}

/**
 * Largest |a - b|. With `mask` [B, T] (and a, b [B, T, ...]), only positions where the mask is 1
 * count: HF leaves padded positions unspecified.
 */
export function maxAbsDiff(a: Tensor, b: Tensor, mask?: Tensor): number {
  const av = a.toFlatArray();
  const bv = b.toFlatArray();
  if (av.length !== bv.length) return Infinity;
  const m = mask?.toFlatArray();
  const inner = m ? av.length / m.length : 1;
  let worst = 0;
  for (let i = 0; i < av.length; i++) {
    if (m && !m[Math.floor(i / inner)]) continue;
    worst = Math.max(worst, Math.abs(av[i]! - bv[i]!));
  }
  return worst;
}

/** maxAbsDiff of two tensors that must have the same shape (else the assertion fails, naming both). */
export function maxAbsDiffSameShape(a: Tensor, b: Tensor, mask?: Tensor): number {
  assert.deepEqual(a.shape, b.shape, 'the compared tensors differ in shape');
  return maxAbsDiff(a, b, mask);
}

/** ‖a − b‖ / ‖b‖. */
export function relativeError(a: Tensor, b: Tensor): number {
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
