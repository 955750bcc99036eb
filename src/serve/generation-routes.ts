// POST /v1/completions and /v1/chat/completions: the prompt (text, token ids, or chat messages
// rendered with the model's chat template) through the engine, answered whole or streamed as
// server-sent events ending with `data: [DONE]`. A client that goes away cancels its sequences.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PeftError } from '../tensor/index.js';
import { ChoiceRun, type ChoiceDelta } from './choices.js';
import { ServeError } from './errors.js';
import { chatSchema, completionSchema, parseBody, samplingOf, type ChatBody } from './openai-params.js';
import { chatChoice, chatChunk, completionChoice, completionChunk, usage, type FormatContext } from './openai-format.js';
import type { Service } from './service.js';

export function generationRoutes(app: FastifyInstance, service: Service): void {
  const tok = () => {
    if (service.tokenizer === null) throw new ServeError(400, 'this model folder has no tokenizer: send prompts as token ids');
    return service.tokenizer;
  };

  app.post('/v1/completions', async (request, reply) => {
    const body = parseBody(completionSchema, request.body);
    const p = body.prompt;
    const prompts: number[][] = typeof p === 'string' ? [tok().encode(p)] : typeof p[0] === 'number' ? [p as number[]] : typeof p[0] === 'string' ? (p as string[]).map((s) => tok().encode(s)) : (p as number[][]);
    const params = samplingOf(body, 16, body.logprobs ?? null);
    const x = context(service, 'cmpl', body.model, body.logprobs !== null && body.logprobs !== undefined, body.return_token_ids ?? false);
    const run = await ChoiceRun.start(service, body.model, prompts, body.n ?? 1, params);
    if (body.stream) {
      const offsets = new Map<number, number>();
      return stream(request, reply, service, run, body.stream_options?.include_usage ?? false, x, (d) => {
        const offset = offsets.get(d.index) ?? 0;
        offsets.set(d.index, offset + d.text.length);
        return completionChunk(d, x, offset);
      });
    }
    await whole(request, reply, service, run);
    return { id: x.id, object: 'text_completion', created: x.created, model: x.model, choices: run.choices.map((c) => completionChoice(c, x)), usage: usage(run.promptTokens, run.completionTokens) };
  });

  app.post('/v1/chat/completions', async (request, reply) => {
    const body = parseBody(chatSchema, request.body);
    const prompt = renderChat(service, body);
    const remaining = Math.max(1, service.contextLength - prompt.length);
    const topLogprobs = body.logprobs ? (body.top_logprobs ?? 0) : null;
    const params = samplingOf(body, remaining, topLogprobs);
    const x = context(service, 'chatcmpl', body.model, body.logprobs ?? false, body.return_token_ids ?? false);
    const run = await ChoiceRun.start(service, body.model, [prompt], body.n ?? 1, params);
    if (body.stream) {
      const started = new Set<number>();
      return stream(request, reply, service, run, body.stream_options?.include_usage ?? false, x, (d) => {
        const first = !started.has(d.index);
        started.add(d.index);
        return chatChunk(d, x, first);
      });
    }
    await whole(request, reply, service, run);
    return {
      id: x.id, object: 'chat.completion', created: x.created, model: x.model,
      choices: run.choices.map((c) => chatChoice(c, x)),
      usage: usage(run.promptTokens, run.completionTokens),
      ...(x.returnTokenIds ? { prompt_token_ids: prompt } : {}),
    };
  });
}

function context(service: Service, kind: string, model: string, wantLogprobs: boolean, returnTokenIds: boolean): FormatContext {
  const tok = service.tokenizer ?? { decode: (ids: readonly number[]) => ids.join(' ') };
  return { id: `${kind}-${randomUUID().replaceAll('-', '')}`, created: Math.floor(Date.now() / 1000), model, tok, wantLogprobs, returnTokenIds };
}

function renderChat(service: Service, body: ChatBody): number[] {
  if (service.tokenizer === null) throw new ServeError(400, 'this model folder has no tokenizer, so chat messages cannot be rendered; use /v1/completions with token ids');
  const messages = body.messages.map((m) => ({ ...m, content: Array.isArray(m.content) ? m.content.map((part) => part.text).join('') : (m.content ?? '') }));
  try {
    return service.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
  } catch (error) {
    if (error instanceof PeftError) throw new ServeError(400, `the messages cannot be rendered with this model's chat template: ${error.message}`, 'messages');
    throw error;
  }
}

/** Cancels the run if the client goes away before it ends. */
function cancelOnClose(request: FastifyRequest, reply: FastifyReply, service: Service, run: ChoiceRun): void {
  const onClose = () => {
    if (!reply.raw.writableEnded) run.cancel(service);
  };
  reply.raw.on('close', onClose);
  request.raw.on('close', () => {
    if (request.raw.destroyed && !reply.raw.writableEnded) onClose();
  });
}

async function whole(request: FastifyRequest, reply: FastifyReply, service: Service, run: ChoiceRun): Promise<void> {
  cancelOnClose(request, reply, service, run);
  await run.done;
  if (run.choices.some((c) => c.finishReason === 'abort')) throw new ServeError(500, 'the model failed on this request (see the server log); other requests are unaffected');
}

/** Server-sent events: one `data:` line per piece of output, the usage if asked, then `data: [DONE]`. */
async function stream(request: FastifyRequest, reply: FastifyReply, service: Service, run: ChoiceRun, includeUsage: boolean, x: FormatContext, chunk: (d: ChoiceDelta) => object): Promise<void> {
  reply.hijack();
  const out = reply.raw;
  out.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const send = (data: unknown) => out.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  // Output produced while the choices were being submitted comes first.
  for (const c of run.choices) {
    if (c.tokens.length > 0 || c.finishReason !== null) send(chunk({ index: c.index, text: c.text, tokens: c.tokens, logprobs: c.logprobs, finishReason: c.finishReason }));
  }
  run.onDelta = (d) => {
    if (d.text !== '' || d.tokens.length > 0 || d.finishReason !== null) send(chunk(d));
  };
  cancelOnClose(request, reply, service, run);
  await run.done;
  if (includeUsage) send({ id: x.id, object: x.id.startsWith('chat') ? 'chat.completion.chunk' : 'text_completion', created: x.created, model: x.model, choices: [], usage: usage(run.promptTokens, run.completionTokens) });
  send('[DONE]');
  out.end();
}
