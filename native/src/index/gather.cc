// Reading by index: the range check, index_select (row copies) and gather (per element).
#include <algorithm>
#include <atomic>
#include <cstring>

#include "index/dispatch.h"
#include "index/index.h"
#include "index/lines.h"

namespace peftjs {

// Scans chunks in parallel and keeps the smallest bad position, so the answer is deterministic.
template <typename I>
int64_t find_bad_index(const I* index, int64_t count, int64_t n) {
  std::atomic<int64_t> first{count};
  parallel_range(count, 1 << 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end && i < first.load(std::memory_order_relaxed); ++i) {
      if (index[i] < 0 || index[i] >= n) {
        int64_t seen = first.load();
        while (i < seen && !first.compare_exchange_weak(seen, i)) {}
        return;
      }
    }
  });
  return first.load() == count ? -1 : first.load();
}

// One task per output row of `inner` elements: a memcpy from the selected input row.
template <typename I>
void index_select(int elem_bytes, const void* x, int64_t outer, int64_t n, int64_t inner, const I* index, int64_t m,
                  void* out) {
  const int64_t row_bytes = inner * elem_bytes;
  const auto* src = static_cast<const uint8_t*>(x);
  auto* dst = static_cast<uint8_t*>(out);
  parallel_range(outer * m, std::max<int64_t>(1, 65536 / std::max<int64_t>(1, row_bytes)), [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const int64_t o = t / m, j = t % m;
      std::memcpy(dst + t * row_bytes, src + (o * n + static_cast<int64_t>(index[j])) * row_bytes, row_bytes);
    }
  });
}

// Each line along `dim` reads x at the indexed coordinate; operands: out, index, x.
template <typename I>
void gather(int elem_bytes, const void* x, const int64_t* xstrides, const I* index, int ndim, const int64_t* shape,
            int dim, void* out) {
  int64_t contiguous[8];
  for (int64_t d = ndim - 1, s = 1; d >= 0; --d) contiguous[d] = s, s *= shape[d];
  const int64_t* const strides[3] = {contiguous, contiguous, xstrides};
  const int64_t len = shape[dim], step = contiguous[dim], xstep = xstrides[dim];
  by_elem_bytes(elem_bytes, [&](auto tag) {
    using T = decltype(tag);
    const T* src = static_cast<const T*>(x);
    T* dst = static_cast<T*>(out);
    for_each_line<3>(ndim, shape, dim, strides, [&](const int64_t* off) {
      for (int64_t j = 0; j < len; ++j) {
        dst[off[0] + j * step] = src[off[2] + static_cast<int64_t>(index[off[1] + j * step]) * xstep];
      }
    });
  });
}

template int64_t find_bad_index<int32_t>(const int32_t*, int64_t, int64_t);
template int64_t find_bad_index<int64_t>(const int64_t*, int64_t, int64_t);
template void index_select<int32_t>(int, const void*, int64_t, int64_t, int64_t, const int32_t*, int64_t, void*);
template void index_select<int64_t>(int, const void*, int64_t, int64_t, int64_t, const int64_t*, int64_t, void*);
template void gather<int32_t>(int, const void*, const int64_t*, const int32_t*, int, const int64_t*, int, void*);
template void gather<int64_t>(int, const void*, const int64_t*, const int64_t*, int, const int64_t*, int, void*);

}  // namespace peftjs
