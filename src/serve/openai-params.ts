// The OpenAI request bodies this server accepts, checked field by field: anything out of range
// is a 400 naming the field and what it may be. Unknown fields are ignored, as OpenAI's clients
// send some (user, ...) that do not change the output.
import { z } from 'zod';
import { ServeError } from './errors.js';
import { DEFAULT_SAMPLING, type SamplingParams } from './sampling-params.js';

const tokenIds = z.array(z.number().int().nonnegative()).min(1);
const common = {
  model: z.string().min(1),
  max_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  top_k: z.number().int().min(-1).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  repetition_penalty: z.number().gt(0).max(10).nullish(),
  seed: z.number().int().min(-(2 ** 53)).max(2 ** 53).nullish(),
  stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(16)]).nullish(),
  stop_token_ids: z.array(z.number().int().nonnegative()).max(64).nullish(),
  ignore_eos: z.boolean().nullish(),
  n: z.number().int().min(1).max(16).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  return_token_ids: z.boolean().nullish(),
};

export const completionSchema = z.looseObject({
  ...common,
  prompt: z.union([z.string(), z.array(z.string()).min(1).max(64), tokenIds, z.array(tokenIds).min(1).max(64)]),
  logprobs: z.number().int().min(0).max(20).nullish(),
  echo: z.literal(false).nullish(),
  suffix: z.null().optional(),
});

const textPart = z.object({ type: z.literal('text'), text: z.string() });
export const chatSchema = z.looseObject({
  ...common,
  messages: z.array(z.looseObject({ role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']), content: z.union([z.string(), z.array(textPart), z.null()]).optional() })).min(1),
  max_completion_tokens: z.number().int().min(1).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
});

export type CompletionBody = z.infer<typeof completionSchema>;
export type ChatBody = z.infer<typeof chatSchema>;

/** Parses `body` with `schema`; the first problem becomes a 400 naming the field. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ServeError(400, 'the request body must be a JSON object');
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const param = issue.path.join('.') || null;
  throw new ServeError(400, `${param ?? 'body'}: ${issue.message}`, param);
}

/** The sampling settings of a request; `maxTokens` is the default when it gives none. */
export function samplingOf(body: CompletionBody | ChatBody, maxTokens: number, logprobs: number | null): SamplingParams {
  const stop = body.stop === null || body.stop === undefined ? [] : [body.stop].flat();
  return {
    ...DEFAULT_SAMPLING,
    maxTokens: ((body as ChatBody).max_completion_tokens ?? body.max_tokens ?? maxTokens) as number,
    temperature: body.temperature ?? 1,
    topP: body.top_p ?? 1,
    topK: body.top_k === -1 ? 0 : (body.top_k ?? 0),
    presencePenalty: body.presence_penalty ?? 0,
    frequencyPenalty: body.frequency_penalty ?? 0,
    repetitionPenalty: body.repetition_penalty ?? 1,
    seed: body.seed ?? null,
    stop,
    stopTokenIds: body.stop_token_ids ?? [],
    ignoreEos: body.ignore_eos ?? false,
    logprobs,
  };
}
