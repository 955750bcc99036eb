#include "reduce/reduce.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "elementwise/elementwise.h"
#include "threadpool.h"

namespace peftjs {
namespace {

template <typename T>
T init_of(int op) {
  switch (op) {
    case R_PROD: case R_ALL: return T(1);
    default: return T(0);
  }
}

template <typename T, typename A>
void accumulate(int op, A* __restrict acc, const T* __restrict x, int64_t count) {
  switch (op) {
    case R_SUM: for (int64_t i = 0; i < count; ++i) acc[i] += static_cast<A>(x[i]); break;
    case R_SUMSQ: for (int64_t i = 0; i < count; ++i) acc[i] += static_cast<A>(x[i]) * static_cast<A>(x[i]); break;
    case R_PROD: for (int64_t i = 0; i < count; ++i) acc[i] *= static_cast<A>(x[i]); break;
    case R_ANY: for (int64_t i = 0; i < count; ++i) acc[i] = acc[i] || x[i] != T(0); break;
    case R_ALL: for (int64_t i = 0; i < count; ++i) acc[i] = acc[i] && x[i] != T(0); break;
  }
}

// Sum-like reductions. For inner == 1 (a row reduction) 8 partial sums per row keep the loop
// vectorised; otherwise rows of `inner` accumulate elementwise.
template <typename T, typename A>
void reduce_sum_like(int op, const T* x, int64_t outer, int64_t n, int64_t inner, T* out) {
  if (inner == 1) {
    parallel_range(outer, std::max<int64_t>(1, 65536 / std::max<int64_t>(1, n)), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        const T* row = x + o * n;
        A part[8];
        std::fill(part, part + 8, init_of<A>(op));
        int64_t i = 0;
        for (; i + 8 <= n; i += 8) accumulate<T, A>(op, part, row + i, 8);
        A total = init_of<A>(op);
        for (; i < n; ++i) accumulate<T, A>(op, &total, row + i, 1);
        for (int k = 0; k < 8; ++k) {
          if (op == R_PROD) total *= part[k];
          else if (op == R_ANY) total = total || part[k];
          else if (op == R_ALL) total = total && part[k];
          else total += part[k];
        }
        out[o] = static_cast<T>(total);
      }
    });
    return;
  }
  // Parallelise over outer when there is enough of it, else over inner columns.
  const bool by_outer = outer >= num_threads();
  const int64_t tasks = by_outer ? outer : inner;
  parallel_range(tasks, 1, [&](int64_t b, int64_t e) {
    const int64_t o0 = by_outer ? b : 0, o1 = by_outer ? e : outer;
    const int64_t i0 = by_outer ? 0 : b, i1 = by_outer ? inner : e;
    const int64_t width = i1 - i0;
    A* acc = new A[width];
    for (int64_t o = o0; o < o1; ++o) {
      std::fill(acc, acc + width, init_of<A>(op));
      for (int64_t r = 0; r < n; ++r) accumulate<T, A>(op, acc, x + (o * n + r) * inner + i0, width);
      for (int64_t i = 0; i < width; ++i) out[o * inner + i0 + i] = static_cast<T>(acc[i]);
    }
    delete[] acc;
  });
}

template <typename T>
void reduce_extreme(bool is_max, const T* x, int64_t outer, int64_t n, int64_t inner, T* out, int64_t* index) {
  parallel_range(outer * inner, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, n)), [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      const int64_t o = k / inner, i = k % inner;
      const T* p = x + o * n * inner + i;
      T best = p[0];
      int64_t at = 0;
      for (int64_t r = 1; r < n; ++r) {
        const T v = p[r * inner];
        if (best != best) break;  // NaN wins, as in PyTorch
        if (v != v || (is_max ? v > best : v < best)) best = v, at = r;
      }
      out[k] = best;
      if (index) index[k] = at;
    }
  });
}

template <typename T, typename A>
void reduce_typed(int op, const T* x, int64_t outer, int64_t n, int64_t inner, T* out, int64_t* index) {
  if (op == R_MAX || op == R_MIN) {
    if (n == 0) throw std::invalid_argument("max/min over an empty axis");
    return reduce_extreme<T>(op == R_MAX, x, outer, n, inner, out, index);
  }
  reduce_sum_like<T, A>(op, x, outer, n, inner, out);
}

}  // namespace

void reduce_axis(int op, int dtype, const void* x, int64_t outer, int64_t n, int64_t inner, void* out, int64_t* index) {
  switch (dtype) {
    case D_F32: return reduce_typed<float, float>(op, static_cast<const float*>(x), outer, n, inner, static_cast<float*>(out), index);
    case D_F64: return reduce_typed<double, double>(op, static_cast<const double*>(x), outer, n, inner, static_cast<double*>(out), index);
    case D_I32: return reduce_typed<int32_t, int64_t>(op, static_cast<const int32_t*>(x), outer, n, inner, static_cast<int32_t*>(out), index);
    case D_I64: return reduce_typed<int64_t, int64_t>(op, static_cast<const int64_t*>(x), outer, n, inner, static_cast<int64_t*>(out), index);
    case D_U8:
    case D_BOOL: return reduce_typed<uint8_t, int64_t>(op, static_cast<const uint8_t*>(x), outer, n, inner, static_cast<uint8_t*>(out), index);
    default: throw std::invalid_argument("reduce: float32, float64, int32, int64, uint8 or bool");
  }
}

}  // namespace peftjs
