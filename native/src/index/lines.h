// Iteration over the lines of an N-d shape along one dim: every position of the other dims gives
// one line of shape[dim] elements. Lines are split across the thread pool; each operand k has its
// own strides, and fn(off) receives the line's first element in every operand.
#pragma once
#include <cstdint>

#include "threadpool.h"

namespace peftjs {

template <int K, typename Fn>
void for_each_line(int ndim, const int64_t* shape, int dim, const int64_t* const (&strides)[K], Fn fn) {
  int64_t rest_shape[8], rest_strides[K][8];
  int r = 0;
  int64_t lines = 1;
  for (int d = 0; d < ndim; ++d) {
    if (d == dim) continue;
    rest_shape[r] = shape[d];
    for (int k = 0; k < K; ++k) rest_strides[k][r] = strides[k][d];
    lines *= shape[d];
    ++r;
  }
  const int64_t len = shape[dim];
  if (lines == 0 || len == 0) return;
  parallel_range(lines, (16384 + len - 1) / len, [&](int64_t begin, int64_t end) {
    int64_t idx[8] = {0}, off[K] = {0};
    int64_t rem = begin;
    for (int d = r - 1; d >= 0; --d) {
      idx[d] = rem % rest_shape[d];
      rem /= rest_shape[d];
      for (int k = 0; k < K; ++k) off[k] += idx[d] * rest_strides[k][d];
    }
    for (int64_t line = begin; line < end; ++line) {
      fn(static_cast<const int64_t*>(off));
      for (int d = r - 1; d >= 0; --d) {  // odometer increment
        ++idx[d];
        for (int k = 0; k < K; ++k) off[k] += rest_strides[k][d];
        if (idx[d] < rest_shape[d]) break;
        for (int k = 0; k < K; ++k) off[k] -= rest_strides[k][d] * rest_shape[d];
        idx[d] = 0;
      }
    }
  });
}

}  // namespace peftjs
