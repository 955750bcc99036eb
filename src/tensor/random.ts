// The seeded random generator behind randn, rand, dropout, shuffling and sampling.
// xoshiro128** (32-bit state words, exact in JavaScript), normals by Box-Muller: the same seed
// gives the same bits on every machine.
import { DTYPES, type DType } from './dtype.js';
import { DTypeError, ValueError } from './errors.js';
import { native } from './native/index.js';
import { checkShape, numel, type Shape } from './shape.js';
import { Tensor } from './tensor.js';
import { tensor } from './ops/create-ops.js';

export class Generator {
  private s = new Uint32Array(4);
  private spareNormal: number | null = null;

  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  /** Resets the state from a seed (splitmix32 expands it to 128 bits). */
  manualSeed(seed: number): this {
    let x = (Math.trunc(seed) ^ Math.trunc(seed / 2 ** 32)) >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.s.every((v) => v === 0)) this.s[0] = 1;
    this.spareNormal = null;
    return this;
  }

  /** A uniformly random uint32. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal. */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Uniform integer in [low, high). */
  randint(low: number, high: number): number {
    if (!(high > low)) throw new ValueError(`randint: need low < high, got [${low}, ${high})`);
    return low + Math.floor(this.uniform() * (high - low));
  }

  /** The state, to save in checkpoints and restore with setState. */
  getState(): number[] {
    return [...this.s, this.spareNormal ?? NaN];
  }

  setState(state: readonly number[]): void {
    if (state.length !== 5) throw new ValueError('Generator.setState: expected the 5 numbers getState() returned');
    for (let i = 0; i < 4; i++) this.s[i] = state[i]! >>> 0;
    this.spareNormal = Number.isNaN(state[4]) ? null : state[4]!;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The default generator (seeded 0 until manualSeed is called). */
export const defaultGenerator = new Generator(0);

/**
 * Runs `fn` with the default generator drawing from `generator`'s stream (dropout and the random
 * functions use the default one): `generator` advances by what `fn` drew, the default one is left
 * as it was. Several streams can thus be interleaved (concurrent training jobs, one each).
 */
export function withGenerator<T>(generator: Generator, fn: () => T): T {
  const outer = defaultGenerator.getState();
  defaultGenerator.setState(generator.getState());
  try {
    return fn();
  } finally {
    generator.setState(defaultGenerator.getState());
    defaultGenerator.setState(outer);
  }
}

/** Seeds the default generator. */
export function manualSeed(seed: number): void {
  defaultGenerator.manualSeed(seed);
}

function fill(shape: Shape, dtype: DType, draw: () => number): Tensor {
  const n = numel(checkShape(shape));
  if (dtype === 'float32' || dtype === 'float64') {
    // Drawn straight into the tensor (a float32 store rounds as the float64 -> float32 cast would), so
    // its own allocation is the only one: on the wasm backend one too large is a typed WasmMemoryLimitError.
    const out = Tensor.empty(shape, dtype);
    const values = out.buffer as Float32Array | Float64Array;
    for (let i = 0; i < n; i++) values[i] = draw();
    return out;
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = draw();
  return tensor(values, shape, dtype);
}

export interface RandomOptions {
  dtype?: DType;
  generator?: Generator;
}

/** Standard normal samples (mean, std optional). */
export function randn(shape: Shape, options: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  const g = options.generator ?? defaultGenerator;
  const mean = options.mean ?? 0;
  const std = options.std ?? 1;
  return fill(shape, options.dtype ?? 'float32', () => mean + std * g.normal());
}

/**
 * Fills `t` (contiguous float32, bfloat16 or float16) in place with normal samples from the native
 * counter-based generator (native/src/bind_random.cc), for initialising weights: fast (no float64
 * copy, all threads), seeded by two draws from the generator, the same values for any thread
 * count. Not randn's stream, nor torch's: where values must match torch, use randn or
 * TorchCpuGenerator. Returns t.
 */
export function normalFill_(t: Tensor, options: { mean?: number; std?: number; generator?: Generator } = {}): Tensor {
  if (!(t.dtype === 'float32' || t.dtype === 'bfloat16' || t.dtype === 'float16') || !t.isContiguous() || t.offset !== 0) {
    throw new DTypeError(`normalFill_ needs a whole contiguous float32, bfloat16 or float16 tensor; this one is ${t.dtype}${t.isContiguous() ? '' : ' (strided)'}`);
  }
  const g = options.generator ?? defaultGenerator;
  const seedHigh = g.nextUint32();
  const seedLow = g.nextUint32();
  native.randomNormal(t.buffer as Float32Array | Uint16Array, DTYPES[t.dtype].code, t.size, options.mean ?? 0, options.std ?? 1, seedHigh, seedLow);
  return t;
}

/** Uniform samples in [low, high), default [0, 1). */
export function rand(shape: Shape, options: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  const g = options.generator ?? defaultGenerator;
  const low = options.low ?? 0;
  const high = options.high ?? 1;
  return fill(shape, options.dtype ?? 'float32', () => low + (high - low) * g.uniform());
}

/** Ones with probability p, zeros otherwise. */
export function bernoulli(shape: Shape, p: number, options: RandomOptions = {}): Tensor {
  if (!(p >= 0 && p <= 1)) throw new ValueError(`bernoulli: p must be in [0, 1], not ${p}`);
  const g = options.generator ?? defaultGenerator;
  return fill(shape, options.dtype ?? 'float32', () => (g.uniform() < p ? 1 : 0));
}

/** Uniform integers in [low, high) (int64 by default). */
export function randint(low: number, high: number, shape: Shape, options: RandomOptions = {}): Tensor {
  const g = options.generator ?? defaultGenerator;
  return fill(shape, options.dtype ?? 'int64', () => g.randint(low, high));
}

/** A random permutation of 0..n-1 (int64), Fisher-Yates. */
export function randperm(n: number, options: RandomOptions = {}): Tensor {
  const g = options.generator ?? defaultGenerator;
  const values = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = g.randint(0, i + 1);
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  return tensor(values, [n], options.dtype ?? 'int64');
}
