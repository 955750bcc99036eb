// Prompt-learning methods (soft prompts): prompt tuning, prefix tuning (and P-tuning v2's deep
// prompts), P-tuning. Importing this registers all three.
import './prompt-tuning/index.js';
import './prefix-tuning/index.js';
import './p-tuning/index.js';

export * from './prompt-tuning/index.js';
export * from './prefix-tuning/index.js';
export * from './p-tuning/index.js';
export { isPromptLearning, type PromptLearningMethod, type PromptLearningHooks, type PromptEncoderModule } from './method.js';
export { resolveSizes, type PromptLearningConfig, type ResolvedPromptConfig } from './config.js';
export { PromptTunerModel } from './tuner-model.js';
export { promptForward } from './forward.js';
export { promptGenerate } from './generation.js';
export { promptStateDict, promptSavedTensors, PROMPT_EMBEDDINGS } from './state-dict.js';
export { wordEmbeddings } from './model-checks.js';
