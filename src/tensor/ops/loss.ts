// crossEntropy fused with logSoftmax (PyTorch semantics: ignore index, label smoothing, mean over
// the targets that count).
import { DTypeError, ShapeError, ValueError, formatShape } from '../errors.js';
import { record } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { native } from '../native/index.js';
import { full } from './create-ops.js';
import { castBack, packed, releaseTemp, rowComputeType, elements, floats } from './row-kernels.js';

export interface CrossEntropyOptions {
  /** Targets with this value contribute nothing (default -100). */
  ignoreIndex?: number;
  /** 'mean' over non-ignored targets (default), 'sum', or 'none' (per row). */
  reduction?: 'mean' | 'sum' | 'none';
  /** ε: the target distribution is (1-ε)·one-hot + ε/classes. */
  labelSmoothing?: number;
}

/** Cross-entropy of logits [N, C] (or [C]) against class indices [N] (int32/int64). */
export function crossEntropy(logits: Tensor, targets: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const ignoreIndex = options.ignoreIndex ?? -100;
  const reduction = options.reduction ?? 'mean';
  const smoothing = options.labelSmoothing ?? 0;
  if (!(smoothing >= 0 && smoothing <= 1)) throw new ValueError(`crossEntropy: labelSmoothing must be in [0, 1], not ${smoothing}`);
  if (targets.dtype !== 'int32' && targets.dtype !== 'int64') {
    throw new DTypeError(`crossEntropy: targets must be int32 or int64 class indices, not ${targets.dtype}`);
  }
  const x2 = logits.ndim === 1 ? logits.unsqueeze(0) : logits;
  const t1 = targets.ndim === 0 ? targets.reshape([1]) : targets;
  if (x2.ndim !== 2 || t1.ndim !== 1 || t1.shape[0] !== x2.shape[0]) {
    throw new ShapeError(`crossEntropy: logits ${formatShape(logits.shape)} and targets ${formatShape(targets.shape)} do not fit; expected [N, C] and [N]`);
  }
  const [rows, classes] = x2.shape as [number, number];
  const ct = rowComputeType(logits.dtype, 'crossEntropy');
  const xin = packed(x2, ct);
  const tin = targets.isContiguous() ? t1 : t1.contiguous();
  const tArr = elements<Int32Array | BigInt64Array>(tin);
  const losses = Tensor.empty([rows], ct);
  const lse = Tensor.empty([rows], ct);
  const xArr = floats(xin);
  if (rows > 0) native.crossEntropyForward(xArr, tArr, floats(losses), floats(lse), rows, classes, ignoreIndex, smoothing);
  let counted = rows;
  if (reduction === 'mean') {
    counted = 0;
    for (let i = 0; i < rows; i++) if (Number(tArr[i]) !== ignoreIndex) counted++;
  }
  const perRow = losses.toFlatArray();
  const total = perRow.reduce((s, v) => s + v, 0);
  const value = reduction === 'none' ? losses : full([], reduction === 'mean' ? total / counted : total, ct);
  if (reduction !== 'none') losses.dispose();
  const out = record(value, 'crossEntropy', [x2], (g) => {
    const gLoss = reduction === 'none' ? packed(g, ct) : full([rows], g.item() / (reduction === 'mean' ? counted : 1), ct);
    const gx = Tensor.empty(x2.shape, ct);
    native.crossEntropyBackward(xArr, tArr, floats(lse), floats(gLoss), floats(gx), rows, classes, ignoreIndex, smoothing);
    releaseTemp(gLoss, g);
    return [castBack(gx, logits.dtype)];
  }, [xin, lse, tin]);
  if (!out.requiresGrad) {
    releaseTemp(xin, x2);
    lse.dispose();
  }
  return out;
}
