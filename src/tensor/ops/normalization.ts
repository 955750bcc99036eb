// layerNorm and rmsNorm over the last dim, on the fused native kernels. Statistics are computed
// in float32 (float64 for float64 inputs), as HF's LlamaRMSNorm and T5LayerNorm do.
import { ShapeError, formatShape } from '../errors.js';
import { record } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { native } from '../native/index.js';
import { full } from './create-ops.js';
import { castBack, packed, releaseTemp, rowComputeType, floats } from './row-kernels.js';

function rowsOf(x: Tensor): [number, number] {
  const cols = x.shape[x.ndim - 1] ?? 1;
  return [cols === 0 ? 0 : x.size / cols, cols];
}

function checkAffine(name: string, x: Tensor, t: Tensor | null | undefined, what: string): void {
  if (t && (t.ndim !== 1 || t.shape[0] !== x.shape[x.ndim - 1])) {
    throw new ShapeError(`${name}: ${what} ${formatShape(t.shape)} does not fit input ${formatShape(x.shape)} (expected [${x.shape[x.ndim - 1]}])`);
  }
}

const view = (t: Tensor) => floats(t);

/** (x - mean) / √(var + eps) · weight + bias over the last dim (weight and bias optional). */
export function layerNorm(x: Tensor, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  checkAffine('layerNorm', x, weight, 'weight');
  checkAffine('layerNorm', x, bias, 'bias');
  const ct = rowComputeType(x.dtype, 'layerNorm');
  const [rows, cols] = rowsOf(x);
  const xin = packed(x, ct);
  const w = weight ? packed(weight, ct) : null;
  const b = bias ? packed(bias, ct) : null;
  const y = Tensor.empty(x.shape, ct);
  const mean = Tensor.empty([rows], ct);
  const rstd = Tensor.empty([rows], ct);
  if (y.size > 0) native.layerNormForward(view(xin), w && view(w), b && view(b), floats(y), floats(mean), floats(rstd), rows, cols, eps);
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  const out = record(y, 'layerNorm', inputs, (g) => {
    const gy = packed(g, ct);
    const gx = x.requiresGrad ? Tensor.empty(x.shape, ct) : null;
    const gw = weight?.requiresGrad ? full([cols], 0, ct) : null;
    const gb = bias?.requiresGrad ? full([cols], 0, ct) : null;
    if (rows > 0) {
      native.layerNormBackward(view(gy), view(xin), w && view(w), floats(mean), floats(rstd), (gx && floats(gx)), (gw && floats(gw)), (gb && floats(gb)), rows, cols);
    }
    releaseTemp(gy, g);
    return [gx && castBack(gx, x.dtype), ...(weight ? [gw && castBack(gw, weight.dtype)] : []), ...(bias ? [gb && castBack(gb, bias.dtype)] : [])];
  }, [xin, mean, rstd, ...(w ? [w] : [])], []);
  if (!out.requiresGrad) {
    releaseTemp(xin, x);
    mean.dispose();
    rstd.dispose();
  }
  if (w && w !== weight && !out.requiresGrad) w.dispose();
  if (b && b !== bias) b.dispose();
  return out.dtype === x.dtype ? out : out.to(x.dtype);
}

/** weight · x / √(mean(x²) + eps) over the last dim (HF's LlamaRMSNorm / T5LayerNorm). */
export function rmsNorm(x: Tensor, weight?: Tensor | null, eps = 1e-6): Tensor {
  checkAffine('rmsNorm', x, weight, 'weight');
  const ct = rowComputeType(x.dtype, 'rmsNorm');
  const [rows, cols] = rowsOf(x);
  const xin = packed(x, ct);
  const w = weight ? packed(weight, ct) : null;
  const y = Tensor.empty(x.shape, ct);
  const rstd = Tensor.empty([rows], ct);
  if (y.size > 0) native.rmsNormForward(view(xin), w && view(w), floats(y), floats(rstd), rows, cols, eps);
  const inputs = [x, ...(weight ? [weight] : [])];
  const out = record(y, 'rmsNorm', inputs, (g) => {
    const gy = packed(g, ct);
    const gx = x.requiresGrad ? Tensor.empty(x.shape, ct) : null;
    const gw = weight?.requiresGrad ? full([cols], 0, ct) : null;
    if (rows > 0) native.rmsNormBackward(view(gy), view(xin), w && view(w), floats(rstd), (gx && floats(gx)), (gw && floats(gw)), rows, cols);
    releaseTemp(gy, g);
    return [gx && castBack(gx, x.dtype), ...(weight ? [gw && castBack(gw, weight.dtype)] : [])];
  }, [xin, rstd, ...(w ? [w] : [])], []);
  if (!out.requiresGrad) {
    releaseTemp(xin, x);
    rstd.dispose();
    if (w && w !== weight) w.dispose();
  }
  return out.dtype === x.dtype ? out : out.to(x.dtype);
}
