// Where bottleneck adapters go in each architecture: the sublayer outputs that sequential adapters
// wrap (h + f(h)), and the feed-forward module that parallel adapters wrap (mlp(x) + s·f(x)).
// Paths are regexes for the end of a module path.
import { TargetModulesError } from '../../errors.js';
import { isParallel, type AdapterType } from './config.js';

interface Placements {
  /** The attention sublayer's output projection (before the residual sum / LayerNorm). */
  attentionOutput: string;
  /** The feed-forward sublayer's output projection. */
  feedForwardOutput: string;
  /** The module a parallel adapter wraps: the whole feed-forward block, or its residual-adding output. */
  feedForward: string;
}

const LLAMA: Placements = { attentionOutput: String.raw`self_attn\.o_proj`, feedForwardOutput: String.raw`mlp\.down_proj`, feedForward: 'mlp' };
// BERT's feed-forward is spread over `intermediate` and `output`, which also adds the residual and
// normalises: a parallel adapter wraps `output` and adds its term to the residual before that sum.
const BERT: Placements = { attentionOutput: String.raw`attention\.output\.dense`, feedForwardOutput: String.raw`layer\.\d+\.output\.dense`, feedForward: String.raw`layer\.\d+\.output` };

const PLACEMENTS: Record<string, Placements> = {
  gpt2: { attentionOutput: String.raw`attn\.c_proj`, feedForwardOutput: String.raw`mlp\.c_proj`, feedForward: 'mlp' },
  llama: LLAMA,
  qwen2: LLAMA,
  mistral: LLAMA,
  bert: BERT,
  roberta: BERT,
  t5: { attentionOutput: String.raw`SelfAttention\.o`, feedForwardOutput: String.raw`DenseReluDense\.wo`, feedForward: 'DenseReluDense' },
  vit: { attentionOutput: String.raw`attention\.o_proj`, feedForwardOutput: String.raw`mlp\.fc2`, feedForward: 'mlp' },
};

/** The target_modules regex of `type` in an architecture of `modelType`. */
export function placementTargets(modelType: string, type: AdapterType): string {
  const p = PLACEMENTS[modelType];
  if (p === undefined) {
    throw new TargetModulesError(
      `bottleneck adapters know no placement for model_type '${modelType}' (known: ${Object.keys(PLACEMENTS).join(', ')}); ` +
        'give targetModules: the sublayers\' output projections (sequential types) or the feed-forward modules (parallel types)',
    );
  }
  const paths = isParallel(type) ? [p.feedForward] : type === 'houlsby' ? [p.attentionOutput, p.feedForwardOutput] : [p.feedForwardOutput];
  return `(?:.*\\.)?(?:${paths.join('|')})`;
}
