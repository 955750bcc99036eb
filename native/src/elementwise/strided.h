// Iteration over N-d strided operands writing a contiguous output: dims are collapsed where all
// operands are contiguous across them, the innermost dim is a tight loop, and the outer rows are
// split across the thread pool when the work is large.
#pragma once
#include <cstdint>
#include <vector>

#include "threadpool.h"

namespace peftjs {

template <int K>
struct StridedLayout {
  int ndim = 0;
  int64_t shape[8];
  int64_t strides[K][8];
};

// Merges dim d into d+1 when every operand has stride[d] == stride[d+1] * shape[d+1].
template <int K>
StridedLayout<K> collapse(int ndim, const int64_t* shape, const int64_t* const* strides) {
  StridedLayout<K> out;
  for (int d = 0; d < ndim; ++d) {
    if (shape[d] == 1) continue;  // size-1 dims contribute nothing
    int o = out.ndim;
    bool merge = o > 0;
    for (int k = 0; k < K && merge; ++k) merge = strides[k][d] * shape[d] == out.strides[k][o - 1];
    if (merge) {
      out.shape[o - 1] *= shape[d];
      for (int k = 0; k < K; ++k) out.strides[k][o - 1] = strides[k][d];
    } else {
      out.shape[o] = shape[d];
      for (int k = 0; k < K; ++k) out.strides[k][o] = strides[k][d];
      out.ndim++;
    }
  }
  if (out.ndim == 0) {
    out.ndim = 1;
    out.shape[0] = 1;
    for (int k = 0; k < K; ++k) out.strides[k][0] = 0;
  }
  return out;
}

// Calls row(offsets[K], inner_len, inner_strides[K], out_index) for every innermost row (or piece of
// one: a single long row, the usual shape of contiguous operands, is split among the threads).
template <int K, typename Row>
void for_each_row(const StridedLayout<K>& L, Row row) {
  const int last = L.ndim - 1;
  const int64_t inner = L.shape[last];
  int64_t rows = 1;
  for (int d = 0; d < last; ++d) rows *= L.shape[d];
  if (rows == 1) {
    return parallel_range(inner, 32768, [&](int64_t begin, int64_t end) {
      int64_t off[K], inner_strides[K];
      for (int k = 0; k < K; ++k) {
        inner_strides[k] = L.strides[k][last];
        off[k] = begin * inner_strides[k];
      }
      row(off, end - begin, inner_strides, begin);
    });
  }
  const int64_t min_rows = inner >= 32768 ? 1 : (32768 + inner - 1) / inner;
  parallel_range(rows, min_rows, [&](int64_t begin, int64_t end) {
    int64_t idx[8] = {0};
    int64_t rem = begin;
    for (int d = last - 1; d >= 0; --d) {
      idx[d] = rem % L.shape[d];
      rem /= L.shape[d];
    }
    int64_t off[K];
    for (int k = 0; k < K; ++k) {
      off[k] = 0;
      for (int d = 0; d < last; ++d) off[k] += idx[d] * L.strides[k][d];
    }
    int64_t inner_strides[K];
    for (int k = 0; k < K; ++k) inner_strides[k] = L.strides[k][last];
    for (int64_t r = begin; r < end; ++r) {
      row(off, inner, inner_strides, r * inner);
      for (int d = last - 1; d >= 0; --d) {  // odometer increment
        ++idx[d];
        for (int k = 0; k < K; ++k) off[k] += L.strides[k][d];
        if (idx[d] < L.shape[d]) break;
        for (int k = 0; k < K; ++k) off[k] -= L.strides[k][d] * L.shape[d];
        idx[d] = 0;
      }
    }
  });
}

}  // namespace peftjs
