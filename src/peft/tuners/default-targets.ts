// HF PEFT's default target_modules of LoRA by model_type (utils/constants.py,
// TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING), for the architectures peftjs loads. HF's
// LoHa, LoKr, OFT and VeRA tables are copies of it (VeRA's differs only for phi), so they share it.
// ViT has no entry in HF: an adapter for it names its target_modules.
export const LORA_FAMILY_TARGETS: Readonly<Record<string, readonly string[]>> = {
  t5: ['q', 'v'],
  gpt2: ['c_attn'],
  bert: ['query', 'value'],
  roberta: ['query', 'value'],
  llama: ['q_proj', 'v_proj'],
  mistral: ['q_proj', 'v_proj'],
  qwen2: ['q_proj', 'v_proj'],
};
