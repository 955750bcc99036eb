// softmax and logSoftmax over one dim, on the fused native row kernels.
import { record } from '../autograd.js';
import { normalizeDim } from '../shape.js';
import { Tensor } from '../tensor.js';
import { native } from '../native/index.js';
import { castBack, packed, releaseTemp, rowComputeType, floats } from './row-kernels.js';
import { method } from './method.js';

type Floats = Float32Array | Float64Array;
type RowForward = (x: Floats, y: Floats, rows: number, cols: number) => void;
type RowBackward = (y: Floats, gy: Floats, gx: Floats, rows: number, cols: number) => void;

function rowwise(name: string, x: Tensor, dim: number, forward: RowForward, backward: RowBackward): Tensor {
  const d = normalizeDim(dim, x.ndim);
  if (d !== x.ndim - 1) return rowwise(name, x.transpose(d, -1), -1, forward, backward).transpose(d, -1);
  const ct = rowComputeType(x.dtype, name);
  const cols = x.shape[x.ndim - 1] ?? 1;
  const rows = cols === 0 ? 0 : x.size / cols;
  const xin = packed(x, ct);
  const y = Tensor.empty(x.shape, ct);
  if (y.size > 0) forward(floats(xin), floats(y), rows, cols);
  releaseTemp(xin, x);
  const out = record(y, name, [x], (g) => {
    const gy = packed(g, ct);
    const gx = Tensor.empty(x.shape, ct);
    if (gx.size > 0) backward(floats(y), floats(gy), floats(gx), rows, cols);
    releaseTemp(gy, g);
    return [castBack(gx, x.dtype)];
  }, [y]);
  return out.dtype === x.dtype ? out : out.to(x.dtype);
}

/** exp(x) / sum(exp(x)) along `dim`, computed stably (16-bit inputs in float32). */
export function softmax(x: Tensor, dim = -1): Tensor {
  return rowwise('softmax', x, dim, native.softmaxForward, native.softmaxBackward);
}

/** log(softmax(x)) along `dim`, computed stably. */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return rowwise('logSoftmax', x, dim, native.logSoftmaxForward, native.logSoftmaxBackward);
}

declare module '../tensor.js' {
  interface Tensor {
    softmax(dim?: number): Tensor;
    logSoftmax(dim?: number): Tensor;
  }
}

Object.assign(Tensor.prototype, { softmax: method(softmax), logSoftmax: method(logSoftmax) });
