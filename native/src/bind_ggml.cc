// JS bindings of ggml's block-type kernels (native/src/ggml/). A weight is passed as
// { type: 'Q4_0' | ... | 'Q8_K', shape: [rows, cols], data: Uint8Array } (src/gguf/quant/tensor.ts's
// GgmlTensor); its byte length is checked against the shape and the type's blocks here, and ids against
// the rows, so the kernels never read out of bounds.
#include <algorithm>
#include <string>
#include <vector>

#include "ggml/ggml.h"
#include "modules.h"
#include "napi_util.h"

namespace peftjs {
namespace {

using ggml::Type;
using ggml::Weight;

const char* const kTypeNames[] = {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K", "Q8_K"};
static_assert(sizeof(kTypeNames) / sizeof(kTypeNames[0]) == static_cast<int>(Type::Count), "one name per type");

std::string str(int64_t v) { return std::to_string(v); }

struct Call {
  const Napi::CallbackInfo& info;
  const char* fn;

  [[noreturn]] void type_error(const std::string& m) const { throw Napi::TypeError::New(info.Env(), std::string(fn) + ": " + m); }
  [[noreturn]] void range_error(const std::string& m) const { throw Napi::RangeError::New(info.Env(), std::string(fn) + ": " + m); }
  void arity(size_t n) const {
    if (info.Length() != n) type_error("expected " + str(n) + " arguments, got " + str(info.Length()));
  }
  int64_t size(const Napi::Value& v, const std::string& name) const {
    if (!v.IsNumber()) type_error(name + " must be a number");
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d <= 9007199254740991.0) || d != static_cast<double>(static_cast<int64_t>(d)))
      range_error(name + " must be a non-negative integer, got " + std::to_string(d));
    return static_cast<int64_t>(d);
  }
  template <typename T>
  T* array(const Napi::Value& v, napi_typedarray_type type, const char* type_name, const std::string& name, int64_t length) const {
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) type_error(name + " must be a " + type_name);
    if (length >= 0 && length_of(v) != length) range_error(name + " must hold " + str(length) + " elements, got " + str(length_of(v)));
    return static_cast<T*>(at(v, 0));
  }
  float* f32(const Napi::Value& v, const std::string& name, int64_t length) const {
    return array<float>(v, napi_float32_array, "Float32Array", name, length);
  }
};

Type type_of(const Call& c, const Napi::Value& v) {
  if (!v.IsString()) c.type_error("weight.type must be a ggml block type name such as 'Q4_0'");
  const std::string name = v.As<Napi::String>().Utf8Value();
  for (int t = 0; t < static_cast<int>(Type::Count); ++t)
    if (name == kTypeNames[t]) return static_cast<Type>(t);
  c.range_error("weight.type '" + name + "' is not a ggml block type (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, Q8_K)");
}

Weight weight(const Call& c, const Napi::Value& v) {
  if (!v.IsObject()) c.type_error("weight must be a GgmlTensor { type, shape, data }");
  Napi::Object o = v.As<Napi::Object>();
  Weight w{};
  w.type = type_of(c, o.Get("type"));
  const Napi::Value shape = o.Get("shape");
  if (!shape.IsArray() || shape.As<Napi::Array>().Length() != 2) c.type_error("weight.shape must be [rows, cols]");
  w.rows = c.size(shape.As<Napi::Array>().Get(0u), "weight.shape[0]");
  w.cols = c.size(shape.As<Napi::Array>().Get(1u), "weight.shape[1]");
  const ggml::Layout l = ggml::layout(w.type);
  if (w.cols % l.elements != 0)
    c.range_error("weight.shape[1] = " + str(w.cols) + " is not a whole number of " + kTypeNames[static_cast<int>(w.type)] + " blocks (" + str(l.elements) + " elements)");
  if (w.rows > (int64_t{1} << 40) / std::max<int64_t>(1, w.cols)) c.range_error("weight.shape is too large");
  w.data = c.array<uint8_t>(o.Get("data"), napi_uint8_array, "Uint8Array", "weight.data", w.rows * w.row_bytes());
  return w;
}

// ggmlDequantize(weight, out)
void dequantize(const Napi::CallbackInfo& info) {
  Call c{info, "ggmlDequantize"};
  c.arity(2);
  const Weight w = weight(c, info[0]);
  ggml::dequantize(w, c.f32(info[1], "out", w.rows * w.cols));
}

