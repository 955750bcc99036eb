// Writing by index: index_add (rows, the backward of index_select and embedding) and scatter /
// scatter-add per element (the backward of gather). Both are race-free without atomics, and
// the result does not depend on the thread count.
#include <algorithm>

#include "index/dispatch.h"
#include "index/index.h"
#include "index/lines.h"

namespace peftjs {

// Tasks own disjoint ranges of destination rows; each scans all indices in order and adds the
// rows that land in its range, so repeated indices accumulate in index order.
template <typename I>
void index_add(int dtype, void* dst, int64_t outer, int64_t n, int64_t inner, const I* index, int64_t m,
               const void* src) {
  if (outer == 0 || n == 0 || inner == 0 || m == 0) return;
  const int64_t blocks = std::clamp<int64_t>((8 * num_threads() + outer - 1) / outer, 1, n);
  by_numeric_dtype(dtype, "index_add", [&](auto tag) {
    using T = decltype(tag);
    T* out = static_cast<T*>(dst);
    const T* in = static_cast<const T*>(src);
    parallel_for(outer * blocks, [&](int64_t t) {
      const int64_t o = t / blocks, b = t % blocks;
      const int64_t lo = b * n / blocks, hi = (b + 1) * n / blocks;
      for (int64_t j = 0; j < m; ++j) {
        const int64_t r = static_cast<int64_t>(index[j]);
        if (r < lo || r >= hi) continue;
        T* __restrict row = out + (o * n + r) * inner;
        const T* __restrict add = in + (o * m + j) * inner;
        for (int64_t i = 0; i < inner; ++i) row[i] += add[i];
      }
    });
  });
}

// Lines along `dim` write disjoint slices of dst (they differ in another coordinate); each line
// runs in order. Operands: dst, index, src.
template <typename I>
void scatter(int dtype, bool accumulate, void* dst, const int64_t* dstrides, const I* index, const void* src,
             const int64_t* sstrides, int ndim, const int64_t* shape, int dim) {
  int64_t contiguous[8];
  for (int64_t d = ndim - 1, s = 1; d >= 0; --d) contiguous[d] = s, s *= shape[d];
  const int64_t* const strides[3] = {dstrides, contiguous, sstrides};
  const int64_t len = shape[dim], dstep = dstrides[dim], istep = contiguous[dim], sstep = sstrides[dim];
  auto run = [&](auto tag, auto combine) {
    using T = decltype(tag);
    T* out = static_cast<T*>(dst);
    const T* in = static_cast<const T*>(src);
    for_each_line<3>(ndim, shape, dim, strides, [&](const int64_t* off) {
      for (int64_t j = 0; j < len; ++j) {
        combine(out[off[0] + static_cast<int64_t>(index[off[1] + j * istep]) * dstep], in[off[2] + j * sstep]);
      }
    });
  };
  if (accumulate) {
    by_numeric_dtype(dtype, "scatter_add", [&](auto tag) { run(tag, [](auto& d, auto s) { d += s; }); });
  } else {
    by_elem_bytes(dtype_bytes(dtype), [&](auto tag) { run(tag, [](auto& d, auto s) { d = s; }); });
  }
}

template void index_add<int32_t>(int, void*, int64_t, int64_t, int64_t, const int32_t*, int64_t, const void*);
template void index_add<int64_t>(int, void*, int64_t, int64_t, int64_t, const int64_t*, int64_t, const void*);
template void scatter<int32_t>(int, bool, void*, const int64_t*, const int32_t*, const void*, const int64_t*, int,
                               const int64_t*, int);
template void scatter<int64_t>(int, bool, void*, const int64_t*, const int64_t*, const void*, const int64_t*, int,
                               const int64_t*, int);

}  // namespace peftjs
