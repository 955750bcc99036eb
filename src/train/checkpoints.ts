// Trainer checkpoints: one folder per saved step, written under a temporary name and renamed
// when complete, so a crash (or a full disk) leaves the previous checkpoints as they were.
//   checkpoint-<step>/adapter_config.json, adapter_model.safetensors  (PeftModel.savePretrained: the deliverable)
//   checkpoint-<step>/trainable.safetensors   every trainable parameter by path (exact resume for any method)
//   checkpoint-<step>/optimizer.safetensors   optimizer state tensors, 'state.<index>.<name>'
//   checkpoint-<step>/method_state.safetensors  the method's own training state (AdaLoRA's importance averages), if any
//   checkpoint-<step>/trainer_state.json      step, data position, RNG, scheduler, optimizer scalars, callbacks
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { noGrad, type Tensor } from '../tensor/index.js';
import type { Module } from '../nn/index.js';
import { loadSafetensors, saveSafetensors, writeFileAtomic } from '../io/index.js';
import { CheckpointError } from './errors.js';
import type { Optimizer, OptimizerStateDict, ParamState } from './optim/optimizer.js';

const PREFIX = 'checkpoint-';
const STATE_FILE = 'trainer_state.json';
const TRAINABLE_FILE = 'trainable.safetensors';
const OPTIMIZER_FILE = 'optimizer.safetensors';
const METHOD_STATE_FILE = 'method_state.safetensors';

/** The JSON part of a checkpoint (the Trainer decides its fields besides these). */
export interface CheckpointJson {
  globalStep: number;
  optimizer: { paramGroups: OptimizerStateDict['paramGroups']; steps: Record<string, number> };
  /** The JSON half of the method's training state (its tensors are in METHOD_STATE_FILE); null: none. */
  methodState?: unknown;
  [key: string]: unknown;
}

/** What a method keeps between steps besides parameters (a PeftModel's trainingState()). */
interface MethodState {
  json: unknown;
  tensors: Map<string, Tensor>;
}

type Savable = Module & {
  savePretrained?(dir: string): Promise<void>;
  trainingState?(): MethodState | null;
  loadTrainingState?(state: MethodState): void;
};

/** The trainable parameters by path. */
function trainableByName(model: Module): Map<string, Tensor> {
  return new Map(model.namedParameters().filter(([, p]) => p.requiresGrad));
}

