#include "elementwise/elementwise.h"

#include <cstring>
#include <stdexcept>
#include <utility>

#include "elementwise/half.h"
#include "elementwise/ops.h"
#include "elementwise/strided.h"

namespace peftjs {
namespace {

const int64_t* const* pack(const int64_t* a, const int64_t* b = nullptr, const int64_t* c = nullptr) {
  thread_local const int64_t* p[3];
  p[0] = a, p[1] = b, p[2] = c;
  return p;
}

// One instantiation per op, so the switch in unary_apply folds away and the inner loop vectorises.
template <int OP, typename T>
void unary_kernel(const T* x, const StridedLayout<1>& L, T* y, T s0, T s1) {
  for_each_row<1>(L, [&](const int64_t* off, int64_t n, const int64_t* st, int64_t out) {
    const T* __restrict xs = x + off[0];
    T* __restrict ys = y + out;
    if (st[0] == 1) {
      for (int64_t i = 0; i < n; ++i) ys[i] = unary_apply<T>(OP, xs[i], s0, s1);
    } else {
      for (int64_t i = 0; i < n; ++i) ys[i] = unary_apply<T>(OP, xs[i * st[0]], s0, s1);
    }
  });
}

template <int OP, typename T>
void binary_kernel(const T* a, const T* b, const StridedLayout<2>& L, T* y) {
  for_each_row<2>(L, [&](const int64_t* off, int64_t n, const int64_t* st, int64_t out) {
    const T* __restrict as = a + off[0];
    const T* __restrict bs = b + off[1];
    T* __restrict ys = y + out;
    if (st[0] == 1 && st[1] == 1) {
      for (int64_t i = 0; i < n; ++i) ys[i] = binary_apply<T>(OP, as[i], bs[i]);
    } else if (st[0] == 1 && st[1] == 0) {
      const T bv = bs[0];
      for (int64_t i = 0; i < n; ++i) ys[i] = binary_apply<T>(OP, as[i], bv);
    } else if (st[0] == 0 && st[1] == 1) {
      const T av = as[0];
      for (int64_t i = 0; i < n; ++i) ys[i] = binary_apply<T>(OP, av, bs[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) ys[i] = binary_apply<T>(OP, as[i * st[0]], bs[i * st[1]]);
    }
  });
}

template <int OP, typename T>
void compare_kernel(const T* a, const T* b, const StridedLayout<2>& L, uint8_t* y) {
  for_each_row<2>(L, [&](const int64_t* off, int64_t n, const int64_t* st, int64_t out) {
    for (int64_t i = 0; i < n; ++i) y[out + i] = compare_apply<T>(OP, a[off[0] + i * st[0]], b[off[1] + i * st[1]]);
  });
}

template <typename T, int... OPS>
void dispatch_unary(int op, std::integer_sequence<int, OPS...>, const T* x, const StridedLayout<1>& L, T* y, T s0, T s1) {
  using Fn = void (*)(const T*, const StridedLayout<1>&, T*, T, T);
  static constexpr Fn table[] = {&unary_kernel<OPS, T>...};
  table[op](x, L, y, s0, s1);
}

template <typename T, int... OPS>
void dispatch_binary(int op, std::integer_sequence<int, OPS...>, const T* a, const T* b, const StridedLayout<2>& L, T* y) {
  using Fn = void (*)(const T*, const T*, const StridedLayout<2>&, T*);
  static constexpr Fn table[] = {&binary_kernel<OPS, T>...};
  table[op](a, b, L, y);
}

template <typename T, int... OPS>
void dispatch_compare(int op, std::integer_sequence<int, OPS...>, const T* a, const T* b, const StridedLayout<2>& L,
                      uint8_t* y) {
  using Fn = void (*)(const T*, const T*, const StridedLayout<2>&, uint8_t*);
  static constexpr Fn table[] = {&compare_kernel<OPS, T>...};
  table[op](a, b, L, y);
}

// Integer tensors support the exact ops only (arithmetic without division, min/max, neg, abs, sign,
// scalar add/mul, clamp, logical not); everything else is computed in floating point by the caller.
template <typename T>
void unary_int(int op, const T* x, const StridedLayout<1>& L, T* y, double s0, double s1) {
  for_each_row<1>(L, [&](const int64_t* off, int64_t n, const int64_t* st, int64_t out) {
    for (int64_t i = 0; i < n; ++i) {
      T v = x[off[0] + i * st[0]], r;
      switch (op) {
        case U_NEG: r = -v; break;
        case U_ABS: r = v < 0 ? -v : v; break;
        case U_SIGN: r = (v > 0) - (v < 0); break;
        case U_SQUARE: r = v * v; break;
        case U_ADD_SCALAR: r = v + static_cast<T>(s0); break;
        case U_MUL_SCALAR: r = v * static_cast<T>(s0); break;
        case U_RSUB_SCALAR: r = static_cast<T>(s0) - v; break;
        case U_CLAMP: r = v < s0 ? static_cast<T>(s0) : (v > s1 ? static_cast<T>(s1) : v); break;
        case U_LOGICAL_NOT: r = v == 0; break;
        case U_RELU: r = v > 0 ? v : 0; break;
        default: throw std::invalid_argument("unary op not supported for integer dtypes");
      }
      y[out + i] = r;
    }
  });
}

template <typename T>
void binary_int(int op, const T* a, const T* b, const StridedLayout<2>& L, T* y) {
  for_each_row<2>(L, [&](const int64_t* off, int64_t n, const int64_t* st, int64_t out) {
    for (int64_t i = 0; i < n; ++i) {
      T u = a[off[0] + i * st[0]], v = b[off[1] + i * st[1]], r;
      switch (op) {
        case B_ADD: r = u + v; break;
        case B_SUB: r = u - v; break;
        case B_MUL: r = u * v; break;
        case B_MAXIMUM: r = u > v ? u : v; break;
        case B_MINIMUM: r = u < v ? u : v; break;
        default: throw std::invalid_argument("binary op not supported for integer dtypes");
      }
      y[out + i] = r;
    }
  });
}

using Unaries = std::make_integer_sequence<int, U_NUM_OPS>;
using Binaries = std::make_integer_sequence<int, B_NUM_OPS>;

}  // namespace

void unary_strided(int op, int dtype, const void* x, int ndim, const int64_t* shape, const int64_t* xstrides, void* y,
                   double s0, double s1) {
  if (op < 0 || op >= U_NUM_OPS) throw std::invalid_argument("unknown unary op");
  auto L = collapse<1>(ndim, shape, pack(xstrides));
  switch (dtype) {
    case D_F32:
      return dispatch_unary<float>(op, Unaries{}, static_cast<const float*>(x), L, static_cast<float*>(y), float(s0),
                                   float(s1));
    case D_F64:
      return dispatch_unary<double>(op, Unaries{}, static_cast<const double*>(x), L, static_cast<double*>(y), s0, s1);
    case D_I32: return unary_int<int32_t>(op, static_cast<const int32_t*>(x), L, static_cast<int32_t*>(y), s0, s1);
    case D_I64: return unary_int<int64_t>(op, static_cast<const int64_t*>(x), L, static_cast<int64_t*>(y), s0, s1);
    case D_U8:
    case D_BOOL: return unary_int<uint8_t>(op, static_cast<const uint8_t*>(x), L, static_cast<uint8_t*>(y), s0, s1);
    default: throw std::invalid_argument("unary kernels take float32, float64, int32, int64, uint8 or bool");
  }
}

void binary_strided(int op, int dtype, const void* a, const int64_t* astrides, const void* b, const int64_t* bstrides,
                    int ndim, const int64_t* shape, void* out) {
  if (op < 0 || op >= B_NUM_OPS) throw std::invalid_argument("unknown binary op");
  auto L = collapse<2>(ndim, shape, pack(astrides, bstrides));
  auto* o8 = static_cast<uint8_t*>(out);
  const bool cmp = is_comparison(op);
  switch (dtype) {
    case D_F32: {
      auto *x = static_cast<const float*>(a), *z = static_cast<const float*>(b);
      return cmp ? dispatch_compare<float>(op, Binaries{}, x, z, L, o8)
                 : dispatch_binary<float>(op, Binaries{}, x, z, L, static_cast<float*>(out));
    }
    case D_F64: {
      auto *x = static_cast<const double*>(a), *z = static_cast<const double*>(b);
      return cmp ? dispatch_compare<double>(op, Binaries{}, x, z, L, o8)
                 : dispatch_binary<double>(op, Binaries{}, x, z, L, static_cast<double*>(out));
    }
    case D_I32: {
      auto *x = static_cast<const int32_t*>(a), *z = static_cast<const int32_t*>(b);
      return cmp ? dispatch_compare<int32_t>(op, Binaries{}, x, z, L, o8)
                 : binary_int<int32_t>(op, x, z, L, static_cast<int32_t*>(out));
    }
    case D_I64: {
      auto *x = static_cast<const int64_t*>(a), *z = static_cast<const int64_t*>(b);
      return cmp ? dispatch_compare<int64_t>(op, Binaries{}, x, z, L, o8)
                 : binary_int<int64_t>(op, x, z, L, static_cast<int64_t*>(out));
    }
    case D_U8:
    case D_BOOL: {
      auto *x = static_cast<const uint8_t*>(a), *z = static_cast<const uint8_t*>(b);
      return cmp ? dispatch_compare<uint8_t>(op, Binaries{}, x, z, L, o8) : binary_int<uint8_t>(op, x, z, L, o8);
    }
    default: throw std::invalid_argument("binary kernels take float32, float64, int32, int64, uint8 or bool");
  }
}

void where_strided(int dtype, const uint8_t* cond, const int64_t* cstrides, const void* a, const int64_t* astrides,
                   const void* b, const int64_t* bstrides, int ndim, const int64_t* shape, void* out) {
  auto L = collapse<3>(ndim, shape, pack(cstrides, astrides, bstrides));
  auto run = [&](auto* o, auto* x, auto* z) {
    for_each_row<3>(L, [&](const int64_t* off, int64_t n, const int64_t* st, int64_t at) {
      for (int64_t i = 0; i < n; ++i) {
        o[at + i] = cond[off[0] + i * st[0]] ? x[off[1] + i * st[1]] : z[off[2] + i * st[2]];
      }
    });
  };
  switch (dtype) {
    case D_F32: case D_I32: return run(static_cast<int32_t*>(out), static_cast<const int32_t*>(a), static_cast<const int32_t*>(b));
    case D_F64: case D_I64: return run(static_cast<int64_t*>(out), static_cast<const int64_t*>(a), static_cast<const int64_t*>(b));
    case D_BF16: case D_F16: return run(static_cast<uint16_t*>(out), static_cast<const uint16_t*>(a), static_cast<const uint16_t*>(b));
    default: return run(static_cast<uint8_t*>(out), static_cast<const uint8_t*>(a), static_cast<const uint8_t*>(b));
  }
}

void copy_strided(int elem_bytes, const void* src, const int64_t* sstrides, void* dst, const int64_t* dstrides, int ndim,
                  const int64_t* shape) {
  auto L = collapse<2>(ndim, shape, pack(sstrides, dstrides));
  auto run = [&](auto* s, auto* d) {
    for_each_row<2>(L, [&](const int64_t* off, int64_t n, const int64_t* st, int64_t) {
      if (st[0] == 1 && st[1] == 1) {
        std::memcpy(d + off[1], s + off[0], n * sizeof(*s));
      } else {
        for (int64_t i = 0; i < n; ++i) d[off[1] + i * st[1]] = s[off[0] + i * st[0]];
      }
    });
  };
  switch (elem_bytes) {
    case 1: return run(static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst));
    case 2: return run(static_cast<const uint16_t*>(src), static_cast<uint16_t*>(dst));
    case 4: return run(static_cast<const uint32_t*>(src), static_cast<uint32_t*>(dst));
    case 8: return run(static_cast<const uint64_t*>(src), static_cast<uint64_t*>(dst));
    default: throw std::invalid_argument("copy_strided: element size must be 1, 2, 4 or 8 bytes");
  }
}

}  // namespace peftjs
