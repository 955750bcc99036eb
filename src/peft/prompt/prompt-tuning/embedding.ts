// PromptEmbedding (HF's prompt_tuning/model.py): one trainable embedding per virtual token,
// num_virtual_tokens · num_transformer_submodules rows of token_dim.
import { Tensor, noGrad, randint, tensor, embedding as lookup } from '../../../tensor/index.js';
import { Embedding, Module, Parameter } from '../../../nn/index.js';
import type { ResolvedPromptConfig } from '../config.js';
import type { PromptEncoderModule } from '../method.js';
import type { PromptTuningConfig } from './config.js';
import { textInitTokenIds } from './text-init.js';

export class PromptEmbedding extends Module implements PromptEncoderModule {
  embedding: Embedding;

  constructor(config: ResolvedPromptConfig<PromptTuningConfig>, wordEmbeddings: Tensor) {
    super();
    const total = config.numVirtualTokens * config.numTransformerSubmodules;
    this.embedding = new Embedding(total, config.tokenDim);
    // HF initialises from the vocabulary only for training (an inference adapter's values are loaded).
    if (config.inferenceMode || config.promptTuningInit === 'RANDOM') return;
    const ids = config.promptTuningInit === 'TEXT'
      ? tensor(textInitTokenIds(config.promptTuningInitText!, config.tokenizerNameOrPath!, total), [total], 'int64')
      : randint(0, wordEmbeddings.shape[0]!, [total]);
    this.embedding.weight.dispose();
    this.embedding.weight = new Parameter(noGrad(() => lookup(wordEmbeddings, ids).to('float32').contiguous()));
  }

  /** The table itself: HF's forward looks up every row in order. */
  prompts(): Tensor {
    return this.embedding.weight;
  }
}