/** Writes checkpoint-<step> in outputDir atomically; returns its path. */
export async function writeCheckpoint(
  outputDir: string,
  model: Savable,
  optimizer: Optimizer,
  state: Omit<CheckpointJson, 'optimizer'>,
): Promise<string> {
  await mkdir(outputDir, { recursive: true });
  const final = join(outputDir, `${PREFIX}${state.globalStep}`);
  const temp = join(outputDir, `.${PREFIX}${state.globalStep}.partial-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(temp);
  try {
    if (typeof model.savePretrained === 'function') await model.savePretrained(temp);
    await saveSafetensors(join(temp, TRAINABLE_FILE), trainableByName(model));
    const dict = optimizer.stateDict();
    const tensors = new Map<string, Tensor>();
    const steps: Record<string, number> = {};
    for (const [index, s] of dict.state) {
      steps[index] = s.step;
      for (const [key, t] of Object.entries(s.tensors)) tensors.set(`state.${index}.${key}`, t);
    }
    await saveSafetensors(join(temp, OPTIMIZER_FILE), tensors);
    const methodState = model.trainingState?.() ?? null;
    if (methodState !== null) await saveSafetensors(join(temp, METHOD_STATE_FILE), methodState.tensors);
    const json = { ...state, optimizer: { paramGroups: dict.paramGroups, steps }, methodState: methodState?.json ?? null } as CheckpointJson;
    await writeFileAtomic(join(temp, STATE_FILE), JSON.stringify(json, null, 1));
    await rm(final, { recursive: true, force: true }); // the same step saved again (a resumed run)
    await rename(temp, final);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
  return final;
}

/** Complete checkpoint folders in outputDir, oldest first. */
export async function listCheckpoints(outputDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(outputDir);
  } catch {
    return [];
  }
  return names
    .filter((n) => new RegExp(`^${PREFIX}\\d+$`).test(n))
    .sort((a, b) => Number(a.slice(PREFIX.length)) - Number(b.slice(PREFIX.length)))
    .map((n) => join(outputDir, n));
}

/** The newest checkpoint in outputDir, or null. */
export async function latestCheckpoint(outputDir: string): Promise<string | null> {
  return (await listCheckpoints(outputDir)).at(-1) ?? null;
}

/** Deletes all but the newest `keep` checkpoints. */
export async function rotateCheckpoints(outputDir: string, keep: number): Promise<void> {
  const all = await listCheckpoints(outputDir);
  for (const dir of all.slice(0, Math.max(0, all.length - keep))) await rm(dir, { recursive: true, force: true });
}

/**
 * Restores the trainable parameters and the optimizer from `dir` and returns its JSON. Everything
 * is read and checked before anything is changed.
 */
export async function readCheckpoint(dir: string, model: Savable, optimizer: Optimizer): Promise<CheckpointJson> {
  try {
    await stat(join(dir, STATE_FILE));
  } catch {
    throw new CheckpointError(`${dir} is not a complete checkpoint (no ${STATE_FILE}); pass a checkpoint-<step> folder the Trainer wrote`);
  }
  const json = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')) as CheckpointJson;
  const saved = (await loadSafetensors(join(dir, TRAINABLE_FILE))).tensors;
  const optimizerTensors = (await loadSafetensors(join(dir, OPTIMIZER_FILE))).tensors;
  const hasMethodState = json.methodState !== undefined && json.methodState !== null;
  const methodTensors = hasMethodState ? (await loadSafetensors(join(dir, METHOD_STATE_FILE))).tensors : new Map<string, Tensor>();
  try {
    const live = trainableByName(model);
    const missing = [...live.keys()].filter((k) => !saved.has(k));
    const extra = [...saved.keys()].filter((k) => !live.has(k));
    const shapes = [...live].filter(([k, p]) => saved.has(k) && saved.get(k)!.shape.join() !== p.shape.join()).map(([k]) => k);
    if (missing.length + extra.length + shapes.length > 0) {
      throw new CheckpointError(
        `${dir} was written for other trainable parameters: ` +
          [missing.length ? `missing ${missing.join(', ')}` : '', extra.length ? `unexpected ${extra.join(', ')}` : '', shapes.length ? `other shapes for ${shapes.join(', ')}` : '']
            .filter(Boolean).join('; ') + '; resume with the same model, method and options',
      );
    }
    const state = new Map<number, ParamState>();
    for (const [index, step] of Object.entries(json.optimizer.steps)) state.set(Number(index), { step, tensors: {} });
    for (const [key, t] of optimizerTensors) {
      const [, index, name] = /^state\.(\d+)\.(.+)$/.exec(key) ?? [];
      const s = state.get(Number(index));
      if (s === undefined || name === undefined) throw new CheckpointError(`${dir}/${OPTIMIZER_FILE} holds '${key}', which its ${STATE_FILE} does not describe`);
      s.tensors[name] = t;
    }
    if (hasMethodState) {
      if (model.loadTrainingState === undefined) throw new CheckpointError(`${dir} holds a method's training state, which this model cannot take; resume with the same model and method`);
      // Checks what it is given before it changes anything, so it goes first.
      model.loadTrainingState({ json: json.methodState, tensors: methodTensors });
    }
    optimizer.loadStateDict({ paramGroups: json.optimizer.paramGroups, state });
    noGrad(() => {
      for (const [k, p] of live) p.copy_(saved.get(k)!);
    });
  } finally {
    for (const t of saved.values()) t.dispose();
    for (const t of optimizerTensors.values()) t.dispose();
    for (const t of methodTensors.values()) t.dispose();
  }
  return json;
}
