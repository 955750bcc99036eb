// The OpenAI-compatible HTTP server (fastify): generation routes, /v1/models, vLLM's adapter
// routes, /health and /metrics. Every error leaves in OpenAI's shape with a 4xx/5xx status;
// a bad request never stops the others.
import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ServeError } from './errors.js';
import { generationRoutes } from './generation-routes.js';
import { parseBody } from './openai-params.js';
import type { Service } from './service.js';

export interface HttpOptions {
  /** Requests to /v1 must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Largest request body in bytes (default 4 MiB). */
  bodyLimit?: number;
}

const loadSchema = z.object({ lora_name: z.string().min(1), lora_path: z.string().min(1) });
const unloadSchema = z.object({ lora_name: z.string().min(1) });

export function buildServer(service: Service, options: HttpOptions = {}): FastifyInstance {
  const app = Fastify({ bodyLimit: options.bodyLimit ?? 4 * 2 ** 20, logger: false });

  app.setErrorHandler((error, _request, reply) => {
    const e = toServeError(error);
    if (e.status >= 500) console.error(`peft serve: ${(error as Error).stack ?? String(error)}`);
    void reply.status(e.status).send(e.toJSON());
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send(new ServeError(404, `no route ${request.method} ${request.url}; see /v1/models, /v1/completions, /v1/chat/completions`).toJSON());
  });

  if (options.apiKey !== undefined) {
    const expected = Buffer.from(`Bearer ${options.apiKey}`);
    app.addHook('onRequest', async (request) => {
      if (!request.url.startsWith('/v1/')) return;
      const given = Buffer.from(request.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new ServeError(401, 'a valid API key is needed: send the header "Authorization: Bearer <key>"', null, 'invalid_api_key');
      }
    });
  }

  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/metrics', async (_request, reply) => {
    const { engine, registry } = service;
    const text = engine.metrics.render({
      waiting: () => engine.scheduler.waiting.length,
      running: () => engine.scheduler.running.length,
      kvBlocksInUse: () => engine.pool.inUse,
      kvBlocksTotal: () => engine.pool.numBlocks,
      adaptersResident: () => registry.residentCount,
      preemptions: () => engine.scheduler.preemptions,
    });
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(text);
  });

  app.get('/v1/models', async () => {
    const created = Math.floor(Date.now() / 1000);
    const card = (id: string, parent: string | null) => ({ id, object: 'model', created, owned_by: 'peftjs', root: id, parent, max_model_len: service.contextLength });
    return { object: 'list', data: [card(service.modelName, null), ...service.registry.names().map((n) => card(n, service.modelName))] };
  });

  app.post('/v1/load_lora_adapter', async (request, reply) => {
    const body = parseBody(loadSchema, request.body);
    if (body.lora_name === service.modelName) throw new ServeError(400, `'${body.lora_name}' is the base model's name; pick another adapter name`, 'lora_name');
    await service.registry.add(body.lora_name, body.lora_path);
    return reply.type('text/plain').send(`Success: adapter '${body.lora_name}' added successfully.`);
  });
  app.post('/v1/unload_lora_adapter', async (request, reply) => {
    const body = parseBody(unloadSchema, request.body);
    service.registry.remove(body.lora_name);
    return reply.type('text/plain').send(`Success: adapter '${body.lora_name}' removed successfully.`);
  });

  generationRoutes(app, service);
  return app;
}

/** Fastify's own errors (bad JSON, body too large, wrong content type) in OpenAI's shape. */
function toServeError(error: unknown): ServeError {
  if (error instanceof ServeError) return error;
  const e = error as { statusCode?: number; code?: string; message?: string };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const hint = e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? ' (the request body is larger than the server accepts)' : e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? ' (send a JSON object)' : '';
    return new ServeError(e.statusCode, `${e.message ?? 'bad request'}${hint}`, null, e.code ?? null);
  }
  return new ServeError(500, 'internal server error (see the server log)');
}
