// How many items (tokens, or examples) a batch's loss is the mean of: the weight of a rank's
// micro-batch in the job's. Ranks hold different numbers of them, so each rank's mean loss enters
// the global one as (its items / all ranks' items): the gradient is then that of one process with
// the whole batch, and not the mean of the ranks' means.
import { getArchitecture, type ModelTask } from '../../models/index.js';
import type { Module } from '../../nn/index.js';
import { isPromptLearning } from '../../peft/prompt/method.js';
import type { TunerMethod } from '../../peft/tuners/registry.js';
import { IGNORE_INDEX, type Example } from '../data/example.js';

/** Counts the items of one example's loss. */
export type ItemCounter = (example: Example) => number;

function modelTask(model: Module): ModelTask | null {
  for (const [, m] of model.namedModules()) {
    const entry = getArchitecture(m.constructor.name);
    if (entry !== undefined) return entry.task;
  }
  return null;
}

/**
 * The counter for `model`'s loss: labels that are not -100, where a causal LM's loss
 * (models/loss.ts causalLMLoss) predicts each label from the position before it, so a row's first
 * label takes no loss, unless prompt embeddings put -100 virtual positions in front of it
 * (prompt tuning, P-tuning: peft/prompt/forward.ts). One class label per example otherwise.
 */
export function lossItemCounter(model: Module): ItemCounter {
  const method = (model as { base_model?: { method?: TunerMethod } }).base_model?.method;
  const promptEmbeds =
    method !== undefined && isPromptLearning(method) && method.promptLearning.injects === 'embeddings';
  const skipFirst = (modelTask(model) ?? 'causal-lm') === 'causal-lm' && !promptEmbeds;
  return ({ labels }) => {
    if (typeof labels === 'number') return labels === IGNORE_INDEX ? 0 : 1;
    let n = 0;
    for (let i = skipFirst ? 1 : 0; i < labels.length; i++) if (labels[i] !== IGNORE_INDEX) n++;
    return n;
  };
}
