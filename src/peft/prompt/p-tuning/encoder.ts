// P-tuning's PromptEncoder (HF's p_tuning/model.py): virtual-token embeddings reparameterised
// while training by an MLP (Linear → ReLU → Linear → ReLU → Linear) or by a bidirectional LSTM
// followed by Linear → ReLU → Linear. An adapter loaded for inference holds the encoder's
// output as its table, as HF saves it.
import { Tensor, relu } from '../../../tensor/index.js';
import { Embedding, LSTM, Linear, Module, Sequential } from '../../../nn/index.js';
import { ActivationLayer } from '../activation-layer.js';
import type { ResolvedPromptConfig } from '../config.js';
import type { PromptEncoderModule } from '../method.js';
import type { PTuningConfig } from './config.js';

export class PTuningPromptEncoder extends Module implements PromptEncoderModule {
  embedding: Embedding;
  lstm_head?: LSTM;
  mlp_head?: Sequential;

  constructor(config: ResolvedPromptConfig<PTuningConfig>) {
    super();
    const dim = config.tokenDim;
    const hidden = config.encoderHiddenSize ?? dim;
    this.embedding = new Embedding(config.numVirtualTokens * config.numTransformerSubmodules, dim);
    if (config.inferenceMode) return;
    if (config.encoderReparameterizationType === 'LSTM') {
      this.lstm_head = new LSTM(dim, hidden, { numLayers: config.encoderNumLayers, dropout: config.encoderDropout, bidirectional: true });
      this.mlp_head = new Sequential([new Linear(2 * hidden, 2 * hidden), new ActivationLayer(relu), new Linear(2 * hidden, dim)]);
    } else {
      this.mlp_head = new Sequential([
        new Linear(dim, hidden), new ActivationLayer(relu), new Linear(hidden, hidden), new ActivationLayer(relu), new Linear(hidden, dim),
      ]);
    }
  }

  /** [virtual tokens, token_dim]. */
  prompts(): Tensor {
    if (!this.mlp_head) return this.embedding.weight;
    const input = this.lstm_head ? this.lstm_head.forward(this.embedding.weight.unsqueeze(0)).squeeze(0) : this.embedding.weight;
    return this.mlp_head.forward(input);
  }
}
