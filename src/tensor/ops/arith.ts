// Differentiable elementwise arithmetic with broadcasting: add, sub, mul, div, pow, maximum,
// minimum, where, comparisons (no gradient), and the unary math and activation functions.
import { isFloating } from '../dtype.js';
import { record } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { BinaryOp, UnaryOp } from '../native/elementwise.js';
import { binaryKernel, toTensors, unaryKernel, whereKernel, type Operand } from './elementwise-kernels.js';
import { sumToShape } from './reduce.js';
import { method } from './method.js';

function binaryWithGrad(
  name: string,
  op: BinaryOp,
  x: Operand,
  y: Operand,
  grads: (g: Tensor, a: Tensor, b: Tensor, out: Tensor) => [Tensor | null, Tensor | null],
  // Whether `grads` reads the output (div, pow): only then is it saved for backward, so that an
  // output nothing else reads may be written into or freed (peft/row-blocks.ts). `reads`: the
  // inputs it reads (both when absent), so that an input nothing else reads may be freed early.
  { readsOut = false, reads }: { readsOut?: boolean; reads?: (a: Tensor, b: Tensor) => Tensor[] } = {},
): Tensor {
  const [a, b] = toTensors(x, y);
  const out = binaryKernel(op, a, b);
  return record(out, name, [a, b], (g) => {
    const [ga, gb] = grads(g, a, b, out);
    return [ga && a.requiresGrad ? sumToShape(ga, a.shape) : null, gb && b.requiresGrad ? sumToShape(gb, b.shape) : null];
  }, readsOut ? [out] : [], reads?.(a, b));
}

export function add(a: Operand, b: Operand): Tensor {
  return binaryWithGrad('add', BinaryOp.add, a, b, (g) => [g, g], { reads: () => [] });
}

export function sub(a: Operand, b: Operand): Tensor {
  return binaryWithGrad('sub', BinaryOp.sub, a, b, (g, _a, b) => [g, b.requiresGrad ? neg(g) : null], { reads: () => [] });
}

export function mul(a: Operand, b: Operand): Tensor {
  return binaryWithGrad('mul', BinaryOp.mul, a, b, (g, a, b) => [
    a.requiresGrad ? mul(g, b) : null,
    b.requiresGrad ? mul(g, a) : null,
  ], { reads: (a, b) => [...(a.requiresGrad ? [b] : []), ...(b.requiresGrad ? [a] : [])] });
}

export function div(a: Operand, b: Operand): Tensor {
  return binaryWithGrad('div', BinaryOp.div, a, b, (g, a, b, out) => [
    a.requiresGrad ? div(g, b) : null,
    b.requiresGrad ? neg(div(mul(g, out), b)) : null,
  ], { readsOut: true, reads: (_a, b) => [b] });
}

/** a ** b elementwise (either may be a number). */
export function pow(a: Operand, b: Operand): Tensor {
  if (typeof b === 'number' && a instanceof Tensor) return powScalar(a, b);
  return binaryWithGrad('pow', BinaryOp.pow, a, b, (g, a, b, out) => [
    a.requiresGrad ? mul(mul(g, b), pow(a, sub(b, 1))) : null,
    b.requiresGrad ? mul(mul(g, out), log(a)) : null,
  ], { readsOut: true });
}

/** Elementwise maximum; on ties the gradient is split evenly, as in PyTorch. */
export function maximum(a: Operand, b: Operand): Tensor {
  return binaryWithGrad('maximum', BinaryOp.maximum, a, b, (g, a, b) => tieSplit(g, a, b, BinaryOp.gt));
}

export function minimum(a: Operand, b: Operand): Tensor {
  return binaryWithGrad('minimum', BinaryOp.minimum, a, b, (g, a, b) => tieSplit(g, a, b, BinaryOp.lt));
}

function tieSplit(g: Tensor, a: Tensor, b: Tensor, wins: BinaryOp): [Tensor, Tensor] {
  const weightA = add(binaryKernel(wins, a, b), mul(binaryKernel(BinaryOp.eq, a, b), 0.5));
  return [mul(g, weightA), mul(g, sub(1, weightA))];
}

export function atan2(a: Operand, b: Operand): Tensor {
  return binaryWithGrad('atan2', BinaryOp.atan2, a, b, (g, a, b) => {
    const denom = add(mul(a, a), mul(b, b));
    return [div(mul(g, b), denom), neg(div(mul(g, a), denom))];
  });
}

/** cond ? a : b elementwise, broadcast; gradients flow to the chosen side. */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  const [x, y] = toTensors(a, b);
  const out = whereKernel(cond, x, y);
  return record(out, 'where', [x, y], (g) => [
    x.requiresGrad ? sumToShape(whereKernel(cond, g, zeroLike(g)), x.shape) : null,
    y.requiresGrad ? sumToShape(whereKernel(cond, zeroLike(g), g), y.shape) : null,
  ], [cond], []);
}