// ggmlGetRows(weight, ids: Int32Array, out): out [n, cols] = rows ids of the weight.
void get_rows(const Napi::CallbackInfo& info) {
  Call c{info, "ggmlGetRows"};
  c.arity(3);
  const Weight w = weight(c, info[0]);
  const int32_t* ids = c.array<int32_t>(info[1], napi_int32_array, "Int32Array", "ids", -1);
  const int64_t n = length_of(info[1]);
  for (int64_t i = 0; i < n; ++i)
    if (ids[i] < 0 || ids[i] >= w.rows) c.range_error("ids[" + str(i) + "] = " + str(ids[i]) + " is outside [0, " + str(w.rows) + ")");
  ggml::get_rows(w, ids, n, c.f32(info[2], "out", n * w.cols));
}

// ggmlLinear(x, M, weight, bias | null, y): y [M, rows] = x [M, cols]·Wᵀ + bias.
void linear(const Napi::CallbackInfo& info) {
  Call c{info, "ggmlLinear"};
  c.arity(5);
  const int64_t M = c.size(info[1], "M");
  const Weight w = weight(c, info[2]);
  const float* bias = info[3].IsNull() ? nullptr : c.f32(info[3], "bias", w.rows);
  ggml::linear(c.f32(info[0], "x", M * w.cols), M, w, bias, c.f32(info[4], "y", M * w.rows));
}

// ggmlLinearMany(x, M, weights[], biases[] (each Float32Array | null), ys[]): ys[w] [M, rows_w] = x [M, cols]·W_wᵀ
// + bias_w, for weights of the same cols read from one x (q/k/v, gate/up) in one call.
void linear_many(const Napi::CallbackInfo& info) {
  Call c{info, "ggmlLinearMany"};
  c.arity(5);
  const int64_t M = c.size(info[1], "M");
  if (!info[2].IsArray() || !info[3].IsArray() || !info[4].IsArray()) c.type_error("weights, biases and ys must be arrays");
  const Napi::Array wa = info[2].As<Napi::Array>(), ba = info[3].As<Napi::Array>(), ya = info[4].As<Napi::Array>();
  const uint32_t n = wa.Length();
  if (n == 0 || ba.Length() != n || ya.Length() != n)
    c.range_error("weights, biases and ys must have the same length (at least 1), got " + str(n) + ", " + str(ba.Length()) + ", " + str(ya.Length()));
  std::vector<Weight> ws;
  std::vector<const float*> biases;
  std::vector<float*> ys;
  for (uint32_t i = 0; i < n; ++i) {
    const std::string at = "[" + std::to_string(i) + "]";
    ws.push_back(weight(c, wa.Get(i)));
    if (ws[i].cols != ws[0].cols)
      c.range_error("weights" + at + " has " + str(ws[i].cols) + " cols, weights[0] " + str(ws[0].cols) + ": they must read the same x");
    const Napi::Value b = ba.Get(i);
    biases.push_back(b.IsNull() ? nullptr : c.f32(b, "biases" + at, ws[i].rows));
    ys.push_back(c.f32(ya.Get(i), "ys" + at, M * ws[i].rows));
  }
  const float* x = c.f32(info[0], "x", M * ws[0].cols);
  ggml::linear_many(x, M, ws.data(), biases.data(), ys.data(), static_cast<int>(n));
}

// ggmlLinearBackward(gy, M, weight, gx): gx [M, cols] = gy [M, rows]·W.
void linear_backward(const Napi::CallbackInfo& info) {
  Call c{info, "ggmlLinearBackward"};
  c.arity(4);
  const int64_t M = c.size(info[1], "M");
  const Weight w = weight(c, info[2]);
  ggml::linear_backward(c.f32(info[0], "gy", M * w.rows), M, w, c.f32(info[3], "gx", M * w.cols));
}

}  // namespace

void register_ggml(Napi::Env env, Napi::Object exports) {
  exports.Set("ggmlDequantize", Napi::Function::New(env, dequantize));
  exports.Set("ggmlGetRows", Napi::Function::New(env, get_rows));
  exports.Set("ggmlLinear", Napi::Function::New(env, linear));
  exports.Set("ggmlLinearMany", Napi::Function::New(env, linear_many));
  exports.Set("ggmlLinearBackward", Napi::Function::New(env, linear_backward));
}

}  // namespace peftjs
