// The part of node-addon-api (napi.h) that the bindings in native/src use, over Emscripten's
// embind `val`, so that the same bind_*.cc files build into the WebAssembly backend unchanged.
//
// Buffers: the JavaScript side (src/tensor/native/wasm/marshal.ts) copies every typed array of a
// call into the wasm heap and passes views of that heap instead, so a TypedArray here always
// views wasm memory. Its data address is its byteOffset (wasm addresses start at 0); to keep
// pointer arithmetic off the null pointer, ArrayBuffer().Data() returns the view's first byte
// and ByteOffset() returns 0, which gives the same Data() + ByteOffset() that napi_util.h reads.
//
// Functions: Function::New keeps the C++ callable in a table and stands for it by its index;
// native/wasm/entry.cc calls entries of that table for JavaScript. Errors are C++ exceptions
// (as with NAPI_CPP_EXCEPTIONS) that entry.cc turns into JavaScript errors of the same class.
#pragma once
#include <emscripten/val.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

enum napi_typedarray_type {
  napi_int8_array,
  napi_uint8_array,
  napi_uint8_clamped_array,
  napi_int16_array,
  napi_uint16_array,
  napi_int32_array,
  napi_uint32_array,
  napi_float32_array,
  napi_float64_array,
  napi_bigint64_array,
  napi_biguint64_array,
};

namespace Napi {

using JsValue = emscripten::val;

class Env {};

class Boolean;
class String;

class Value {
 public:
  Value() : v_(JsValue::undefined()) {}
  explicit Value(JsValue v) : v_(std::move(v)) {}

  Napi::Env Env() const { return {}; }
  const JsValue& js() const { return v_; }

  bool IsNull() const { return v_.isNull(); }
  bool IsUndefined() const { return v_.isUndefined(); }
  bool IsNumber() const { return v_.isNumber(); }
  bool IsBoolean() const { return v_.isTrue() || v_.isFalse(); }
  bool IsArray() const { return v_.isArray(); }
  bool IsString() const { return v_.isString(); }
  bool IsObject() const {
    const std::string t = v_.typeOf().as<std::string>();
    return (t == "object" && !v_.isNull()) || t == "function";
  }
  bool IsTypedArray() const {
    return JsValue::global("ArrayBuffer").call<bool>("isView", v_) && !v_.instanceof(JsValue::global("DataView"));
  }
  Boolean ToBoolean() const;
  String ToString() const;

  template <typename T>
  T As() const {
    return T(v_);
  }

 protected:
  JsValue v_;
};

class Boolean : public Value {
 public:
  using Value::Value;
  static Boolean New(Napi::Env, bool b) { return Boolean(JsValue(b)); }
  bool Value() const { return v_.as<bool>(); }
  operator bool() const { return Value(); }
};

class Number : public Value {
 public:
  using Value::Value;
  static Number New(Napi::Env, double d) { return Number(JsValue(d)); }
  double DoubleValue() const { return v_.as<double>(); }
  float FloatValue() const { return static_cast<float>(DoubleValue()); }
  // As napi_get_value_int64: NaN and infinities give 0, values outside int64 saturate.
  int64_t Int64Value() const {
    const double d = DoubleValue();
    if (!std::isfinite(d)) return 0;
    if (d >= 9223372036854775807.0) return INT64_MAX;
    if (d <= -9223372036854775808.0) return INT64_MIN;
    return static_cast<int64_t>(d);
  }
};

class String : public Value {
 public:
  using Value::Value;
  static String New(Napi::Env, const std::string& s) { return String(JsValue(s)); }
  static String New(Napi::Env, const char* s) { return String(JsValue(std::string(s))); }
  std::string Utf8Value() const { return v_.as<std::string>(); }
};

inline Boolean Value::ToBoolean() const { return Boolean(JsValue::global("Boolean")(v_)); }
inline String Value::ToString() const { return String(JsValue::global("String")(v_)); }

class Object : public Value {
 public:
  using Value::Value;
  static Object New(Napi::Env) { return Object(JsValue::object()); }
  Value Get(const std::string& key) const { return Value(v_[key]); }
  bool Has(const std::string& key) const { return v_.hasOwnProperty(key.c_str()); }
  void Set(const std::string& key, const Value& value) { v_.set(key, value.js()); }
  void Set(const std::string& key, double value) { v_.set(key, value); }
};

class Array : public Object {
 public:
  using Object::Object;
  uint32_t Length() const { return v_["length"].as<uint32_t>(); }
  Value Get(uint32_t i) const { return Value(v_[i]); }
};

// What a TypedArray's memory is in this shim: the bytes from the view's start (see the top).
class ArrayBuffer {
 public:
  explicit ArrayBuffer(void* data) : data_(data) {}
  void* Data() const { return data_; }

