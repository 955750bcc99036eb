// The methods compared, each with its options and a learning rate: the papers' (or HF PEFT's
// examples') rate for the method's family, scaled up about 4× because this run is a few hundred
// steps on a small, briefly pretrained encoder (at the papers' rates most methods had not left
// the majority class by the end). Every PEFT method also trains the classifier head, and the
// pooler, which the masked-LM checkpoint does not have (both initialised fresh).
import { tunerTypes, type ConfigInput } from '../peft/index.js';

export interface MethodContext {
  /** Optimizer steps of the whole fine-tuning run (AdaLoRA's budget schedule needs it). */
  totalSteps: number;
  /** Virtual tokens for the prompt methods: the pretraining windows are this much longer than the fine-tuning ones. */
  virtualTokens: number;
}

export interface MethodSpec {
  name: string;
  family: 'baseline' | 'reparameterised' | 'additive: adapters' | 'additive: soft prompts' | 'selective' | 'hybrid';
  /** The plug-in it needs (null: full fine-tuning, no plug-in). */
  peftType: string | null;
  lr: number;
  /** getPeftModel options; absent for full fine-tuning. */
  options?: (context: MethodContext) => ConfigInput;
}

/** The fresh head trains with every method (HF PEFT adds the classifier for SEQ_CLS; the pooler is fresh here too). */
const HEAD = { taskType: 'SEQ_CLS', modulesToSave: ['classifier', 'pooler'] } as const;
/** BERT's linear layers by their HF names (the suffix output.dense also matches attention.output.dense). */
const ATTENTION = ['query', 'value'];
const ALL_LINEAR = ['query', 'key', 'value', 'output.dense', 'intermediate.dense'];

