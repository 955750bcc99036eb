// A request's decoding settings, checked once when it arrives.
export interface SamplingParams {
  maxTokens: number;
  /** 0 = greedy. */
  temperature: number;
  topP: number;
  /** 0 or -1 = off. */
  topK: number;
  /** HF/CTRL penalty over prompt and output tokens; 1 = off. */
  repetitionPenalty: number;
  /** OpenAI's penalties over the output so far; 0 = off. */
  presencePenalty: number;
  frequencyPenalty: number;
  seed: number | null;
  stop: string[];
  stopTokenIds: number[];
  ignoreEos: boolean;
  /** Log-probabilities of the chosen tokens and this many alternatives (null = none). */
  logprobs: number | null;
}

export const DEFAULT_SAMPLING: SamplingParams = {
  maxTokens: 16,
  temperature: 1,
  topP: 1,
  topK: 0,
  repetitionPenalty: 1,
  presencePenalty: 0,
  frequencyPenalty: 0,
  seed: null,
  stop: [],
  stopTokenIds: [],
  ignoreEos: false,
  logprobs: null,
};
