// Memory options: gradient checkpointing gives the same gradients as keeping the activations, and
// frozen base weights in bf16 leave the adapters in float32 and trainable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memoryStats, tidy } from '../../src/index.js';
import { Trainer, castFrozenParameters, enableGradientCheckpointing } from '../../src/train/index.js';
import { loraLlama, tokenBatches } from './helpers.js';

/** The adapter's gradients for one batch, and the tensor memory the step's scope holds after forward and after backward. */
function adapterGradients(checkpointing: boolean): Promise<{ grads: number[][]; heldAfterForward: number; heldAfterBackward: number }> {
  return loraLlama(3, 0.1).then((peft) => {
    if (checkpointing) assert.equal(enableGradientCheckpointing(peft), 2, 'both decoder layers');
    peft.train(); // checkpointing and dropout act in training mode only
    const [batch] = tokenBatches(1, 8, 64); // activations of 4 KiB and more, which memoryStats counts
    const before = memoryStats().liveBytes;
    const [heldAfterForward, heldAfterBackward] = tidy(() => {
      const loss = peft.forward(batch!).loss!;
      const afterForward = memoryStats().liveBytes - before;
      loss.backward();
      return [afterForward, memoryStats().liveBytes - before];
    });
    return { grads: peft.parameters().filter((p) => p.requiresGrad).map((p) => p.grad!.toFlatArray()), heldAfterForward, heldAfterBackward };
  });
}

test('gradient checkpointing recomputes the layers (dropout included) to the same gradients, and holds less memory', async () => {
  const kept = await adapterGradients(false);
  const recomputed = await adapterGradients(true);
  assert.deepEqual(recomputed.grads, kept.grads);
  // A segment's intermediates are freed when it has run, and its recomputed ones when its backward
  // ends (both used to stay until the step's scope ended, so checkpointing saved nothing).
  assert.ok(recomputed.heldAfterForward < kept.heldAfterForward / 2, `after forward: checkpointed ${recomputed.heldAfterForward} B vs ${kept.heldAfterForward} B`);
  assert.ok(recomputed.heldAfterBackward < kept.heldAfterBackward, `after backward: checkpointed ${recomputed.heldAfterBackward} B vs ${kept.heldAfterBackward} B`);
});

test('bf16 frozen weights: the base is stored in bf16, adapters stay float32 and train', async () => {
  const peft = await loraLlama(0, 0);
  const saved = castFrozenParameters(peft);
  const params = peft.namedParameters();
  assert.ok(saved > 0);
  assert.ok(params.filter(([, p]) => !p.requiresGrad).every(([, p]) => p.dtype === 'bfloat16'));
  assert.ok(params.filter(([, p]) => p.requiresGrad).every(([, p]) => p.dtype === 'float32'));
  const logs: number[] = [];
  await new Trainer({
    model: peft, trainDataset: tokenBatches(2, 2), args: { lr: 2e-2, epochs: 6, loggingSteps: 2, lrScheduler: 'constant', gradientCheckpointing: true },
    callbacks: [{ onLog: (r) => void logs.push(r.loss!) }],
  }).train();
  assert.ok(logs.at(-1)! < logs[0]!, `loss ${logs[0]} → ${logs.at(-1)}`);
});
