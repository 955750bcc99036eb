// Prefix sums along the middle axis of [outer, n, inner].
#include <algorithm>
#include <type_traits>
#include <vector>

#include "index/dispatch.h"
#include "index/index.h"
#include "threadpool.h"

namespace peftjs {

// Tasks are (outer, block of up to 256 columns); a task carries one running sum per column.
void cumsum(int dtype, const void* x, int64_t outer, int64_t n, int64_t inner, bool reverse, void* out) {
  if (outer == 0 || n == 0 || inner == 0) return;
  const int64_t width = std::min<int64_t>(inner, 256), blocks = (inner + width - 1) / width;
  by_numeric_dtype(dtype, "cumsum", [&](auto tag) {
    using T = decltype(tag);
    using A = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
    const T* in = static_cast<const T*>(x);
    T* res = static_cast<T*>(out);
    parallel_range(outer * blocks, std::max<int64_t>(1, 16384 / (n * width)), [&](int64_t b, int64_t e) {
      std::vector<A> acc(width);
      for (int64_t t = b; t < e; ++t) {
        const int64_t o = t / blocks, i0 = (t % blocks) * width, w = std::min(width, inner - i0);
        std::fill(acc.begin(), acc.end(), A(0));
        for (int64_t s = 0; s < n; ++s) {
          const int64_t row = (o * n + (reverse ? n - 1 - s : s)) * inner + i0;
          for (int64_t i = 0; i < w; ++i) res[row + i] = static_cast<T>(acc[i] += static_cast<A>(in[row + i]));
        }
      }
    });
  });
}

}  // namespace peftjs
