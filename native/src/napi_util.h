// Small helpers for reading kernel arguments from JavaScript: typed arrays become raw pointers,
// numbers become integers. Kernels below this layer never see a JS value.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

namespace peftjs {

template <typename T>
T* ptr(const Napi::Value& v) {
  auto arr = v.As<Napi::TypedArray>();
  return reinterpret_cast<T*>(static_cast<uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset());
}

inline int64_t i64(const Napi::Value& v) { return v.As<Napi::Number>().Int64Value(); }
inline double f64(const Napi::Value& v) { return v.As<Napi::Number>().DoubleValue(); }
inline bool flag(const Napi::Value& v) { return v.ToBoolean().Value(); }

// Reads a JS array of integers (shapes, strides) into a fixed-capacity buffer.
constexpr int kMaxDims = 8;
struct Dims {
  int n = 0;
  int64_t v[kMaxDims];
};
inline Dims dims(const Napi::Value& value) {
  Dims d;
  auto arr = value.As<Napi::Array>();
  d.n = static_cast<int>(arr.Length());
  if (d.n > kMaxDims) {
    throw Napi::RangeError::New(value.Env(), "peftjs native: more than 8 dimensions (" + std::to_string(d.n) + ")");
  }
  for (int i = 0; i < d.n; ++i) d.v[i] = arr.Get(static_cast<uint32_t>(i)).As<Napi::Number>().Int64Value();
  return d;
}

}  // namespace peftjs

namespace peftjs {

// Elements in a typed array (any element type).
inline int64_t length_of(const Napi::Value& v) { return static_cast<int64_t>(v.As<Napi::TypedArray>().ElementLength()); }

// Throws unless every element a strided view touches lies inside the typed array.
inline void check_view(const Napi::Value& arr, int64_t offset, const Dims& shape, const Dims& strides, const char* what) {
  int64_t lo = offset, hi = offset, count = 1;
  for (int d = 0; d < shape.n; ++d) {
    count *= shape.v[d];
    if (shape.v[d] == 0) continue;
    const int64_t reach = (shape.v[d] - 1) * strides.v[d];
    if (reach < 0) lo += reach; else hi += reach;
  }
  if (count > 0 && (lo < 0 || hi >= length_of(arr))) {
    throw Napi::RangeError::New(arr.Env(), std::string("peftjs native: ") + what + " reaches elements [" +
                                               std::to_string(lo) + ", " + std::to_string(hi) + "] of a buffer of " +
                                               std::to_string(length_of(arr)));
  }
}

inline void check_length(const Napi::Value& arr, int64_t offset, int64_t count, const char* what) {
  if (offset < 0 || count < 0 || offset + count > length_of(arr)) {
    throw Napi::RangeError::New(arr.Env(), std::string("peftjs native: ") + what + " needs " + std::to_string(count) +
                                               " elements at offset " + std::to_string(offset) + " of a buffer of " +
                                               std::to_string(length_of(arr)));
  }
}

inline int64_t numel(const Dims& shape) {
  int64_t n = 1;
  for (int d = 0; d < shape.n; ++d) n *= shape.v[d];
  return n;
}

// Pointer to element `offset` of a typed array, whatever its element type.
inline void* at(const Napi::Value& v, int64_t offset) {
  auto arr = v.As<Napi::TypedArray>();
  return static_cast<uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset() + offset * static_cast<int64_t>(arr.ElementSize());
}

}  // namespace peftjs
