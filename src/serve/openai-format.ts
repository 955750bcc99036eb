// Response bodies in OpenAI's shapes (and vLLM's token-id fields), for whole responses and
// server-sent-event chunks.
import type { Choice, ChoiceDelta } from './choices.js';
import type { TokenLogprob } from './sampler.js';

export interface Detok {
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export const usage = (prompt: number, completion: number): Usage => ({ prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion });

/** Completions' logprobs: tokens, their log-probabilities, the alternatives and text offsets. */
export function completionLogprobs(lps: readonly TokenLogprob[], tok: Detok, startOffset = 0): object {
  let offset = startOffset;
  const piece = (t: number) => tok.decode([t]);
  return {
    tokens: lps.map((lp) => piece(lp.token)),
    token_logprobs: lps.map((lp) => lp.logprob),
    top_logprobs: lps.map((lp) => Object.fromEntries(lp.top.map((a) => [piece(a.token), a.logprob]))),
    text_offset: lps.map((lp) => {
      const at = offset;
      offset += piece(lp.token).length;
      return at;
    }),
  };
}

/** Chat's logprobs: one entry per token with its bytes and alternatives. */
export function chatLogprobs(lps: readonly TokenLogprob[], tok: Detok): object {
  const entry = (t: number, logprob: number) => {
    const token = tok.decode([t]);
    return { token, logprob, bytes: [...Buffer.from(token, 'utf8')] };
  };
  return { content: lps.map((lp) => ({ ...entry(lp.token, lp.logprob), top_logprobs: lp.top.map((a) => entry(a.token, a.logprob)) })) };
}

export interface FormatContext {
  id: string;
  created: number;
  model: string;
  tok: Detok;
  wantLogprobs: boolean;
  returnTokenIds: boolean;
}

export function completionChoice(c: Choice, x: FormatContext): object {
  return {
    index: c.index,
    text: c.text,
    logprobs: x.wantLogprobs ? completionLogprobs(c.logprobs, x.tok) : null,
    finish_reason: c.finishReason,
    ...(x.returnTokenIds ? { prompt_token_ids: c.promptTokens, token_ids: c.tokens } : {}),
  };
}

export function chatChoice(c: Choice, x: FormatContext): object {
  return {
    index: c.index,
    message: { role: 'assistant', content: c.text },
    logprobs: x.wantLogprobs ? chatLogprobs(c.logprobs, x.tok) : null,
    finish_reason: c.finishReason,
    ...(x.returnTokenIds ? { token_ids: c.tokens } : {}),
  };
}

export function completionChunk(d: ChoiceDelta, x: FormatContext, offset: number): object {
  return {
    id: x.id, object: 'text_completion', created: x.created, model: x.model,
    choices: [{
      index: d.index,
      text: d.text,
      logprobs: x.wantLogprobs ? completionLogprobs(d.logprobs, x.tok, offset) : null,
      finish_reason: d.finishReason,
      ...(x.returnTokenIds ? { token_ids: d.tokens } : {}),
    }],
  };
}

export function chatChunk(d: ChoiceDelta, x: FormatContext, first: boolean): object {
  const delta = first ? { role: 'assistant', content: d.text } : d.finishReason !== null && d.text === '' ? {} : { content: d.text };
  return {
    id: x.id, object: 'chat.completion.chunk', created: x.created, model: x.model,
    choices: [{
      index: d.index,
      delta,
      logprobs: x.wantLogprobs ? chatLogprobs(d.logprobs, x.tok) : null,
      finish_reason: d.finishReason,
      ...(x.returnTokenIds ? { token_ids: d.tokens } : {}),
    }],
  };
}
