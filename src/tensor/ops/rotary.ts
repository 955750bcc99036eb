// Rotary position embedding in HF's rotate_half convention: x·cos + rotate_half(x)·sin.
import { ShapeError, formatShape } from '../errors.js';
import { record } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { native } from '../native/index.js';
import { castBack, packed, releaseTemp, rowComputeType, floats } from './row-kernels.js';

/**
 * Rotates x [batch, heads, seq, dim] by the tables cos/sin ([seq, dim] or [batch, seq, dim]).
 * Differentiable in x (the tables are constants).
 */
export function applyRotaryEmb(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  if (x.ndim !== 4) throw new ShapeError(`applyRotaryEmb: x must be [batch, heads, seq, dim], not ${formatShape(x.shape)}`);
  const [B, H, S, D] = x.shape as [number, number, number, number];
  const tableShape = cos.ndim === 2 ? [1, ...cos.shape] : cos.shape;
  const cosBatch = tableShape[0]!;
  if (D % 2 !== 0 || tableShape.length !== 3 || tableShape[1] !== S || tableShape[2] !== D || (cosBatch !== 1 && cosBatch !== B) || sin.shape.join() !== cos.shape.join()) {
    throw new ShapeError(`applyRotaryEmb: tables ${formatShape(cos.shape)} / ${formatShape(sin.shape)} do not fit x ${formatShape(x.shape)} (expected [${S}, ${D}] or [${B}, ${S}, ${D}], even dim)`);
  }
  const ct = rowComputeType(x.dtype, 'applyRotaryEmb');
  const xin = packed(x, ct);
  const c = packed(cos, ct);
  const s = packed(sin, ct);
  const arr = (t: Tensor) => floats(t);
  const out = Tensor.empty(x.shape, ct);
  if (out.size > 0) native.ropeForward(arr(xin), arr(c), arr(s), floats(out), B, H, S, D, cosBatch);
  releaseTemp(xin, x);
  const y = record(out, 'rotary', [x], (g) => {
    const gin = packed(g, ct);
    const gx = Tensor.empty(x.shape, ct);
    if (gx.size > 0) native.ropeBackward(arr(gin), arr(c), arr(s), floats(gx), B, H, S, D, cosBatch);
    releaseTemp(gin, g);
    return [castBack(gx, x.dtype)];
  }, [c, s], []);
  return y.dtype === x.dtype ? y : y.to(x.dtype);
}
