// A full disk while saving a checkpoint: the save fails with the system's error, nothing
// half-written is left in the output folder, and the previous checkpoint survives and loads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AutoModelForCausalLM, PeftModel } from '../../src/index.js';
import { Trainer } from '../../src/train/index.js';
import { FIXTURES } from '../helpers/parity.js';
import { loraLlama, tokenBatches, withTempDir } from './helpers.js';

/** Makes every FileHandle.write fail with ENOSPC while `full()` is true (all writes go through it). */
async function simulatedDisk(full: () => boolean): Promise<() => void> {
  const handle = await open(import.meta.filename, 'r');
  const proto = Object.getPrototypeOf(handle) as { write: (...args: unknown[]) => Promise<unknown> };
  await handle.close();
  const write = proto.write;
  proto.write = function (this: unknown, ...args: unknown[]) {
    if (full()) return Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
    return write.apply(this, args);
  };
  return () => {
    proto.write = write;
  };
}

test('a full disk during a checkpoint keeps the previous checkpoint whole and leaves no partial files', async () => {
  await withTempDir(async (dir) => {
    let saves = 0;
    const restore = await simulatedDisk(() => saves >= 1);
    try {
      const trainer = new Trainer({
        model: await loraLlama(0, 0),
        trainDataset: tokenBatches(4, 2),
        args: { outputDir: dir, lr: 1e-2, maxSteps: 3, saveSteps: 1, lrScheduler: 'constant' },
        callbacks: [{ onSave: () => void saves++ }],
      });
      await assert.rejects(trainer.train(), (e: unknown) => (e as { code?: string }).code === 'ENOSPC' || /ENOSPC/.test(String(e)));
    } finally {
      restore();
    }
    assert.deepEqual(await readdir(dir), ['checkpoint-1'], 'only the complete checkpoint remains');
    const adapter = await PeftModel.fromPretrained(await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama')), join(dir, 'checkpoint-1'));
    assert.ok(adapter.trainableParameters().total > 0);
  });
});
