// Quantisation options and transformers' BitsAndBytesConfig: the `quantization_config` of a
// quantised model's config.json, with the keys and defaults transformers writes
// (transformers/utils/quantization_config.py, BitsAndBytesConfig.to_dict).
import { ValueError, checkDType, type DType } from '../tensor/index.js';
import { checkBlockSize, checkQuantType } from './functional.js';
import type { QuantType4 } from './state.js';

/** How fromPretrained quantises a model while loading it. */
export interface QuantizationOptions {
  bits: 4 | 8;
  /** 4-bit code: 'nf4' (default here, the QLoRA format) or 'fp4'. */
  type?: QuantType4;
  /** Double quantisation of the 4-bit block absmax values (bnb_4bit_use_double_quant). Default false. */
  doubleQuant?: boolean;
  /** Elements per 4-bit block: 64 (bitsandbytes' default), 32 to 4096. */
  blockSize?: number;
  /** The dtype quantised layers compute in (bnb_4bit_compute_dtype): float32 by default. */
  computeDtype?: DType;
  /**
   * Module names (or path ends) kept in full precision (llm_int8_skip_modules). Unset: transformers'
   * defaults (output heads such as lm_head, weights tied to an embedding). A list replaces those
   * defaults, as in transformers: `[]` quantises the LM head too (T5's `wo` stays float either way).
   */
  skipModules?: string[];
}

/** The checked options, every field filled (skipModules null: transformers' defaults). */
export type ResolvedQuantization = Required<Omit<QuantizationOptions, 'skipModules'>> & { skipModules: string[] | null };

export function resolveQuantization(options: QuantizationOptions): ResolvedQuantization {
  if (options.bits !== 4 && options.bits !== 8) {
    throw new ValueError(`quantization.bits must be 4 or 8, not ${JSON.stringify(options.bits)}`);
  }
  return {
    bits: options.bits,
    type: checkQuantType(options.type ?? 'nf4'),
    doubleQuant: options.doubleQuant ?? false,
    blockSize: checkBlockSize(options.blockSize ?? 64),
    computeDtype: checkDType(options.computeDtype ?? 'float32'),
    skipModules: options.skipModules ? [...options.skipModules] : null,
  };
}

/** transformers' BitsAndBytesConfig.to_dict() for `q`, key order as it writes them (sorted). */
export function bitsAndBytesConfig(q: ResolvedQuantization): Record<string, unknown> {
  return {
    _load_in_4bit: q.bits === 4,
    _load_in_8bit: q.bits === 8,
    bnb_4bit_compute_dtype: q.computeDtype,
    bnb_4bit_quant_storage: 'uint8',
    bnb_4bit_quant_type: q.type,
    bnb_4bit_use_double_quant: q.doubleQuant,
    llm_int8_enable_fp32_cpu_offload: false,
    llm_int8_has_fp16_weight: false,
    llm_int8_skip_modules: q.skipModules,
    llm_int8_threshold: 6.0,
    load_in_4bit: q.bits === 4,
    load_in_8bit: q.bits === 8,
    quant_method: 'bitsandbytes',
  };
}

/**
 * The quantisation a config.json's `quantization_config` describes, or null when it has none.
 * Anything but bitsandbytes is refused with the method named.
 */
export function readBitsAndBytesConfig(raw: unknown): ResolvedQuantization | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ValueError('config.json: quantization_config must be an object');
  const c = raw as Record<string, unknown>;
  if (c.quant_method !== 'bitsandbytes') {
    throw new ValueError(`config.json: quantization_config.quant_method ${JSON.stringify(c.quant_method)} is not supported; peftjs reads bitsandbytes 4-bit and 8-bit models`);
  }
  const four = c.load_in_4bit === true || c._load_in_4bit === true;
  const eight = c.load_in_8bit === true || c._load_in_8bit === true;
  if (four === eight) throw new ValueError('config.json: quantization_config must set exactly one of load_in_4bit and load_in_8bit');
  const skip = c.llm_int8_skip_modules;
  return resolveQuantization({
    bits: four ? 4 : 8,
    type: (c.bnb_4bit_quant_type as QuantType4 | undefined) ?? 'fp4',
    doubleQuant: c.bnb_4bit_use_double_quant === true,
    computeDtype: typeof c.bnb_4bit_compute_dtype === 'string' ? torchDType(c.bnb_4bit_compute_dtype) : 'float32',
    skipModules: Array.isArray(skip) ? skip.map(String) : undefined,
  });
}

/** A torch dtype name as transformers writes it ('bfloat16', 'torch.float16', 'float') as ours. */
function torchDType(name: string): DType {
  const bare = name.replace(/^torch\./, '');
  const aliases: Record<string, DType> = { float: 'float32', half: 'float16', bf16: 'bfloat16', fp16: 'float16', fp32: 'float32' };
  return checkDType(aliases[bare] ?? bare);
}
