// AdapterFusion's second stage: a fusion layer over trained adapters, added as an adapter of its
// own (its weights saved alone, in its own folder). After setAdapter(name) only the fusion trains:
// the fused adapters run frozen. initWeights 'random' draws query, key and value at random (for
// tests); any other value gives Pfeiffer et al.'s init (value the identity).
import { PeftConfigError } from '../../errors.js';
import type { PeftModel } from '../../peft-model.js';
import type { BottleneckInit } from './config.js';

export function addFusion(peft: PeftModel, adapters: readonly string[], name: string, { initWeights = 'zero' }: { initWeights?: BottleneckInit } = {}): void {
  if (peft.base_model.method.peftType !== 'BOTTLENECK') {
    throw new PeftConfigError(`addFusion fuses bottleneck adapters; this model's adapters are ${peft.base_model.method.peftType}`);
  }
  peft.addAdapter(name, { peftType: 'BOTTLENECK', fusionOf: [...adapters], initWeights });
}
