// HF PEFT's default target_modules and feedforward_modules of (IA)³ by model_type
// (utils/constants.py, TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING and
// TRANSFORMERS_MODELS_TO_IA3_FEEDFORWARD_MODULES_MAPPING), for the architectures peftjs loads.
// Each fills its field independently when that field is null, as in HF.
export const IA3_TARGETS: Readonly<Record<string, readonly string[]>> = {
  t5: ['k', 'v', 'wo'],
  gpt2: ['c_attn', 'mlp.c_proj'],
  roberta: ['key', 'value', 'output.dense'],
  llama: ['k_proj', 'v_proj', 'down_proj'],
  mistral: ['k_proj', 'v_proj', 'down_proj'],
  bert: ['key', 'value', 'output.dense'],
  qwen2: ['q_proj', 'v_proj', 'down_proj'],
};

export const IA3_FEEDFORWARD: Readonly<Record<string, readonly string[]>> = {
  t5: ['wo'],
  gpt2: ['mlp.c_proj'],
  roberta: ['output.dense'],
  llama: ['down_proj'],
  mistral: ['down_proj'],
  bert: ['output.dense'],
  qwen2: ['down_proj'],
};
