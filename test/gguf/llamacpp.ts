// llama.cpp as a reference for GGUF files, through node-llama-cpp (a dev dependency whose npm
// packages ship llama.cpp's prebuilt CPU binaries; `build: 'never'` makes a missing binary an error,
// never a compile). One llama.cpp instance per test process, on one thread: the machine is shared.
import { getLlama, type Llama, type LlamaModel } from 'node-llama-cpp';

let instance: Promise<Llama> | null = null;

function llamaCpp(): Promise<Llama> {
  instance ??= getLlama({ gpu: false, build: 'never', maxThreads: 1, logLevel: 'error' as never });
  return instance;
}

/** Frees llama.cpp (call in the suite's `after`). */
export async function disposeLlamaCpp(): Promise<void> {
  if (instance === null) return;
  const llama = await instance;
  instance = null;
  await llama.dispose();
}

export interface GreedyOptions {
  /** A GGUF LoRA adapter applied over the model (unmerged, as `--lora`). */
  lora?: string;
  /** llama.cpp's user scale on the adapter; it applies alpha / r itself. */
  loraScale?: number;
}

/**
 * llama.cpp's greedy continuation of `prompt` (token ids, no BOS added): `count` new token ids.
 * Batch 1, one sequence, temperature 0.
 */
export async function llamaCppGreedy(
  modelPath: string,
  prompt: readonly number[],
  count: number,
  options: GreedyOptions = {},
): Promise<number[]> {
  const llama = await llamaCpp();
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  try {
    const lora =
      options.lora === undefined
        ? undefined
        : { adapters: [{ filePath: options.lora, scale: options.loraScale ?? 1 }] };
    const size = prompt.length + count + 16;
    // F32 KV cache and no flash attention (llama.cpp's CPU defaults are an F16 cache and flash attention
    // with F16 products): the comparisons are with peftjs's float32 attention; with the defaults, an
    // amplified (IA)3 adapter's merged model flips a near-tie at the 5th token.
    const context = await model.createContext({
      contextSize: size,
      batchSize: size,
      sequences: 1,
      threads: 1,
      lora,
      experimentalKvCacheKeyType: 'F32',
      experimentalKvCacheValueType: 'F32',
      flashAttention: false,
    });
    try {
      const out: number[] = [];
      for await (const token of context.getSequence().evaluate([...prompt] as never[], { temperature: 0 })) {
        out.push(token);
        if (out.length === count) break;
      }
      return out;
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

/** llama.cpp's token ids for `text` (no BOS added; special tokens as text unless `specialTokens`). */
export async function llamaCppTokenize(modelPath: string, text: string, specialTokens = false): Promise<number[]> {
  return withLlamaCppVocab(modelPath, (model) => [...model.tokenize(text, specialTokens)]);
}

/** llama.cpp's text of token ids (llama_detokenize without removing BOS/EOS; special tokens' text if asked). */
export async function llamaCppDetokenize(
  modelPath: string,
  ids: readonly number[],
  specialTokens: boolean,
): Promise<string> {
  return withLlamaCppVocab(modelPath, (model) => model.detokenize(ids as never[], specialTokens));
}

/** Runs `use` on llama.cpp's vocabulary of a GGUF file (loaded once, without weights). */
export async function withLlamaCppVocab<T>(modelPath: string, use: (model: LlamaModel) => T | Promise<T>): Promise<T> {
  const llama = await llamaCpp();
  const model = await llama.loadModel({ modelPath, gpuLayers: 0, vocabOnly: true });
  try {
    return await use(model);
  } finally {
    await model.dispose();
  }
}
