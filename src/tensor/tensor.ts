// The Tensor: a dtype, a shape and strides over reference-counted storage, plus its place in the
// autograd graph. Operations live in ops/ and attach themselves as methods.
import { DTYPES, isFloating, type ArrayOf, type DType, type TypedArray } from './dtype.js';
import { AutogradError, DisposedError, DTypeError, IndexError, formatShape } from './errors.js';
import { bf16ToFloat, f16ToFloat } from './half.js';
import { contiguousStrides, numel, type Shape } from './shape.js';
import { Storage } from './storage.js';
import { trackTensor } from './scope.js';
import { native } from './native/index.js';
import { formatTensor } from './format.js';

/** One recorded operation: how to turn the output's gradient into its inputs' gradients. */
export interface GradNode {
  readonly name: string;
  inputs: Tensor[];
  /** Tensors the backward rule reads besides the inputs (kept alive by scopes with the graph). */
  saved: Tensor[];
  /** Returns one gradient per input (null where none flows); null once the graph is freed. */
  backward: ((grad: Tensor, gradIsOwned: boolean) => (Tensor | null | undefined)[]) | null;
  /**
   * For an op whose gradient is zero outside a part of its one input (a narrow): adds the output's
   * gradient `grad` into `into` (the input's pending gradient, which backward owns) in place,
   * instead of a zero-filled input-sized gradient added to it. Several narrows of one tensor (a
   * batch's row groups) then cost one input-sized gradient, not one each.
   */
  addInto?: (into: Tensor, grad: Tensor) => void;
}

let nextId = 1;

/** The id the next tensor will get (ids only grow): lets autograd tell new tensors from old. */
export function peekNextTensorId(): number {
  return nextId;
}

export class Tensor {
  /** Marks tensors for duck-typed checks across module copies. */
  readonly __isTensor = true;
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  /** The gradient accumulated by backward() (leaf tensors that require grad). */
  grad: Tensor | null = null;
  /** The operation that produced this tensor, if it is part of a graph. */
  gradFn: GradNode | null = null;
  /** Optional name (parameters carry theirs, for error messages). */
  name: string | undefined;
  private storageRef: Storage | null;
  private requiresGradFlag = false;

  /** Low level: a view of `storage` (which it retains). Use tensor(), zeros(), ... instead. */
  constructor(storage: Storage, shape: Shape, strides?: readonly number[], offset = 0) {
    this.storageRef = storage;
    this.dtype = storage.dtype;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze(strides ? [...strides] : contiguousStrides(shape));
    this.offset = offset;
    trackTensor(this);
  }

  /** A new contiguous tensor whose contents are unspecified (pooled memory); kernels fill it. */
  static empty(shape: Shape, dtype: DType = 'float32'): Tensor {
    return new Tensor(new Storage(dtype, numel(shape), false), shape);
  }

  /** A new contiguous tensor that takes ownership of `array` (no copy; the caller must not keep it). */
  static fromArray(array: TypedArray, shape: Shape, dtype: DType): Tensor {
    return new Tensor(new Storage(dtype, array), shape);
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  get size(): number {
    return numel(this.shape);
  }

  get disposed(): boolean {
    return this.storageRef === null || this.storageRef.released;
  }

  /** The storage, checked for use after dispose. */
  get storage(): Storage {
    const s = this.storageRef;
    if (s === null || s.released) {
      throw new DisposedError(
        `tensor #${this.id}${this.name ? ` (${this.name})` : ''} of shape ${formatShape(this.shape)} was disposed ` +
          '(by dispose() or by the tidy() scope that created it); keep() it or return it from the scope to use it later',
      );
    }
    return s;
  }

  /** The backing typed array (shared, not a copy): for kernels. Index with `offset` and `strides`. */
  get buffer(): TypedArray {
    return this.storage.data;
  }

  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  get requiresGrad(): boolean {
    return this.requiresGradFlag;
  }

  set requiresGrad(value: boolean) {
    if (value && !isFloating(this.dtype)) {
      throw new DTypeError(`only floating-point tensors can require gradients; this one is ${this.dtype}`);
    }
    if (!value && this.gradFn !== null) {
      throw new AutogradError('requiresGrad cannot be turned off on a tensor computed by a recorded operation; use detach()');
    }
    this.requiresGradFlag = value;
  }

  /** Sets requiresGrad and returns this, for chaining: `randn([3]).requiresGrad_()`. */
  requiresGrad_(value = true): this {
    this.requiresGrad = value;
    return this;
  }

  /** Low level, for autograd: attaches the operation that produced this tensor. */
  setGradFn(node: GradNode): void {
    this.gradFn = node;
    this.requiresGradFlag = true;
  }

  isContiguous(): boolean {
    let expected = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      const d = this.shape[i]!;
      if (d !== 1 && this.strides[i] !== expected) return false;
      expected *= d;
    }
    return true;
  }

  /** Releases this tensor's memory now. Using it afterwards throws a DisposedError. Idempotent. */
  dispose(): void {
    if (this.storageRef === null) return;
    this.releaseValues();
    this.gradFn = null;
  }

  /**
   * Low level: releases this tensor's memory but keeps its place in the autograd graph (its gradFn),
   * for an output whose values were copied elsewhere and that no backward reads (see
   * peft/row-blocks.ts replaceRows). Using its values afterwards throws a DisposedError.
   */
  releaseValues(): void {
    const s = this.storageRef;
    if (s === null) return;
    this.storageRef = null;
    s.release();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** A copy of the elements in row-major order, as a typed array of this dtype. */
  data<D extends DType = DType>(): ArrayOf[D] {
    const out = DTYPES[this.dtype].make(this.size);
    if (out.length === 0) return out as ArrayOf[D];
    native.copyStrided(this.buffer, this.offset, [...this.strides], out, 0, contiguousStrides(this.shape), [...this.shape]);
    return out as ArrayOf[D];
  }

  /** The elements as JavaScript numbers (int64 via Number, 16-bit floats decoded). */
  toFlatArray(): number[] {
    const raw = this.data();
    if (this.dtype === 'bfloat16') return Array.from(raw as Uint16Array, bf16ToFloat);
    if (this.dtype === 'float16') return Array.from(raw as Uint16Array, f16ToFloat);
    if (this.dtype === 'int64') return Array.from(raw as BigInt64Array, Number);
    return Array.from(raw as ArrayLike<number>);
  }

  /** Nested JavaScript arrays of numbers (booleans for bool tensors). */
  toArray(): unknown {
    const flat: unknown[] = this.dtype === 'bool' ? this.toFlatArray().map((v) => v !== 0) : this.toFlatArray();
    const build = (dim: number, start: number): unknown => {
      if (dim === this.ndim) return flat[start];
      const step = numel(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim]! }, (_, i) => build(dim + 1, start + i * step));
    };
    return build(0, 0);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) {
      throw new IndexError(`item() needs a tensor with one element; this one has shape ${formatShape(this.shape)}`);
    }
    return this.toFlatArray()[0]!;
  }

  toString(): string {
    return formatTensor(this);
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
