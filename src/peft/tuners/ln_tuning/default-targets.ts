// HF PEFT's default target_modules of LayerNorm tuning by model_type (utils/constants.py,
// TRANSFORMERS_MODELS_TO_LNTUNING_TARGET_MODULES_MAPPING), for the architectures peftjs loads.
// BERT, RoBERTa and ViT have no entry in HF.
export const LN_TUNING_TARGETS: Readonly<Record<string, readonly string[]>> = {
  llama: ['input_layernorm', 'post_attention_layernorm', 'norm'],
  t5: ['layer_norm', 'final_layer_norm'],
  gpt2: ['ln_1', 'ln_2', 'ln_f'],
  mistral: ['input_layernorm', 'post_attention_layernorm', 'norm'],
  qwen2: ['post_attention_layernorm'],
};
