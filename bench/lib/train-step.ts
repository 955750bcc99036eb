// One training step of a language model on fixed token ids: forward with labels, backward, an
// AdamW step over the trainable parameters (src/train's fused update), gradients zeroed.
import { randint, tidy, type Module, type ModelInputs, type ModelOutput } from '../../src/index.js';
import { AdamW } from '../../src/train/optim/index.js';

export function lmTrainStep(model: Module & { forward(inputs: ModelInputs): ModelOutput }, vocab: number, batch: number, seq: number) {
  const trainable = model.parameters().filter((p) => p.requiresGrad);
  const optimizer = new AdamW(trainable, { lr: 1e-4 });
  const ids = randint(0, vocab, [batch, seq]);
  let loss = NaN;
  const step = () =>
    tidy(() => {
      const out = model.forward({ inputIds: ids, labels: ids });
      out.loss!.backward();
      optimizer.step();
      optimizer.zeroGrad();
      loss = out.loss!.item();
      return null;
    });
  return { step, loss: () => loss, trainableParams: trainable.reduce((n, p) => n + p.size, 0) };
}
