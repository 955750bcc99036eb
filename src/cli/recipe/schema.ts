// The training recipe (YAML): its fields, types and defaults, in HF's snake_case. Every object is
// strict, so a misspelt key is an error that names it.
import { z } from 'zod';
import { DATA_FORMATS } from '../../train/data/index.js';

const positiveInt = z.number().int().positive();

const fields = z.strictObject({
  text: z.string(), text_pair: z.string(), label: z.string(), prompt: z.string(), response: z.string(),
  messages: z.string(), source: z.string(), target: z.string(),
}).partial();

export const dataSchema = z.strictObject({
  /** A data file (.jsonl, .csv, .parquet) or a folder of them. */
  train: z.string(),
  eval: z.string().optional(),
  format: z.enum(DATA_FORMATS as [string, ...string[]]),
  fields: fields.optional(),
  max_length: positiveInt.optional(),
  packing: z.boolean().optional(),
  label_names: z.array(z.string()).nonempty().optional(),
  on_bad_row: z.enum(['error', 'skip']).optional(),
  padding_side: z.enum(['left', 'right']).optional(),
  cache_dir: z.string().optional(),
});

export const trainingSchema = z.strictObject({
  epochs: positiveInt, max_steps: positiveInt, batch_size: positiveInt, eval_batch_size: positiveInt,
  lr: z.number().nonnegative(), weight_decay: z.number().nonnegative(), optimizer: z.enum(['adamw', 'sgd']),
  momentum: z.number(), lr_scheduler: z.enum(['constant', 'linear', 'cosine']), warmup_steps: z.number().int().nonnegative(),
  warmup_ratio: z.number().min(0).max(1), max_grad_norm: z.number().nonnegative(), gradient_accumulation_steps: positiveInt,
  gradient_checkpointing: z.boolean(), seed: z.number().int(), shuffle: z.boolean(), logging_steps: positiveInt,
  eval_strategy: z.enum(['no', 'steps', 'epoch']), eval_steps: positiveInt, save_steps: positiveInt, save_total_limit: positiveInt,
  loraplus_lr_ratio: z.number().positive(), early_stopping_patience: positiveInt,
}).partial();

/** Quantising the base while loading it (QLoRA): bitsandbytes' 4-bit or int8 layouts. */
export const quantizationSchema = z.strictObject({
  bits: z.union([z.literal(4), z.literal(8)]),
  type: z.enum(['nf4', 'fp4']).optional(),
  double_quant: z.boolean().optional(),
  block_size: positiveInt.optional(),
  compute_dtype: z.enum(['float32', 'bfloat16', 'float16']).optional(),
  skip_modules: z.array(z.string()).optional(),
});

export const recipeSchema = z.strictObject({
  /** A Hugging Face model folder (config.json, model.safetensors, tokenizer.json), or a .gguf model file. */
  model: z.string(),
  /** The adapter: HF PEFT's adapter_config.json fields (peft_type and the method's options). */
  method: z.looseObject({ peft_type: z.string() }),
  data: dataSchema,
  training: trainingSchema.default({}),
  /** The run's folder: adapter/, checkpoints, metrics.jsonl, report.html. */
  output: z.string(),
  /** Quantise the base while loading it (QLoRA). */
  quantization: quantizationSchema.optional(),
});

/** One job of a concurrent run (`jobs:`, or a file dropped into the run's jobs/ folder). */
export const jobSchema = z.strictObject({
  /** The job's name: its adapter's, its progress line's, its default output folder's (<run output>/<name>). */
  name: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only'),
  /** The jobs share one base: when given, it must be the run's model. */
  model: z.string().optional(),
  /** When given, it must be the run's quantization (the base is quantised once for all jobs). */
  quantization: quantizationSchema.optional(),
  method: z.looseObject({ peft_type: z.string() }),
  data: dataSchema,
  /** Over the run's training: defaults. */
  training: trainingSchema.default({}),
  /** The job's folder: adapter/, checkpoints, metrics.jsonl, report.html (default <run output>/<name>). */
  output: z.string().optional(),
});

/** A concurrent run: several jobs trained together on one base. */
export const multiRecipeSchema = z.strictObject({
  model: z.string(),
  /** Defaults for every job's training. */
  training: trainingSchema.default({}),
  /** Defaults for every job's data (a shared format or cache_dir). */
  data: dataSchema.partial().optional(),
  /** Quantise the shared base while loading it (QLoRA jobs). */
  quantization: quantizationSchema.optional(),
  jobs: z.array(jobSchema).nonempty(),
  /** The run's folder: jobs/ (files of jobs to add, <name>.cancel to cancel one) and each job's folder. */
  output: z.string(),
});

export type Recipe = z.infer<typeof recipeSchema>;
export type JobRecipe = z.infer<typeof jobSchema>;
export type MultiRecipe = z.infer<typeof multiRecipeSchema>;
export type TrainingFields = z.infer<typeof trainingSchema>;
