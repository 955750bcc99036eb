// Per-row sort and top-k: rows run in parallel, each sorts (value, position) pairs.
#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>

#include "index/dispatch.h"
#include "index/index.h"
#include "threadpool.h"

namespace peftjs {
namespace {

// Ascending order with NaN above everything, as in PyTorch.
template <typename T>
bool less(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) return a < b || (b != b && a == a);
  return a < b;
}

// Runs fn(row, pairs) for every row with pairs = that row's (value, position) list.
template <typename T, typename Fn>
void for_each_row_pairs(const T* x, int64_t rows, int64_t n, Fn fn) {
  parallel_range(rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, n)), [&](int64_t b, int64_t e) {
    std::vector<std::pair<T, int64_t>> pairs(n);
    for (int64_t r = b; r < e; ++r) {
      for (int64_t i = 0; i < n; ++i) pairs[i] = {x[r * n + i], i};
      fn(r, pairs);
    }
  });
}

}  // namespace

void sort_rows(int dtype, const void* x, int64_t rows, int64_t n, bool descending, void* values, int64_t* indices) {
  by_numeric_dtype(dtype, "sort", [&](auto tag) {
    using T = decltype(tag);
    using P = std::pair<T, int64_t>;
    // Equal values keep their order through the position tie-break, so an unstable sort is stable here.
    auto before = [descending](const P& a, const P& b) {
      const bool ahead = descending ? less(b.first, a.first) : less(a.first, b.first);
      const bool behind = descending ? less(a.first, b.first) : less(b.first, a.first);
      return ahead || (!behind && a.second < b.second);
    };
    for_each_row_pairs(static_cast<const T*>(x), rows, n, [&](int64_t r, std::vector<P>& pairs) {
      std::sort(pairs.begin(), pairs.end(), before);
      for (int64_t i = 0; i < n; ++i) {
        static_cast<T*>(values)[r * n + i] = pairs[i].first;
        indices[r * n + i] = pairs[i].second;
      }
    });
  });
}

void topk_rows(int dtype, const void* x, int64_t rows, int64_t n, int64_t k, bool largest, void* values,
               int64_t* indices) {
  by_numeric_dtype(dtype, "topk", [&](auto tag) {
    using T = decltype(tag);
    using P = std::pair<T, int64_t>;
    // A total order (ties go to the lower position) makes the result independent of the algorithm.
    auto before = [largest](const P& a, const P& b) {
      const bool ahead = largest ? less(b.first, a.first) : less(a.first, b.first);
      const bool behind = largest ? less(a.first, b.first) : less(b.first, a.first);
      return ahead || (!behind && a.second < b.second);
    };
    for_each_row_pairs(static_cast<const T*>(x), rows, n, [&](int64_t r, std::vector<P>& pairs) {
      std::partial_sort(pairs.begin(), pairs.begin() + k, pairs.end(), before);
      for (int64_t i = 0; i < k; ++i) {
        static_cast<T*>(values)[r * k + i] = pairs[i].first;
        indices[r * k + i] = pairs[i].second;
      }
    });
  });
}

}  // namespace peftjs