export const METHODS: readonly MethodSpec[] = [
  { name: 'Full fine-tuning', family: 'baseline', peftType: null, lr: 5e-4 },
  // LoRA (Hu et al. 2021) on RoBERTa: r 8 on query and value, lr 4e-4 to 5e-4 (here 2e-3).
  { name: 'LoRA', family: 'reparameterised', peftType: 'LORA', lr: 2e-3, options: () => ({ ...HEAD, peftType: 'LORA', r: 8, loraAlpha: 16, targetModules: ATTENTION }) },
  { name: 'DoRA', family: 'reparameterised', peftType: 'LORA', lr: 2e-3, options: () => ({ ...HEAD, peftType: 'LORA', r: 8, loraAlpha: 16, targetModules: ATTENTION, useDora: true }) },
  // AdaLoRA (Zhang et al. 2023): every weight matrix, ranks 12 → 8 on average, budget shrinking between 10% and 80% of the steps.
  {
    name: 'AdaLoRA', family: 'reparameterised', peftType: 'ADALORA', lr: 2e-3,
    options: ({ totalSteps }) => ({
      ...HEAD, peftType: 'ADALORA', initR: 12, targetR: 8, loraAlpha: 16, targetModules: ALL_LINEAR,
      totalStep: totalSteps, tinit: Math.floor(totalSteps / 10), tfinal: Math.floor(totalSteps / 5), deltaT: 1,
    }),
  },
  // (IA)3 (Liu et al. 2022): HF PEFT's BERT targets; lr 3e-3 (here 1e-2).
  { name: '(IA)3', family: 'additive: adapters', peftType: 'IA3', lr: 1e-2, options: () => ({ ...HEAD, peftType: 'IA3', targetModules: ['key', 'value', 'output.dense'], feedforwardModules: ['output.dense'] }) },
  // Bottleneck adapters (Houlsby et al. 2019; Pfeiffer et al. 2021; He et al. 2022): bottleneck hidden / 16, lr 1e-4 to 1e-3 (here 4e-3).
  { name: 'Houlsby', family: 'additive: adapters', peftType: 'BOTTLENECK', lr: 4e-3, options: () => ({ ...HEAD, peftType: 'BOTTLENECK', adapterType: 'houlsby', reductionFactor: 16 }) },
  { name: 'Pfeiffer', family: 'additive: adapters', peftType: 'BOTTLENECK', lr: 4e-3, options: () => ({ ...HEAD, peftType: 'BOTTLENECK', adapterType: 'pfeiffer', reductionFactor: 16 }) },
  { name: 'Parallel adapter', family: 'additive: adapters', peftType: 'BOTTLENECK', lr: 4e-3, options: () => ({ ...HEAD, peftType: 'BOTTLENECK', adapterType: 'parallel', reductionFactor: 16 }) },
  // Soft prompts train far fewer parameters and want larger steps: Lester et al. (prompt tuning, 0.3 with Adafactor; here 0.1),
  // P-tuning v2 (deep prefixes, no reparameterisation: 5e-3 to 1e-2; here 3e-2), P-tuning (MLP encoder; here 3e-2).
  { name: 'Prompt tuning', family: 'additive: soft prompts', peftType: 'PROMPT_TUNING', lr: 1e-1, options: ({ virtualTokens }) => ({ ...HEAD, peftType: 'PROMPT_TUNING', numVirtualTokens: virtualTokens }) },
  { name: 'Prefix tuning', family: 'additive: soft prompts', peftType: 'PREFIX_TUNING', lr: 3e-2, options: ({ virtualTokens }) => ({ ...HEAD, peftType: 'PREFIX_TUNING', numVirtualTokens: virtualTokens }) },
  {
    name: 'P-tuning', family: 'additive: soft prompts', peftType: 'P_TUNING', lr: 3e-2,
    options: ({ virtualTokens }) => ({ ...HEAD, peftType: 'P_TUNING', numVirtualTokens: virtualTokens, encoderReparameterizationType: 'MLP', encoderHiddenSize: 128 }),
  },
  // BitFit (Ben Zaken et al. 2022): every bias; lr 1e-4 to 1e-3 (here 4e-3).
  { name: 'BitFit', family: 'selective', peftType: 'BITFIT', lr: 4e-3, options: () => ({ ...HEAD, peftType: 'BITFIT' }) },
  // Hybrids: MAM (He et al. 2022: prefix tuning + scaled parallel feed-forward adapter), UniPELT (Mao et al. 2022: gated LoRA + prefix + adapter, lr 5e-4; here 2e-3).
  { name: 'MAM adapter', family: 'hybrid', peftType: 'MAM', lr: 4e-3, options: ({ virtualTokens }) => ({ ...HEAD, peftType: 'MAM', numVirtualTokens: virtualTokens, reductionFactor: 4 }) },
  { name: 'UniPELT', family: 'hybrid', peftType: 'UNIPELT', lr: 2e-3, options: ({ virtualTokens }) => ({ ...HEAD, peftType: 'UNIPELT', numVirtualTokens: virtualTokens, r: 8, reductionFactor: 16 }) },
];

/** Why `method` cannot run in this build (its plug-in is not registered), or null when it can. */
export function missingPlugin(method: MethodSpec): string | null {
  if (method.peftType === null || tunerTypes().includes(method.peftType)) return null;
  return `no '${method.peftType}' plug-in is registered (registered: ${tunerTypes().join(', ')})`;
}

/** A method's name as a command-line word: 'Parallel adapter' → 'parallel-adapter', '(IA)3' → 'ia3'. */
export function methodKey(method: MethodSpec): string {
  return method.name.toLowerCase().replace(/\s+/g, '-').replace(/[^a-z0-9-]/g, '');
}

/** Whether `name` (either spelling, any case) names `method`. */
const names = (method: MethodSpec, name: string) => method.name.toLowerCase() === name.toLowerCase() || methodKey(method) === name.toLowerCase();

/** The methods named in `wanted` (their names or keys, any case); every method when it is empty. */
export function selectMethods(wanted: readonly string[]): MethodSpec[] {
  if (wanted.length === 0) return [...METHODS];
  const unknown = wanted.filter((n) => !METHODS.some((m) => names(m, n)));
  if (unknown.length > 0) throw new RangeError(`unknown method(s) ${unknown.join(', ')}; known: ${METHODS.map((m) => m.name).join(', ')}`);
  return METHODS.filter((m) => wanted.some((n) => names(m, n)));
}
