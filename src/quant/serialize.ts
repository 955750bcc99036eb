// A quantised weight in a checkpoint, exactly as transformers + bitsandbytes write it
// (bitsandbytes/nn/modules.py Linear4bit._save_to_state_dict, functional.py QuantState.as_dict
// (packed=True) and from_dict, utils.py pack_dict_to_tensor):
//   <module>.weight                                  uint8 [ceil(n / 2), 1], the packed codes
//   <module>.weight.absmax                           float32 [blocks], or uint8 codes with double quantisation
//   <module>.weight.quant_map                        float32 [16]
//   <module>.weight.nested_absmax                    float32 [ceil(blocks / 256)]  (double quantisation)
//   <module>.weight.nested_quant_map                 float32 [256]                 (double quantisation)
//   <module>.weight.quant_state.bitsandbytes__<type> uint8: the JSON of the other fields
// and, for 8-bit (Linear8bitLt._save_to_state_dict): <module>.weight int8 [out, in],
// <module>.SCB float32 [out], <module>.weight_format uint8 scalar 0 ("row").
import { Tensor, ValueError, type DType } from '../tensor/index.js';
import { checkBlockSize, checkQuantType } from './functional.js';
import type { QuantState4, QuantStateInt8 } from './state.js';

export const QUANT_STATE_KEY = /^(.*)\.weight\.quant_state\.bitsandbytes__(nf4|fp4)$/;
export const WEIGHT_STATE_SUFFIXES = ['absmax', 'quant_map', 'nested_absmax', 'nested_quant_map'] as const;

/** Python's repr() of a float (shortest round-trip digits; exponent below 1e-4 and from 1e16). */
export function pythonFloat(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, exp] = x.toExponential().split('e') as [string, string];
  const e = Number(exp);
  if (e < -4 || e >= 16) return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  const s = String(x);
  return s.includes('.') ? s : `${s}.0`;
}

/** json.dumps of the non-tensor fields, in as_dict's order and Python's separators. */
function stateJson(state: QuantState4, dtype: string): string {
  const fields: [string, string][] = [
    ['quant_type', JSON.stringify(state.quantType)],
    ['blocksize', String(state.blockSize)],
    ['dtype', JSON.stringify(dtype)],
    ['shape', `[${state.shape.join(', ')}]`],
  ];
  if (state.nested) {
    fields.push(['nested_blocksize', String(state.nested.blockSize)], ['nested_dtype', '"float32"'], ['nested_offset', pythonFloat(state.nested.offset)]);
  }
  return `{${fields.map(([k, v]) => `"${k}": ${v}`).join(', ')}}`;
}

/** The checkpoint tensors of a 4-bit weight at `prefix` (the module path), sharing the state's arrays. */
export function quantState4Tensors(prefix: string, state: QuantState4, dtype: string): Map<string, Tensor> {
  const w = `${prefix}.weight`;
  const out = new Map<string, Tensor>([[w, Tensor.fromArray(state.packed, [state.packed.length, 1], 'uint8')]]);
  if (state.nested) {
    out.set(`${w}.absmax`, Tensor.fromArray(state.nested.codes, [state.nested.codes.length], 'uint8'));
  } else {
    out.set(`${w}.absmax`, Tensor.fromArray(state.absmax!, [state.absmax!.length], 'float32'));
  }
  out.set(`${w}.quant_map`, Tensor.fromArray(state.code, [state.code.length], 'float32'));
  if (state.nested) {
    out.set(`${w}.nested_absmax`, Tensor.fromArray(state.nested.absmax, [state.nested.absmax.length], 'float32'));
    out.set(`${w}.nested_quant_map`, Tensor.fromArray(state.nested.code, [state.nested.code.length], 'float32'));
  }
  const json = new TextEncoder().encode(stateJson(state, dtype));
  out.set(`${w}.quant_state.bitsandbytes__${state.quantType}`, Tensor.fromArray(json, [json.length], 'uint8'));
  return out;
}

/** The checkpoint tensors of an int8 weight at `prefix`: weight (int8 bytes as uint8), SCB, weight_format 0 ("row"). */
export function quantStateInt8Tensors(prefix: string, state: QuantStateInt8): Map<string, Tensor> {
  const bytes = new Uint8Array(state.data.buffer, state.data.byteOffset, state.data.byteLength);
  return new Map([
    [`${prefix}.weight`, Tensor.fromArray(bytes, state.shape, 'uint8')],
    [`${prefix}.SCB`, Tensor.fromArray(state.rowAbsmax, [state.rowAbsmax.length], 'float32')],
    [`${prefix}.weight_format`, Tensor.fromArray(new Uint8Array([0]), [], 'uint8')],
  ]);
}

/** Reads a tensor of a checkpoint by key (the caller's file, sharded or not). */
export type TensorSource = (key: string) => Promise<Tensor>;

