// The rotations of OFT from their packed generators, as HF PEFT 0.21 computes them: each row of
// oft_R.weight packs the strict upper triangle of a k×k matrix (torch.triu_indices order), Q is the
// skew-symmetric matrix it spans, and R = (I − Q)(I + Q)⁻¹ is its Cayley transform, exact or by
// HF's truncated Neumann series.
import { Tensor, concat, eye, matmul, solve, tensor, zeros } from '../../../tensor/index.js';

/**
 * For every entry (i, j) of a k×k matrix: where it reads from a packed row with a 0 put in front
 * (0 on the diagonal, 1 + the upper-triangle index of (min, max) elsewhere), and its sign.
 */
export function skewLayout(k: number): { index: Tensor; sign: Tensor } {
  const index = new Int32Array(k * k);
  const sign = new Float32Array(k * k);
  const packed = (i: number, j: number) => i * k - (i * (i + 1)) / 2 + (j - i - 1);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      if (i === j) continue;
      index[i * k + j] = 1 + packed(Math.min(i, j), Math.max(i, j));
      sign[i * k + j] = i < j ? 1 : -1;
    }
  }
  return { index: tensor(index, [k * k], 'int32'), sign: tensor(sign, [k * k]) };
}

/** Q [b, k, k] from packed rows [b, k(k−1)/2]: Q[i][j] = v(i, j) above the diagonal, −v(j, i) below. */
export function skewSymmetric(packed: Tensor, k: number, layout: { index: Tensor; sign: Tensor }): Tensor {
  const b = packed.shape[0]!;
  const withZero = concat([zeros([b, 1], packed.dtype), packed], 1);
  return withZero.indexSelect(1, layout.index).mul(layout.sign).reshape([b, k, k]);
}

/** The Cayley transform of each Q [b, k, k]. */
export function cayley(q: Tensor, neumannTerms: number | null): Tensor {
  const k = q.shape[q.ndim - 1]!;
  const identity = eye(k, k, q.dtype);
  if (neumannTerms === null) return solve(identity.add(q), identity.sub(q));
  return neumannCayley(q, identity, neumannTerms);
}

/**
 * HF's series: I + 2Q + 2Q² + … + 2Q^(n−2) + Q^(n−1) for n terms; its last term is Q³ for n = 3
 * and 4 alike (and n = 1 gives I, n = 2 gives I + 2Q), as HF computes it.
 */
function neumannCayley(q: Tensor, identity: Tensor, terms: number): Tensor {
  if (terms <= 1) return identity.expand(q.shape).contiguous();
  let r = identity.add(q.mul(2));
  if (terms <= 2) return r;
  let power = matmul(q, q);
  r = r.add(power.mul(2));
  for (let i = 3; i < terms - 1; i++) {
    power = matmul(power, q);
    r = r.add(power.mul(2));
  }
  return r.add(matmul(power, q));
}

/** M [b·k, cols] with each k-row block multiplied by its rotation: blocks [b or 1, k, k]. */
export function rotateRowBlocks(blocks: Tensor, m: Tensor): Tensor {
  const k = blocks.shape[1]!;
  const [rows, cols] = m.shape as [number, number];
  return matmul(blocks, m.reshape([rows / k, k, cols])).reshape([rows, cols]);
}
