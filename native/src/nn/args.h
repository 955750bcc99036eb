// Reads and checks the arguments of one nn kernel call from JavaScript. Float buffers must all be
// Float32Array or all Float64Array and hold exactly the elements the sizes say; index buffers are
// Int32Array or BigInt64Array. Every failure throws a TypeError or RangeError that names the
// function, the argument and the numbers involved.
#pragma once
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <new>
#include <string>
#include <type_traits>

#include "napi_util.h"
#include "nn/kernels.h"

namespace peftjs::nn {

class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* fn, size_t count) : info_(info), fn_(fn) {
    if (info.Length() != count) {
      throw Napi::TypeError::New(env(), prefix() + "expected " + std::to_string(count) + " arguments, got " +
                                            std::to_string(info.Length()));
    }
  }

  Napi::Env env() const { return info_.Env(); }
  std::string prefix() const { return std::string(fn_) + ": "; }
  [[noreturn]] void range_error(const std::string& message) const {
    throw Napi::RangeError::New(env(), prefix() + message);
  }

  // Whether argument i is a Float64Array (else it must be a Float32Array): picks the kernel's type.
  bool is_f64(size_t i, const char* name) const {
    const napi_typedarray_type type = typed_type(i, name);
    if (type != napi_float32_array && type != napi_float64_array) {
      throw Napi::TypeError::New(env(), prefix() + name + " must be a Float32Array or Float64Array");
    }
    return type == napi_float64_array;
  }

  // A non-negative integer size.
  int64_t size(size_t i, const char* name) const {
    const double v = number(i, name);
    if (v < 0 || v != std::floor(v) || v > 9007199254740991.0) {
      range_error(std::string(name) + " must be a non-negative integer, got " +
                  Napi::Value(info_[i]).ToString().Utf8Value());
    }
    return static_cast<int64_t>(v);
  }

  int64_t integer(size_t i, const char* name) const {
    const double v = number(i, name);
    if (v != std::floor(v) || std::fabs(v) > 9007199254740991.0) {
      range_error(std::string(name) + " must be an integer, got " + Napi::Value(info_[i]).ToString().Utf8Value());
    }
    return static_cast<int64_t>(v);
  }

  double number(size_t i, const char* name) const {
    if (!info_[i].IsNumber()) throw Napi::TypeError::New(env(), prefix() + name + " must be a number");
    const double v = info_[i].As<Napi::Number>().DoubleValue();
    if (!std::isfinite(v)) range_error(std::string(name) + " must be finite");
    return v;
  }

  bool boolean(size_t i, const char* name) const {
    if (!info_[i].IsBoolean()) throw Napi::TypeError::New(env(), prefix() + name + " must be a boolean");
    return info_[i].As<Napi::Boolean>().Value();
  }

  bool is_null(size_t i) const { return info_[i].IsNull() || info_[i].IsUndefined(); }

  // A T buffer (Float32Array for float, Float64Array for double) of exactly `expected` elements.
  template <typename T>
  T* floats(size_t i, const char* name, int64_t expected, const std::string& what) const {
    const napi_typedarray_type want = std::is_same_v<T, double> ? napi_float64_array : napi_float32_array;
    if (typed_type(i, name) != want) {
      throw Napi::TypeError::New(env(), prefix() + name + " must be a " +
                                            (std::is_same_v<T, double> ? "Float64Array" : "Float32Array") +
                                            " like the other float buffers of this call");
    }
    check_length(i, name, expected, what);
    return ptr<T>(info_[i]);
  }

  // The same, or null when the argument is null.
  template <typename T>
  T* floats_or_null(size_t i, const char* name, int64_t expected, const std::string& what) const {
    return is_null(i) ? nullptr : floats<T>(i, name, expected, what);
  }

  const uint8_t* bytes_or_null(size_t i, const char* name, int64_t expected, const std::string& what) const {
    if (is_null(i)) return nullptr;
    if (typed_type(i, name) != napi_uint8_array) {
      throw Napi::TypeError::New(env(), prefix() + name + " must be a Uint8Array");
    }
    check_length(i, name, expected, what);
    return ptr<uint8_t>(info_[i]);
  }

  Targets indices(size_t i, const char* name, int64_t expected, const std::string& what) const {
    const napi_typedarray_type type = typed_type(i, name);
    if (type != napi_int32_array && type != napi_bigint64_array) {
      throw Napi::TypeError::New(env(), prefix() + name + " must be an Int32Array or BigInt64Array");
    }
    check_length(i, name, expected, what);
    return type == napi_int32_array ? Targets{ptr<int32_t>(info_[i]), nullptr} : Targets{nullptr, ptr<int64_t>(info_[i])};
  }

  // The product of sizes, with "a*b*c = 2*3*4 = 24" in `what` for error messages.
  int64_t product(std::initializer_list<std::pair<const char*, int64_t>> factors, std::string& what) const {
    int64_t n = 1;
    std::string names, values;
    for (const auto& [name, value] : factors) {
      if (__builtin_mul_overflow(n, value, &n)) range_error(std::string("sizes overflow: ") + name);
      names += (names.empty() ? "" : "*") + std::string(name);
      values += (values.empty() ? "" : "*") + std::to_string(value);
    }
    what = factors.size() > 1 ? names + " = " + values + " = " + std::to_string(n) : names + " = " + std::to_string(n);
    return n;
  }

 private:
  napi_typedarray_type typed_type(size_t i, const char* name) const {
    if (!info_[i].IsTypedArray()) throw Napi::TypeError::New(env(), prefix() + name + " must be a typed array");
    return info_[i].As<Napi::TypedArray>().TypedArrayType();
  }

  void check_length(size_t i, const char* name, int64_t expected, const std::string& what) const {
    const int64_t have = static_cast<int64_t>(info_[i].As<Napi::TypedArray>().ElementLength());
    if (have != expected) {
      range_error(std::string(name) + " has " + std::to_string(have) + " elements; expected " + what);
    }
  }

  const Napi::CallbackInfo& info_;
  const char* fn_;
};

}  // namespace peftjs::nn

namespace peftjs::nn {

// Exports fn(args, T{}) as `name`: checks the argument count, takes T (float or double) from the
// type of argument `typed`, and turns an allocation failure into a JavaScript error.
template <typename Fn>
void export_kernel(Napi::Env env, Napi::Object exports, const char* name, size_t count, size_t typed,
                   const char* typed_name, Fn fn) {
  exports.Set(name, Napi::Function::New(
                        env,
                        [=](const Napi::CallbackInfo& info) {
                          Args args(info, name, count);
                          try {
                            if (args.is_f64(typed, typed_name)) {
                              fn(args, double{});
                            } else {
                              fn(args, float{});
                            }
                          } catch (const std::bad_alloc&) {
                            throw Napi::Error::New(info.Env(), std::string(name) + ": out of memory");
                          }
                        },
                        name));
}

// Registers the row kernels (bind_rows.cc), attention (bind_attention.cc) and the paged KV pool's
// kernels (bind_paged_attention.cc).
void register_row_kernels(Napi::Env env, Napi::Object exports);
void register_attention(Napi::Env env, Napi::Object exports);
void register_paged_attention(Napi::Env env, Napi::Object exports);

}  // namespace peftjs::nn
