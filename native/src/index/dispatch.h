// Calls fn(T{}) with T the element type the kernels compute in: by byte size for pure data
// movement, by dtype code for arithmetic.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

#include "elementwise/elementwise.h"

namespace peftjs {

template <typename Fn>
void by_elem_bytes(int elem_bytes, Fn fn) {
  switch (elem_bytes) {
    case 1: return fn(uint8_t{});
    case 2: return fn(uint16_t{});
    case 4: return fn(uint32_t{});
    case 8: return fn(uint64_t{});
    default: throw std::invalid_argument("element size " + std::to_string(elem_bytes) + " bytes");
  }
}

inline int dtype_bytes(int dtype) {
  switch (dtype) {
    case D_F64: case D_I64: return 8;
    case D_F32: case D_I32: return 4;
    case D_BF16: case D_F16: return 2;
    default: return 1;
  }
}

// float32, float64, int32, int64: the dtypes the arithmetic index kernels handle.
template <typename Fn>
void by_numeric_dtype(int dtype, const char* what, Fn fn) {
  switch (dtype) {
    case D_F32: return fn(float{});
    case D_F64: return fn(double{});
    case D_I32: return fn(int32_t{});
    case D_I64: return fn(int64_t{});
    default: throw std::invalid_argument(std::string(what) + ": float32, float64, int32 or int64 only");
  }
}

}  // namespace peftjs
