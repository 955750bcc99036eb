// Fields every PEFT config has, read from and written to adapter_config.json as HF PEFT does.
import { Fields, type Json } from '../../io/config/fields.js';
import { PeftConfigError } from '../errors.js';

export const TASK_TYPES = ['CAUSAL_LM', 'SEQ_CLS', 'SEQ_2_SEQ_LM', 'TOKEN_CLS', 'FEATURE_EXTRACTION', 'QUESTION_ANS'] as const;
export type TaskType = (typeof TASK_TYPES)[number];

/** The HF PEFT version whose file format peftjs writes. */
export const PEFT_FORMAT_VERSION = '0.21.0';

export interface BaseConfig {
  peftType: string;
  taskType: TaskType | null;
  baseModelNameOrPath: string | null;
  revision: string | null;
  inferenceMode: boolean;
  /** Set by HF PEFT when there is no task type: the base model's class, for AutoPeftModel. */
  autoMapping: Record<string, unknown> | null;
  /** Fields of adapter_config.json peftjs does not model, kept so a loaded file saves back unchanged. */
  extra: Record<string, unknown>;
}

export function readBase(f: Fields, peftType: string): Omit<BaseConfig, 'extra'> {
  const taskType = f.raw.task_type === null || f.raw.task_type === undefined ? null : f.oneOf('task_type', TASK_TYPES, 'CAUSAL_LM');
  return {
    peftType,
    taskType,
    baseModelNameOrPath: f.nullableString('base_model_name_or_path', null),
    revision: f.nullableString('revision', null),
    inferenceMode: f.bool('inference_mode', false),
    autoMapping: isObject(f.raw.auto_mapping) ? { ...f.raw.auto_mapping } : null,
  };
}

export function writeBase(c: BaseConfig): Record<string, unknown> {
  return {
    auto_mapping: c.autoMapping,
    base_model_name_or_path: c.baseModelNameOrPath,
    inference_mode: c.inferenceMode,
    peft_type: c.peftType,
    peft_version: PEFT_FORMAT_VERSION,
    revision: c.revision,
    task_type: c.taskType,
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Keys of `raw` not in `known`: kept (written back as they were). */
export function extraFields(raw: Json, known: readonly string[]): Record<string, unknown> {
  const skip = new Set([...known, 'auto_mapping', 'base_model_name_or_path', 'inference_mode', 'peft_type', 'peft_version', 'revision', 'task_type']);
  return Object.fromEntries(Object.entries(raw).filter(([k]) => !skip.has(k)));
}

/** Rejects HF options peftjs cannot honour, when they are set to anything but their neutral value. */
export function rejectUnsupported(raw: Json, neutral: Record<string, unknown>, path: string): void {
  for (const [key, value] of Object.entries(neutral)) {
    const v = raw[key];
    if (v !== undefined && v !== null && JSON.stringify(v) !== JSON.stringify(value)) {
      throw new PeftConfigError(`${path}: '${key}' = ${JSON.stringify(v)} is not supported by peftjs (supported: ${JSON.stringify(value)} or null)`);
    }
  }
}

/** An object of numbers (rank_pattern, alpha_pattern); {} when absent. */
export function numberMap(f: Fields, name: string): Record<string, number> {
  const value = f.raw[name];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value) || !Object.values(value).every((v) => typeof v === 'number')) {
    f.fail(name, 'an object of numbers', value);
  }
  return { ...(value as Record<string, number>) };
}

export { Fields, type Json };
