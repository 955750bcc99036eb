// On the WebAssembly backend, a model whose weights cannot fit its 4 GiB memory is refused before
// any weight is read or the model is built (each weight must be copied into that memory to be
// computed on, so such a model could never run).
import { backendInfo, ensureFits, isFloating, type DType } from '../tensor/index.js';
import { DTYPES } from '../tensor/dtype.js';

/** A safetensors checkpoint's headers, or a GGUF file's (whose tensors all load as floating point: no dtype). */
interface WeightHeaders {
  keys(): string[];
  info(
    name: string,
  ): { shape: readonly number[]; dtype?: DType } | Promise<{ shape: readonly number[]; dtype?: DType }>;
}

/** Bytes the weights take once loaded: floating tensors in `dtype`, the others as stored. */
export async function loadedBytes(weights: WeightHeaders, dtype: DType): Promise<number> {
  let bytes = 0;
  for (const key of weights.keys()) {
    const info = await weights.info(key);
    const numel = info.shape.reduce((a, b) => a * b, 1);
    bytes += numel * DTYPES[info.dtype === undefined || isFloating(info.dtype) ? dtype : info.dtype].bytes;
  }
  return bytes;
}

/**
 * Throws WasmMemoryLimitError when the backend is WebAssembly and the weights loaded in `dtype`
 * exceed its memory. A load that quantises (bnb options, or a GGUF file's blocks kept as they are)
 * shrinks them by a factor these headers do not tell, so it is not checked here (an allocation
 * that fails still raises the typed error).
 */
export async function ensureModelFitsBackend(
  weights: WeightHeaders,
  dtype: DType,
  where: string,
  quantizing: boolean,
): Promise<void> {
  if (quantizing || backendInfo().name !== 'wasm') return;
  ensureFits(await loadedBytes(weights, dtype), `${where} (in ${dtype})`);
}