function zeroLike(g: Tensor): Tensor {
  return unaryKernel(UnaryOp.mulScalar, g, 0);
}

/** Sets elements where `mask` is true to `value` (broadcast), differentiable in x. */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  return where(mask, value, x);
}

const compare = (op: BinaryOp) => (a: Operand, b: Operand) => binaryKernel(op, ...toTensors(a, b));
export const eq = compare(BinaryOp.eq);
export const ne = compare(BinaryOp.ne);
export const lt = compare(BinaryOp.lt);
export const le = compare(BinaryOp.le);
export const gt = compare(BinaryOp.gt);
export const ge = compare(BinaryOp.ge);
export const logicalAnd = compare(BinaryOp.and);
export const logicalOr = compare(BinaryOp.or);
export function logicalNot(x: Tensor): Tensor {
  const out = unaryKernel(UnaryOp.logicalNot, x.dtype === 'bool' ? x : ne(x, 0));
  return out.dtype === 'bool' ? out : binaryKernel(BinaryOp.ne, out, toTensors(out, 0)[1]);
}

/** Which of x and the output a unary op's gradient reads (both unless an op says). */
type UnaryReads = 'x' | 'out' | 'none' | 'both';

function unaryWithGrad(
  name: string,
  op: UnaryOp,
  x: Tensor,
  grad: (g: Tensor, x: Tensor, out: Tensor) => Tensor,
  s0 = 0,
  s1 = 0,
  reads: UnaryReads = 'both',
): Tensor {
  const out = unaryKernel(op, x, s0, s1);
  if (!isFloating(out.dtype)) return out;
  const readsX = reads === 'x' || reads === 'both';
  const readsOut = reads === 'out' || reads === 'both';
  return record(out, name, [x], (g) => [grad(g, x, out)], readsOut ? [out] : [], readsX ? [x] : []);
}

export const neg = (x: Tensor): Tensor => unaryWithGrad('neg', UnaryOp.neg, x, (g) => neg(g), 0, 0, 'none');
export const exp = (x: Tensor): Tensor => unaryWithGrad('exp', UnaryOp.exp, x, (g, _x, out) => mul(g, out), 0, 0, 'out');
export const log = (x: Tensor): Tensor => unaryWithGrad('log', UnaryOp.log, x, (g, x) => div(g, x), 0, 0, 'x');
export const sqrt = (x: Tensor): Tensor => unaryWithGrad('sqrt', UnaryOp.sqrt, x, (g, _x, out) => div(mul(g, 0.5), out), 0, 0, 'out');
export const rsqrt = (x: Tensor): Tensor =>
  unaryWithGrad('rsqrt', UnaryOp.rsqrt, x, (g, _x, out) => mul(g, mul(powScalar(out, 3), -0.5)), 0, 0, 'out');
export const abs = (x: Tensor): Tensor => unaryWithGrad('abs', UnaryOp.abs, x, (g, x) => mul(g, sign(x)), 0, 0, 'x');
export const tanh = (x: Tensor): Tensor =>
  unaryWithGrad('tanh', UnaryOp.tanh, x, (g, _x, out) => binaryKernel(BinaryOp.tanhBackward, out, g), 0, 0, 'out');
export const sigmoid = (x: Tensor): Tensor =>
  unaryWithGrad('sigmoid', UnaryOp.sigmoid, x, (g, _x, out) => binaryKernel(BinaryOp.sigmoidBackward, out, g), 0, 0, 'out');
export const relu = (x: Tensor): Tensor =>
  unaryWithGrad('relu', UnaryOp.relu, x, (g, x) => binaryKernel(BinaryOp.reluBackward, x, g), 0, 0, 'x');
/** GELU, exact (erf) form by default; approximate: 'tanh' for the tanh form (HF gelu_new / gelu_pytorch_tanh). */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  return approximate === 'tanh'
    ? unaryWithGrad('gelu_tanh', UnaryOp.geluTanh, x, (g, x) => binaryKernel(BinaryOp.geluTanhBackward, x, g), 0, 0, 'x')
    : unaryWithGrad('gelu', UnaryOp.geluErf, x, (g, x) => binaryKernel(BinaryOp.geluErfBackward, x, g), 0, 0, 'x');
}
export const silu = (x: Tensor): Tensor =>
  unaryWithGrad('silu', UnaryOp.silu, x, (g, x) => binaryKernel(BinaryOp.siluBackward, x, g), 0, 0, 'x');
