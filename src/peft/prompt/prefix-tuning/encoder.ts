// PrefixEncoder (HF's prefix_tuning/model.py): a table of num_layers · 2 · token_dim values per
// virtual token (every layer's key and value), or, with prefix_projection while training, a
// token_dim table through Linear → tanh → Linear to that width.
import { Tensor, noGrad, tanh } from '../../../tensor/index.js';
import { Embedding, Linear, Module, Sequential } from '../../../nn/index.js';
import { ActivationLayer } from '../activation-layer.js';
import type { ResolvedPromptConfig } from '../config.js';
import type { PromptEncoderModule } from '../method.js';
import type { PrefixTuningConfig } from './config.js';

export class PrefixEncoder extends Module implements PromptEncoderModule {
  embedding: Embedding;
  transform?: Sequential;

  constructor(config: ResolvedPromptConfig<PrefixTuningConfig> & { encoderHiddenSize: number }) {
    super();
    const width = config.numLayers * 2 * config.tokenDim;
    const project = config.prefixProjection && !config.inferenceMode;
    this.embedding = new Embedding(config.numVirtualTokens, project ? config.tokenDim : width);
    if (project) {
      this.transform = new Sequential([
        new Linear(config.tokenDim, config.encoderHiddenSize),
        new ActivationLayer(tanh),
        new Linear(config.encoderHiddenSize, width),
      ]);
    }
    if (config.initWeights === 'zero') {
      const zeroed = project ? [...(this.transform!.at(-1) as Linear).parameters()] : [this.embedding.weight];
      noGrad(() => zeroed.forEach((p) => p.fill_(0)));
    }
  }

  /** [num_virtual_tokens, num_layers · 2 · token_dim]. */
  prompts(): Tensor {
    return this.transform ? this.transform.forward(this.embedding.weight) : this.embedding.weight;
  }
}
