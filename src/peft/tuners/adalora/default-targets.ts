// HF PEFT's default target_modules of AdaLoRA by model_type (utils/constants.py,
// TRANSFORMERS_MODELS_TO_ADALORA_TARGET_MODULES_MAPPING), for the architectures peftjs loads. It
// differs from LoRA's: T5 and RoBERTa adapt more projections, and Mistral has no entry in HF.
export const ADALORA_TARGETS: Readonly<Record<string, readonly string[]>> = {
  t5: ['q', 'k', 'v', 'o', 'wi', 'wo'],
  gpt2: ['c_attn'],
  llama: ['q_proj', 'v_proj'],
  bert: ['query', 'value'],
  roberta: ['query', 'key', 'value', 'dense'],
  qwen2: ['q_proj', 'v_proj'],
};