/** softplus(x) = log(1 + exp(beta x)) / beta, linear above `threshold` (PyTorch defaults 1, 20). */
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  return unaryWithGrad('softplus', UnaryOp.softplus, x, (g, x) => {
    const bx = mul(x, beta);
    return where(gt(bx, threshold), g, mul(g, sigmoid(bx)));
  }, beta, threshold);
}
export const sin = (x: Tensor): Tensor => unaryWithGrad('sin', UnaryOp.sin, x, (g, x) => mul(g, cos(x)));
export const cos = (x: Tensor): Tensor => unaryWithGrad('cos', UnaryOp.cos, x, (g, x) => neg(mul(g, sin(x))));
export const square = (x: Tensor): Tensor => unaryWithGrad('square', UnaryOp.square, x, (g, x) => mul(g, mul(x, 2)));
export const reciprocal = (x: Tensor): Tensor =>
  unaryWithGrad('reciprocal', UnaryOp.reciprocal, x, (g, _x, out) => neg(mul(g, mul(out, out))));
export const log1p = (x: Tensor): Tensor => unaryWithGrad('log1p', UnaryOp.log1p, x, (g, x) => div(g, add(x, 1)));
export const expm1 = (x: Tensor): Tensor => unaryWithGrad('expm1', UnaryOp.expm1, x, (g, _x, out) => mul(g, add(out, 1)));
export const erf = (x: Tensor): Tensor =>
  unaryWithGrad('erf', UnaryOp.erf, x, (g, x) => mul(g, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI))));
const noGradient = (name: string, op: UnaryOp) => (x: Tensor): Tensor => unaryWithGrad(name, op, x, (g) => zeroLike(g));
export const sign = noGradient('sign', UnaryOp.sign);
export const floor = noGradient('floor', UnaryOp.floor);
export const ceil = noGradient('ceil', UnaryOp.ceil);
export const round = noGradient('round', UnaryOp.round);

export function powScalar(x: Tensor, p: number): Tensor {
  if (p === 1) return unaryWithGrad('pow', UnaryOp.mulScalar, x, (g) => g, 1);
  return unaryWithGrad('pow', UnaryOp.powScalar, x, (g, x) => mul(g, mul(powScalar(x, p - 1), p)), p);
}

/** Clamps to [min, max] (either bound optional); gradient 1 inside the range, 0 outside. */
export function clamp(x: Tensor, min?: number, max?: number): Tensor {
  const lo = min ?? -Infinity;
  const hi = max ?? Infinity;
  return unaryWithGrad('clamp', UnaryOp.clamp, x, (g, x) => mul(g, logicalAnd(ge(x, lo), le(x, hi))), lo, hi);
}

declare module '../tensor.js' {
  interface Tensor {
    add(other: Operand): Tensor;
    sub(other: Operand): Tensor;
    mul(other: Operand): Tensor;
    div(other: Operand): Tensor;
    pow(exponent: Operand): Tensor;
    maximum(other: Operand): Tensor;
    minimum(other: Operand): Tensor;
    eq(other: Operand): Tensor;
    ne(other: Operand): Tensor;
    lt(other: Operand): Tensor;
    le(other: Operand): Tensor;
    gt(other: Operand): Tensor;
    ge(other: Operand): Tensor;
    maskedFill(mask: Tensor, value: number): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    rsqrt(): Tensor;
    abs(): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    relu(): Tensor;
    gelu(approximate?: 'none' | 'tanh'): Tensor;
    silu(): Tensor;
    softplus(beta?: number, threshold?: number): Tensor;
    sin(): Tensor;
    cos(): Tensor;
    square(): Tensor;
    reciprocal(): Tensor;
    clamp(min?: number, max?: number): Tensor;
    sign(): Tensor;
    floor(): Tensor;
    ceil(): Tensor;
    round(): Tensor;
    erf(): Tensor;
    log1p(): Tensor;
    expm1(): Tensor;
  }
}

Object.assign(Tensor.prototype, {
  add: method(add), sub: method(sub), mul: method(mul), div: method(div), pow: method(pow),
  maximum: method(maximum), minimum: method(minimum), eq: method(eq), ne: method(ne), lt: method(lt), le: method(le),
  gt: method(gt), ge: method(ge), maskedFill: method(maskedFill), neg: method(neg), exp: method(exp), log: method(log),
  sqrt: method(sqrt), rsqrt: method(rsqrt), abs: method(abs), tanh: method(tanh), sigmoid: method(sigmoid),
  relu: method(relu), gelu: method(gelu), silu: method(silu), softplus: method(softplus), sin: method(sin),
  cos: method(cos), square: method(square), reciprocal: method(reciprocal), clamp: method(clamp),
  sign: method(sign), floor: method(floor), ceil: method(ceil), round: method(round), erf: method(erf),
  log1p: method(log1p), expm1: method(expm1),
});
