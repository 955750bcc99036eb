// The garbage collector on demand, without starting node with --expose-gc.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Runs a full garbage collection now. */
export const collectGarbage = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/**
 * Collects garbage and lets a task pass (memoryStats reads the collector's count once per task), so
 * tensors dropped without dispose() earlier (a loaded model's temporaries) are not counted as
 * collected in the middle of a measurement.
 */
export async function settleGarbage(): Promise<void> {
  for (let i = 0; i < 2; i++) {
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}
