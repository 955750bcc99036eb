// Inverted dropout: zeroes each element with probability p and scales the rest by 1 / (1 - p).
// The mask is never stored: the native kernel derives it from (seed, element position), so the
// backward pass regenerates the same mask from the seed.
import { DTYPES, isFloating } from '../dtype.js';
import { DTypeError, ValueError } from '../errors.js';
import { record } from '../autograd.js';
import { defaultGenerator, type Generator } from '../random.js';
import { Tensor } from '../tensor.js';
import { native } from '../native/index.js';
import { cloneTensor } from './create-ops.js';

/**
 * Dropout with probability p (torch.nn.functional.dropout). Returns x itself when p = 0 or not
 * training. Draws one uint32 seed from the generator per call: the same seed, the same mask.
 */
export function dropout(x: Tensor, p = 0.5, training = true, generator: Generator = defaultGenerator): Tensor {
  if (!(p >= 0 && p <= 1)) throw new ValueError(`dropout: p must be a probability in [0, 1], not ${p}`);
  if (!isFloating(x.dtype)) throw new DTypeError(`dropout: needs a floating-point tensor, not ${x.dtype}`);
  if (!training || p === 0) return x;
  return masked(x, generator.nextUint32(), p);
}

function masked(x: Tensor, seed: number, p: number): Tensor {
  const xc = x.isContiguous() ? x : cloneTensor(x);
  const out = Tensor.empty(x.shape, x.dtype);
  if (out.size > 0) native.dropout(DTYPES[x.dtype].code, xc.buffer, xc.offset, x.size, seed, p, p === 1 ? 0 : 1 / (1 - p), out.buffer);
  if (xc !== x) xc.dispose();
  return record(out, 'dropout', [x], (g) => [masked(g, seed, p)], [], []);
}
