// PyTorch's CPU random generator, bit for bit, for what must match torch's own draws (VeRA's
// shared projections, drawn from torch.Generator().manual_seed(projection_prng_key)). It is
// at::mt19937 (the standard 32-bit MT19937, aten/src/ATen/core/MT19937RNGEngine.h) and the float32
// path of Tensor.uniform_ (at::uniform_real_distribution in DistributionsHelper.h, filled
// serially by the CPU uniform kernel). peftjs's own Generator (random.ts) stays the default.
import { ValueError } from './errors.js';

const STATE_WORDS = 624;
const SHIFT_WORDS = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;
/** A float32 sample keeps the low 24 bits of one draw (float32's digits) and scales them by 2^-24. */
const FLOAT32_BITS_MASK = 0xffffff;
const FLOAT32_SCALE = 2 ** -24;

export class TorchCpuGenerator {
  private readonly state = new Uint32Array(STATE_WORDS);
  private next = 0;
  private left = 1;

  /** torch.Generator()'s default seed is not fixed; 5489 is MT19937's reference seed. */
  constructor(seed: number | bigint = 5489) {
    this.manualSeed(seed);
  }

  /**
   * torch's manual_seed: the seed is a 64-bit integer (a negative one in two's complement), of which
   * MT19937's initialisation takes the low 32 bits.
   */
  manualSeed(seed: number | bigint): this {
    if (typeof seed === 'number' && !Number.isSafeInteger(seed)) {
      throw new ValueError(`torch generator seed ${seed} is not an exact integer; pass an integer (a bigint beyond 2^53)`);
    }
    const s = this.state;
    s[0] = Number(BigInt.asUintN(32, BigInt(seed)));
    for (let j = 1; j < STATE_WORDS; j++) {
      const previous = s[j - 1]!;
      s[j] = Math.imul(1812433253, previous ^ (previous >>> 30)) + j;
    }
    this.left = 1;
    this.next = 0;
    return this;
  }

  /** One 32-bit draw (torch's CPUGeneratorImpl::random()). */
  randomU32(): number {
    if (--this.left === 0) this.refill();
    let y = this.state[this.next++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /**
   * Fills `out` in order as torch's float32 `tensor.uniform_(from, to, generator=g)` fills a
   * contiguous tensor (row-major): each element takes one 32-bit draw. The bounds are rounded to
   * float32 first and the arithmetic is float32, as in torch, whose CPU kernels are built with FMA
   * (AVX2/AVX-512, ARM) and so compute unit · (to − from) + from with one rounding: HF's saved VeRA
   * projections match only that way.
   */
  uniformFloat32(out: Float32Array, from: number, to: number): Float32Array {
    const low = Math.fround(from);
    const range = Math.fround(Math.fround(to) - low);
    if (!(range >= 0) || !Number.isFinite(range)) {
      throw new ValueError(`uniform_ needs finite bounds with from <= to (float32), got from ${from}, to ${to}`);
    }
    for (let i = 0; i < out.length; i++) {
      const unit = (this.randomU32() & FLOAT32_BITS_MASK) * FLOAT32_SCALE;
      out[i] = fusedMultiplyAddFloat32(unit * range, low);
    }
    return out;
  }

  /** The next STATE_WORDS words of the sequence (MT19937's twist). */
  private refill(): void {
    const s = this.state;
    for (let k = 0; k < STATE_WORDS; k++) {
      const y = (s[k]! & UPPER_MASK) | (s[(k + 1) % STATE_WORDS]! & LOWER_MASK);
      s[k] = s[(k + SHIFT_WORDS) % STATE_WORDS]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    this.left = STATE_WORDS;
    this.next = 0;
  }
}

/**
 * product + addend rounded once to float32, as a float32 fused multiply-add. `product` is exact
 * here (24 by 24 bits fit a double); the double sum may not be, and rounding it to float32 after
 * that is wrong only when it landed exactly on a float32 midpoint: then the exact remainder
 * (Knuth's two-sum) decides the side instead of ties-to-even.
 */
function fusedMultiplyAddFloat32(product: number, addend: number): number {
  const sum = product + addend;
  const rounded = Math.fround(sum);
  const otherNeighbour = 2 * sum - rounded;
  const onMidpoint = otherNeighbour !== rounded && Math.fround(otherNeighbour) === otherNeighbour;
  if (!onMidpoint) return rounded;
  const addendPart = sum - product;
  const remainder = (product - (sum - addendPart)) + (addend - addendPart);
  if (remainder === 0) return rounded;
  return remainder > 0 === otherNeighbour > rounded ? otherNeighbour : rounded;
}
