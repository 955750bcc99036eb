// How LoKr splits a dimension into the two Kronecker factors (LyCORIS's factorization, which HF
// PEFT copies): with factor f > 0 dividing the dimension, (f, dim/f); otherwise the divisor pair
// reached by stepping up from (1, dim), stopping at the first divisor above f (f = -1: no limit).
// The sum bound is the one of (1, dim) throughout, as in LyCORIS, so the walk ends near √dim.

/** [m, n] with m·n = dimension and m <= n. */
export function factorization(dimension: number, factor = -1): [number, number] {
  if (factor > 0 && dimension % factor === 0) return [factor, dimension / factor];
  const limit = factor === -1 ? dimension : factor;
  let [m, n] = [1, dimension];
  const length = m + n;
  while (m < n) {
    let next = m + 1;
    while (dimension % next !== 0) next++;
    const nextN = dimension / next;
    if (next + nextN > length || next > limit) break;
    [m, n] = [next, nextN];
  }
  return m > n ? [n, m] : [m, n];
}
