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