/** What a 4-bit weight in a checkpoint holds: its state and the dtype it was quantised from. */
export interface StoredQuantState4 {
  state: QuantState4;
  dtype: string;
}

/**
 * The QuantState of the 4-bit weight at `prefix` (checkpoint key prefix), with every size
 * checked against the JSON's shape and block size before anything is kept.
 */
export async function readQuantState4(prefix: string, quantType: string, has: (key: string) => boolean, get: TensorSource): Promise<StoredQuantState4> {
  const w = `${prefix}.weight`;
  const fail = (what: string): never => {
    throw new ValueError(`${w}: ${what}; this is not a bitsandbytes 4-bit weight as transformers writes it`);
  };
  const jsonTensor = await get(`${w}.quant_state.bitsandbytes__${quantType}`);
  if (jsonTensor.dtype !== 'uint8' || jsonTensor.size > 65536) fail('the quant_state entry must be a short uint8 tensor of JSON');
  let fields: Record<string, unknown>;
  try {
    fields = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(jsonTensor.data<'uint8'>())) as Record<string, unknown>;
  } catch {
    return fail('the quant_state entry is not UTF-8 JSON');
  }
  if (fields.quant_type !== quantType) fail(`quant_state says quant_type ${JSON.stringify(fields.quant_type)} but its key says ${quantType}`);
  const shape = fields.shape;
  if (!Array.isArray(shape) || shape.length !== 2 || !shape.every((d) => Number.isInteger(d) && d > 0)) fail(`quant_state shape ${JSON.stringify(shape)} is not [out, in]`);
  const blockSize = checkBlockSize(Number(fields.blocksize));
  const numel = (shape as number[])[0]! * (shape as number[])[1]!;
  const blocks = Math.ceil(numel / blockSize);
  const nested = has(`${w}.nested_absmax`);
  const take = async (key: string, dtype: DType, length: number): Promise<Tensor> => {
    if (!has(key)) fail(`${key} is missing`);
    const t = await get(key);
    if (t.dtype !== dtype || t.size !== length) fail(`${key} must be ${dtype} with ${length} values; it is ${t.dtype} [${t.shape.join(', ')}]`);
    return t;
  };
  const packed = await take(w, 'uint8', Math.ceil(numel / 2));
  const code = await take(`${w}.quant_map`, 'float32', 16);
  const absmax = await take(`${w}.absmax`, nested ? 'uint8' : 'float32', blocks);
  const state: QuantState4 = {
    quantType: checkQuantType(quantType),
    shape: [...(shape as number[])],
    blockSize,
    packed: packed.data<'uint8'>(),
    code: code.data<'float32'>(),
    absmax: nested ? null : absmax.data<'float32'>(),
    nested: null,
  };
  if (nested) {
    const nestedBlock = Number(fields.nested_blocksize);
    if (!Number.isInteger(nestedBlock) || nestedBlock <= 0) fail(`nested_blocksize ${JSON.stringify(fields.nested_blocksize)} is not a positive integer`);
    const offset = Number(fields.nested_offset);
    if (!Number.isFinite(offset)) fail(`nested_offset ${JSON.stringify(fields.nested_offset)} is not a number`);
    state.nested = {
      codes: absmax.data<'uint8'>(),
      code: (await take(`${w}.nested_quant_map`, 'float32', 256)).data<'float32'>(),
      absmax: (await take(`${w}.nested_absmax`, 'float32', Math.ceil(blocks / nestedBlock))).data<'float32'>(),
      blockSize: nestedBlock,
      offset: Math.fround(offset),
    };
  }
  return { state, dtype: typeof fields.dtype === 'string' ? fields.dtype : 'float32' };
}

/** The keys a 4-bit weight at `prefix` occupies in a checkpoint. */
export function quantState4Keys(prefix: string, quantType: string): string[] {
  const w = `${prefix}.weight`;
  return [w, ...WEIGHT_STATE_SUFFIXES.map((s) => `${w}.${s}`), `${w}.quant_state.bitsandbytes__${quantType}`];
}

/** An int8 weight (bitsandbytes' Linear8bitLt layout) read from its checkpoint tensors. */
export async function readQuantStateInt8(prefix: string, shape: [number, number], get: TensorSource): Promise<QuantStateInt8> {
  // safetensors I8 loads widened to int32.
  const weight = await get(`${prefix}.weight`);
  const scb = await get(`${prefix}.SCB`);
  if (weight.size !== shape[0] * shape[1] || scb.dtype !== 'float32' || scb.size !== shape[0]) {
    throw new ValueError(`${prefix}: an int8 weight needs weight [${shape.join(', ')}] and SCB float32 [${shape[0]}]; found [${weight.shape.join(', ')}] and ${scb.dtype} [${scb.shape.join(', ')}]`);
  }
  const wide = weight.data();
  return { shape, data: Int8Array.from(wide as ArrayLike<number>), rowAbsmax: scb.data<'float32'>() };
}
