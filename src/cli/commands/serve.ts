// peft serve: one base model and many adapters behind an OpenAI-compatible HTTP API, until
// SIGTERM (or Ctrl-C).
import { once } from 'node:events';
import { checkDType, type DType } from '../../tensor/dtype.js';
import { Service } from '../../serve/service.js';
import { buildServer } from '../../serve/http.js';
import { UsageError } from '../exit-codes.js';
import { checkModelFolder } from '../model-folder.js';

export interface ServeCommandOptions {
  model: string;
  adapter: string[];
  adapterDir: string[];
  host: string;
  port: number;
  dtype: string;
  apiKey?: string;
  servedModelName?: string;
  maxAdapterMb: number;
  kvCacheMb: number;
  blockSize: number;
  maxNumSeqs: number;
  maxQueue: number;
  maxBodyMb: number;
}

/** Starts the server; `onListening` gets its address; resolves when it has stopped. */
export async function serveCommand(o: ServeCommandOptions, onListening: (url: string) => void, stop: Promise<unknown> = once(process, 'SIGTERM')): Promise<void> {
  await checkModelFolder(o.model);
  const adapters = new Map(o.adapter.map((spec) => {
    const at = spec.indexOf('=');
    if (at <= 0 || at === spec.length - 1) throw new UsageError(`--adapter takes name=path, not '${spec}'`);
    return [spec.slice(0, at), spec.slice(at + 1)] as const;
  }));
  let dtype: DType;
  try {
    dtype = checkDType(o.dtype === 'bf16' ? 'bfloat16' : o.dtype === 'fp16' ? 'float16' : o.dtype);
  } catch {
    throw new UsageError(`--dtype must be float32, bfloat16 or float16, not '${o.dtype}'`);
  }
  for (const [flag, value] of [['--kv-cache-mb', o.kvCacheMb], ['--max-adapter-mb', o.maxAdapterMb], ['--max-body-mb', o.maxBodyMb], ['--block-size', o.blockSize], ['--max-num-seqs', o.maxNumSeqs], ['--max-queue', o.maxQueue]] as const) {
    if (!(value > 0)) throw new UsageError(`${flag} must be positive, not ${value}`);
  }
  const service = await Service.open({
    model: o.model, dtype, adapters, adapterDirs: o.adapterDir, servedModelName: o.servedModelName,
    maxAdapterMb: o.maxAdapterMb, kvCacheMb: o.kvCacheMb, blockSize: o.blockSize, maxNumSeqs: o.maxNumSeqs, maxQueue: o.maxQueue,
  });
  const app = buildServer(service, { apiKey: o.apiKey, bodyLimit: Math.round(o.maxBodyMb * 2 ** 20) });
  onListening(await app.listen({ host: o.host, port: o.port }));
  await stop;
  await app.close();
}
