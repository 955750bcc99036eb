// Generation with a prompt-learning adapter (HF's prepare_inputs_for_generation for prompt
// learning): at the first step the virtual tokens are prepended to the prompt's embeddings, or
// their keys and values seed the cache; every step's attention mask covers them. The models'
// own greedy/sampling loops run unchanged over these step functions.
import type { Tensor } from '../../tensor/index.js';
import { concat, ones } from '../../tensor/index.js';
import { generateSeq2Seq, type ModelInputs, type Seq2SeqStepModel, type DecodeInputs } from '../../models/index.js';
import { generate, type CausalStepModel, type GenerateOptions } from '../../models/generation.js';
import { promptEmbeddings, seedPrefixes } from './forward.js';
import { wordEmbeddings } from './model-checks.js';
import type { PromptTunerModel } from './tuner-model.js';

function withPromptMask(mask: Tensor | undefined, tokens: number): Tensor | undefined {
  return mask && concat([ones([mask.shape[0]!, tokens], mask.dtype), mask], 1);
}

export function promptGenerate(tuner: PromptTunerModel, inputIds: Tensor, options: GenerateOptions): Tensor {
  const model = tuner.pretrained as unknown as CausalStepModel & Partial<Seq2SeqStepModel>;
  const config = tuner.activeConfig();
  const tokens = config.numVirtualTokens;
  const keysValues = tuner.promptMethod.promptLearning.injects === 'keys-values';
  if (config.taskType === 'SEQ_2_SEQ_LM') {
    const seq2seq = model as unknown as Seq2SeqStepModel;
    const step: Seq2SeqStepModel = {
      config: seq2seq.config,
      encode: (inputs: ModelInputs) => {
        if (keysValues) return seq2seq.encode(inputs);
        const embeds = wordEmbeddings(tuner.pretrained).forward(inputs.inputIds!);
        const inputsEmbeds = concat([promptEmbeddings(tuner.activeEncoder(), embeds.shape[0]!, tokens).to(embeds.dtype), embeds], 1);
        return seq2seq.encode({ inputsEmbeds, attentionMask: withPromptMask(inputs.attentionMask, tokens) });
      },
      decode: (inputs: DecodeInputs) => {
        if (keysValues) {
          if (inputs.cache && inputs.cache.length === 0) seedPrefixes(tuner, inputs.cache, inputs.decoderInputIds.shape[0]!);
          return seq2seq.decode(inputs);
        }
        return seq2seq.decode({ ...inputs, encoderAttentionMask: withPromptMask(inputs.encoderAttentionMask, tokens) });
      },
    };
    return generateSeq2Seq(step, inputIds, options);
  }
  const step: CausalStepModel = {
    config: model.config,
    // Position ids are dropped as HF does: positions count the virtual tokens too.
    forward: ({ positionIds: _ignored, ...inputs }: ModelInputs) => {
      const cache = inputs.pastKeyValues!;
      const first = cache.length === 0;
      const attentionMask = withPromptMask(inputs.attentionMask, tokens);
      const batch = inputs.inputIds!.shape[0]!;
      if (keysValues) {
        if (first) seedPrefixes(tuner, cache, batch);
        return model.forward({ ...inputs, attentionMask });
      }
      if (!first) return model.forward({ ...inputs, attentionMask });
      const embeds = wordEmbeddings(tuner.pretrained).forward(inputs.inputIds!);
      const inputsEmbeds = concat([promptEmbeddings(tuner.activeEncoder(), batch, tokens).to(embeds.dtype), embeds], 1);
      return model.forward({ ...inputs, inputIds: undefined, inputsEmbeds, attentionMask });
    },
  };
  return generate(step, inputIds, options);
}
