// One table of tensor names, GGUF <-> Hugging Face, used both ways (reading GGUF bases, writing
// models and adapters for llama.cpp). Follows llama.cpp's gguf-py/gguf/tensor_mapping.py (the HF
// names of each MODEL_TENSOR) and constants.py (the GGUF names per architecture) for the
// architectures peftjs exchanges: llama (also Mistral-style files), qwen2 and gpt2.
// `{n}` stands for the block (layer) number.

export type GgufArchitectureName = 'llama' | 'qwen2' | 'gpt2';

type NameTable = readonly (readonly [gguf: string, hf: string])[];

const LLAMA_FAMILY: NameTable = [
  ['token_embd', 'model.embed_tokens'],
  ['output_norm', 'model.norm'],
  ['output', 'lm_head'],
  ['blk.{n}.attn_norm', 'model.layers.{n}.input_layernorm'],
  ['blk.{n}.attn_q', 'model.layers.{n}.self_attn.q_proj'],
  ['blk.{n}.attn_k', 'model.layers.{n}.self_attn.k_proj'],
  ['blk.{n}.attn_v', 'model.layers.{n}.self_attn.v_proj'],
  ['blk.{n}.attn_output', 'model.layers.{n}.self_attn.o_proj'],
  ['blk.{n}.ffn_norm', 'model.layers.{n}.post_attention_layernorm'],
  ['blk.{n}.ffn_gate', 'model.layers.{n}.mlp.gate_proj'],
  ['blk.{n}.ffn_up', 'model.layers.{n}.mlp.up_proj'],
  ['blk.{n}.ffn_down', 'model.layers.{n}.mlp.down_proj'],
];

const GPT2: NameTable = [
  ['token_embd', 'transformer.wte'],
  ['position_embd', 'transformer.wpe'],
  ['output_norm', 'transformer.ln_f'],
  ['output', 'lm_head'],
  ['blk.{n}.attn_norm', 'transformer.h.{n}.ln_1'],
  ['blk.{n}.attn_qkv', 'transformer.h.{n}.attn.c_attn'],
  ['blk.{n}.attn_output', 'transformer.h.{n}.attn.c_proj'],
  ['blk.{n}.ffn_norm', 'transformer.h.{n}.ln_2'],
  ['blk.{n}.ffn_up', 'transformer.h.{n}.mlp.c_fc'],
  ['blk.{n}.ffn_down', 'transformer.h.{n}.mlp.c_proj'],
];

const TABLES: Record<GgufArchitectureName, NameTable> = { llama: LLAMA_FAMILY, qwen2: LLAMA_FAMILY, gpt2: GPT2 };

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** One direction of a table: (pattern, replacement) pairs over whole names with a .weight/.bias suffix. */
function compile(table: NameTable, from: 0 | 1): [RegExp, string][] {
  return table.map((row) => {
    const source = escape(row[from]).replace('\\{n\\}', '(\\d+)');
    const target = row[1 - from]!.replace('{n}', '$1');
    const suffix = source.includes('(\\d+)') ? '$2' : '$1';
    return [new RegExp(`^${source}\\.(weight|bias)$`), `${target}.${suffix}`];
  });
}

const cache = new Map<string, [RegExp, string][]>();
function rules(arch: GgufArchitectureName, from: 0 | 1): [RegExp, string][] {
  const key = `${arch}:${from}`;
  if (!cache.has(key)) cache.set(key, compile(TABLES[arch], from));
  return cache.get(key)!;
}

function rename(name: string, arch: GgufArchitectureName, from: 0 | 1): string | null {
  for (const [pattern, replacement] of rules(arch, from))
    if (pattern.test(name)) return name.replace(pattern, replacement);
  return null;
}

/** The HF parameter name of GGUF tensor `name` (`blk.0.attn_q.weight` -> `model.layers.0.self_attn.q_proj.weight`); null when unknown. */
export function ggufToHfName(arch: GgufArchitectureName, name: string): string | null {
  return rename(name, arch, 0);
}

/** The GGUF tensor name of HF parameter `name`; null for one llama.cpp's model has no tensor for. */
export function hfToGgufName(arch: GgufArchitectureName, name: string): string | null {
  return rename(name, arch, 1);
}