 private:
  void* data_;
};

class TypedArray : public Object {
 public:
  using Object::Object;
  napi_typedarray_type TypedArrayType() const {
    const std::string name = v_["constructor"]["name"].as<std::string>();
    static const std::pair<const char*, napi_typedarray_type> kinds[] = {
        {"Int8Array", napi_int8_array},       {"Uint8Array", napi_uint8_array},
        {"Uint8ClampedArray", napi_uint8_clamped_array}, {"Int16Array", napi_int16_array},
        {"Uint16Array", napi_uint16_array},   {"Int32Array", napi_int32_array},
        {"Uint32Array", napi_uint32_array},   {"Float32Array", napi_float32_array},
        {"Float64Array", napi_float64_array}, {"BigInt64Array", napi_bigint64_array},
        {"BigUint64Array", napi_biguint64_array},
    };
    for (const auto& [n, kind] : kinds) {
      if (name == n) return kind;
    }
    return napi_uint8_array;
  }
  size_t ElementLength() const { return v_["length"].as<size_t>(); }
  size_t ElementSize() const { return v_["BYTES_PER_ELEMENT"].as<size_t>(); }
  size_t ByteLength() const { return v_["byteLength"].as<size_t>(); }
  size_t ByteOffset() const { return 0; }
  Napi::ArrayBuffer ArrayBuffer() const {
    return Napi::ArrayBuffer(reinterpret_cast<void*>(static_cast<uintptr_t>(v_["byteOffset"].as<double>())));
  }
};

class CallbackInfo {
 public:
  explicit CallbackInfo(JsValue args) : args_(std::move(args)), length_(args_["length"].as<size_t>()) {}
  Napi::Env Env() const { return {}; }
  size_t Length() const { return length_; }
  Value operator[](size_t i) const { return i < length_ ? Value(args_[i]) : Value(); }

 private:
  JsValue args_;
  size_t length_;
};

class Error : public std::exception {
 public:
  Error(const char* js_class, std::string message) : js_class_(js_class), message_(std::move(message)) {}
  static Error New(Napi::Env, const std::string& message) { return Error("Error", message); }
  const char* what() const noexcept override { return message_.c_str(); }
  const char* JsClass() const { return js_class_; }

 private:
  const char* js_class_;
  std::string message_;
};

class TypeError : public Error {
 public:
  using Error::Error;
  static TypeError New(Napi::Env, const std::string& message) { return TypeError("TypeError", message); }
};

class RangeError : public Error {
 public:
  using Error::Error;
  static RangeError New(Napi::Env, const std::string& message) { return RangeError("RangeError", message); }
};

// The table of functions the bindings register; entry.cc calls into it.
using Callable = std::function<JsValue(const CallbackInfo&)>;
inline std::vector<Callable>& function_table() {
  static std::vector<Callable> table;
  return table;
}

class Function : public Value {
 public:
  using Value::Value;
  template <typename F>
  static Function New(Napi::Env, F fn) {
    auto& table = function_table();
    table.push_back([fn](const CallbackInfo& info) -> JsValue {
      if constexpr (std::is_void_v<std::invoke_result_t<F, const CallbackInfo&>>) {
        fn(info);
        return JsValue::undefined();
      } else {
        return Napi::Value(fn(info)).js();
      }
    });
    return Function(JsValue(static_cast<double>(table.size() - 1)));
  }
  template <typename F>
  static Function New(Napi::Env env, F fn, const char* /* name */) {
    return New(env, std::move(fn));
  }
};

}  // namespace Napi

// addon.cc names its entry point with this macro; entry.cc calls Init by this name.
#define NODE_API_MODULE(name, init) \
  Napi::Object peftjs_wasm_init(Napi::Env env, Napi::Object exports) { return init(env, exports); }
