// One training step (forward, backward, an AdamW step over the trainable parameters) per PEFT
// method of issue 5 beside LoRA r = 16, on the GPT-2 124M shape (random weights), batch 4 x 256:
// tokens/s and the trainable parameter count. Each method runs in a fresh process (a fresh model,
// so memory stays bounded): one warm-up step, then --runs timed steps (median).
// Usage: node --import tsx bench/method-steps.ts [--batch 4] [--seq 256] [--layers 12] [--runs 2] [--only lora,mam]
import { spawnSync } from 'node:child_process';
import { GPT2LMHeadModel, getPeftModel, native, type PeftModel } from '../src/index.js';
import type { AdapterOptions } from '../src/peft/config/make-config.js';
import { addFusion, pTuningV2 } from '../src/peft/index.js';
import { lmTrainStep } from './lib/train-step.js';
import { arg, emit, round } from './lib/report.js';
import { time } from './lib/timing.js';
import { gpt2SmallConfig } from './lib/models.js';

const batch = Number(arg('batch') ?? 4);
const seq = Number(arg('seq') ?? 256);
const layers = Number(arg('layers') ?? 12);
const runs = Number(arg('runs') ?? 2);
const config = gpt2SmallConfig({ n_layer: layers });
const everyLayer = Array.from({ length: layers }, (_, i) => i);
const TOKENS = 20;

/** Each method: how it is added to a fresh model (the adapter that trains is the active one). */
const METHODS: Record<string, (model: GPT2LMHeadModel) => PeftModel> = {
  lora_r16: (m) => getPeftModel(m, { peftType: 'LORA', r: 16, loraAlpha: 32, targetModules: ['c_attn', 'c_proj', 'c_fc'], taskType: 'CAUSAL_LM' }),
  prompt_tuning: (m) => getPeftModel(m, { peftType: 'PROMPT_TUNING', numVirtualTokens: TOKENS, taskType: 'CAUSAL_LM' }),
  prefix_tuning: (m) => getPeftModel(m, { peftType: 'PREFIX_TUNING', numVirtualTokens: TOKENS, taskType: 'CAUSAL_LM' }),
  prefix_tuning_proj: (m) => getPeftModel(m, { peftType: 'PREFIX_TUNING', numVirtualTokens: TOKENS, prefixProjection: true, taskType: 'CAUSAL_LM' }),
  p_tuning_mlp: (m) => getPeftModel(m, { peftType: 'P_TUNING', numVirtualTokens: TOKENS, encoderReparameterizationType: 'MLP', taskType: 'CAUSAL_LM' }),
  p_tuning_lstm: (m) => getPeftModel(m, { peftType: 'P_TUNING', numVirtualTokens: TOKENS, encoderReparameterizationType: 'LSTM', taskType: 'CAUSAL_LM' }),
  p_tuning_v2: (m) => getPeftModel(m, pTuningV2({ numVirtualTokens: TOKENS, taskType: 'CAUSAL_LM' }) as AdapterOptions),
  houlsby: (m) => getPeftModel(m, { peftType: 'BOTTLENECK', adapterType: 'houlsby' }),
  pfeiffer: (m) => getPeftModel(m, { peftType: 'BOTTLENECK', adapterType: 'pfeiffer' }),
  parallel: (m) => getPeftModel(m, { peftType: 'BOTTLENECK', adapterType: 'parallel' }),
  scaled_parallel: (m) => getPeftModel(m, { peftType: 'BOTTLENECK', adapterType: 'scaled_parallel' }),
  adapter_fusion: (m) => {
    // Stage 2: the fusion trains over two frozen (stage 1) adapters.
    const peft = getPeftModel(m, { peftType: 'BOTTLENECK', adapterType: 'pfeiffer' }, 'task_a');
    peft.addAdapter('task_b', { peftType: 'BOTTLENECK', adapterType: 'pfeiffer' });
    addFusion(peft, ['task_a', 'task_b'], 'fusion');
    peft.setAdapter('fusion');
    return peft;
  },
  bitfit: (m) => getPeftModel(m, { peftType: 'BITFIT' }),
  ln_tuning: (m) => getPeftModel(m, { peftType: 'LN_TUNING', targetModules: ['ln_1', 'ln_2', 'ln_f'] }),
  diff_pruning: (m) => getPeftModel(m, { peftType: 'DIFF_PRUNING', targetModules: ['c_attn', 'c_proj', 'c_fc'] }),
  structured_mask: (m) =>
    getPeftModel(m, { peftType: 'STRUCTURED_MASK', targetModules: ['c_attn', 'attn.c_proj'], headsToTransform: Object.fromEntries(everyLayer.map((i) => [i, [0, 1]])) }),
  mam: (m) => getPeftModel(m, { peftType: 'MAM' }),
  unipelt: (m) => getPeftModel(m, { peftType: 'UNIPELT' }),
};

/** Times the method's training step in this process and writes one JSON line. */
function measure(method: string): void {
  const make = METHODS[method];
  if (make === undefined) throw new Error(`unknown method '${method}'; the methods are ${Object.keys(METHODS).join(', ')}`);
  const model = make(new GPT2LMHeadModel(config)).train();
  const { step, loss, trainableParams } = lmTrainStep(model, config.vocab_size, batch, seq);
  const t = time(step, { warmup: 1, runs });
  emit('method_train_step', {
    method, model: `gpt2-124M-shape (${layers} layers)`, batch, seq, threads: native.numThreads(), runs,
    trainable_params: trainableParams, loss: round(loss()),
    seconds: round(t.median), tokens_per_s: round((batch * seq) / t.median),
  });
}

const method = arg('method');
if (method !== undefined) {
  measure(method);
} else {
  const selected = arg('only')?.split(',') ?? Object.keys(METHODS);
  const passOn = process.argv.slice(2).filter((_, i, all) => all[i] !== '--only' && all[i - 1] !== '--only' && !all[i]!.startsWith('--only='));
  for (const name of selected) {
    const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, ...passOn, '--method', name], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
    const error = (child.stderr ?? '').split('\n').find((line) => /Error\b/.test(line));
    if (child.status !== 0) emit('method_train_step', { method: name, error: error?.trim() ?? `exit ${child.status}` });
  }
}
