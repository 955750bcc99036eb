// The training-loop entry of AdaLoRA (HF's AdaLoraModel.update_and_allocate): call it every step
// after loss.backward() (and the optimizer step) and before zeroing the gradients.
import type { PeftModel } from '../../peft-model.js';
import type { TunerModel } from '../../tuner-model.js';
import type { MethodTrainingState } from '../registry.js';
import { PeftConfigError } from '../../errors.js';
import { RankAllocator } from './allocator.js';
import type { AdaLoraConfig, RankMasks } from './config.js';
import { requireTrainableAdapter } from './trainable.js';

/** One allocator per model (HF keeps it on the AdaLoraModel), made on first use. */
const allocators = new WeakMap<TunerModel, RankAllocator>();

/** The model's allocator for its trainable adapter (a new one if the adapter changed). */
export function rankAllocator(peft: PeftModel): RankAllocator {
  return tunerAllocator(peft.base_model);
}

function tunerAllocator(tuner: TunerModel): RankAllocator {
  const adapter = requireTrainableAdapter(tuner, 'AdaLoRA rank allocation');
  let allocator = allocators.get(tuner);
  if (allocator === undefined || allocator.adapter.name !== adapter.name) {
    allocator?.reset();
    allocator = new RankAllocator(adapter);
    allocators.set(tuner, allocator);
  }
  // The config is read afresh: rank_pattern (and the schedule) may have changed since.
  allocator.adapter.config = adapter.config;
  return allocator;
}

/**
 * Updates the importance scores and masks triplets to the step's budget: during the budgeting
 * phase every deltaT steps, once more at total_step − tfinal (fixing the rank pattern, which the
 * adapter's config then holds and savePretrained writes), and with that pattern after it.
 */
export function updateAndAllocate(peft: PeftModel, globalStep: number): void {
  allocateRanks(peft.base_model, globalStep);
}

/** updateAndAllocate on the tuner (the TunerMethod hook training loops call). */
export function allocateRanks(tuner: TunerModel, globalStep: number): void {
  const allocator = tunerAllocator(tuner);
  const { config, name } = allocator.adapter;
  const finalStep = config.totalStep - config.tfinal;
  if (globalStep < finalStep) {
    const { rankPattern } = allocator.step(globalStep);
    if (rankPattern !== null) setRankPattern(tuner, name, config, rankPattern);
  } else if (globalStep === finalStep) {
    setRankPattern(tuner, name, config, allocator.step(globalStep, true).rankPattern!);
    allocator.reset();
  } else {
    if (config.rankPattern === null) {
      throw new PeftConfigError(`step ${globalStep} is past total_step − tfinal = ${finalStep} but no rank pattern was fixed: call updateAndAllocate at every step, ${finalStep} included`);
    }
    allocator.maskWithPattern(config.rankPattern);
  }
}

function setRankPattern(tuner: TunerModel, name: string, config: AdaLoraConfig, rankPattern: RankMasks | null): void {
  const updated: AdaLoraConfig = { ...config, rankPattern };
  tuner.configs.set(name, updated);
}

/** What resuming AdaLoRA training needs besides the parameters: the importance averages and the rank pattern. */
export function allocationState(tuner: TunerModel): MethodTrainingState | null {
  const allocator = allocators.get(tuner);
  if (allocator === undefined) return null;
  const { name } = allocator.adapter;
  const config = tuner.configs.get(name) as AdaLoraConfig;
  return { json: { adapter: name, rankPattern: config.rankPattern }, tensors: allocator.averagesByName() };
}

/** Puts back allocationState's averages and rank pattern (for the same adapter). */
export function loadAllocationState(tuner: TunerModel, state: MethodTrainingState): void {
  const { adapter, rankPattern } = state.json as { adapter: string; rankPattern: RankMasks | null };
  const trainable = requireTrainableAdapter(tuner, 'resuming AdaLoRA');
  if (trainable.name !== adapter) {
    throw new PeftConfigError(`the checkpoint's AdaLoRA state is for adapter '${adapter}', but the trainable adapter is '${trainable.name}'; resume with the same adapter name`);
  }
  const allocator = tunerAllocator(tuner);
  allocator.loadAverages(state.tensors);
  setRankPattern(tuner, adapter, trainable.config, rankPattern);
}
