// peft bench: the speed of training steps (forward, backward, AdamW) of a model with an adapter,
// on random token ids: steps/s and tokens/s.
import { getPeftModel, configFromJson } from '../../peft/index.js';
import type { Json } from '../../peft/config/base.js';
import { Generator, randint, tidy } from '../../tensor/index.js';
import { AdamW, parameterGroups } from '../../train/index.js';
import { UsageError } from '../exit-codes.js';
import { openModel } from '../model-folder.js';

export async function benchCommand(o: { model: string; method: string; batchSize: number; seqLen: number; steps: number }): Promise<Record<string, number>> {
  let raw: Json;
  try {
    raw = JSON.parse(o.method) as Json;
  } catch (error) {
    throw new UsageError(`--method must be adapter_config.json fields as JSON: ${(error as Error).message}`);
  }
  const model = await openModel(o.model, 'causal-lm');
  const peft = getPeftModel(model, configFromJson({ task_type: 'CAUSAL_LM', ...raw }, '--method').config);
  const optimizer = new AdamW(parameterGroups(peft, { lr: 1e-4, weightDecay: 0 }), { lr: 1e-4 });
  const vocab = (model.config as { vocab_size?: number }).vocab_size ?? 2;
  const ids = randint(0, vocab, [o.batchSize, o.seqLen], { dtype: 'int64', generator: new Generator(0) });
  const step = () =>
    tidy(() => {
      peft.forward({ inputIds: ids, labels: ids }).loss!.backward();
      optimizer.step();
      optimizer.zeroGrad();
      return null;
    });
  peft.train();
  step();
  const start = performance.now();
  for (let i = 0; i < o.steps; i++) step();
  const seconds = (performance.now() - start) / 1000;
  const { trainable, total } = peft.trainableParameters();
  return { steps: o.steps, seconds, stepsPerSecond: o.steps / seconds, tokensPerSecond: (o.steps * o.batchSize * o.seqLen) / seconds, trainable, total };
}
