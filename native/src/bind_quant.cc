// JS bindings of the quantised-weight kernels (native/src/quant/). A 4-bit weight is passed as the
// QuantState4 object of src/quant/state.ts, an int8 weight as a QuantStateInt8; every buffer is checked
// against the shape and block size here, so the kernels never read out of bounds.
#include <string>

#include "modules.h"
#include "napi_util.h"
#include "quant/quant.h"

namespace peftjs {
namespace {

using quant::Weight4;
using quant::WeightInt8;

std::string str(int64_t v) { return std::to_string(v); }

struct Call {
  const Napi::CallbackInfo& info;
  const char* fn;

  Napi::Env env() const { return info.Env(); }
  [[noreturn]] void type_error(const std::string& m) const { throw Napi::TypeError::New(env(), std::string(fn) + ": " + m); }
  [[noreturn]] void range_error(const std::string& m) const { throw Napi::RangeError::New(env(), std::string(fn) + ": " + m); }

  void arity(size_t n) const {
    if (info.Length() != n) type_error("expected " + str(n) + " arguments, got " + str(info.Length()));
  }
  int64_t size(const Napi::Value& v, const std::string& name) const {
    if (!v.IsNumber()) type_error(name + " must be a number");
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0) || d != static_cast<double>(static_cast<int64_t>(d))) range_error(name + " must be a non-negative integer, got " + std::to_string(d));
    return static_cast<int64_t>(d);
  }
  // A typed array of the given type holding exactly `length` elements (length < 0: any).
  template <typename T>
  T* array(const Napi::Value& v, napi_typedarray_type type, const char* type_name, const std::string& name,
           int64_t length) const {
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) type_error(name + " must be a " + type_name);
    const int64_t have = length_of(v);
    if (length >= 0 && have != length) range_error(name + " must hold " + str(length) + " elements, got " + str(have));
    return static_cast<T*>(at(v, 0));
  }
  float* f32(const Napi::Value& v, const std::string& name, int64_t length) const {
    return array<float>(v, napi_float32_array, "Float32Array", name, length);
  }
  // A float32, bf16 or f16 source (srcType 0, 1, 2: Float32Array or Uint16Array of the bits).
  const void* source(const Napi::Value& v, const Napi::Value& type, int64_t length, BType* bt) const {
    const int64_t t = size(type, "srcType");
    if (t > 2) range_error("srcType must be 0 (float32), 1 (bfloat16) or 2 (float16), got " + str(t));
    *bt = static_cast<BType>(t);
    if (t == 0) return f32(v, "src", length);
    return array<uint16_t>(v, napi_uint16_array, "Uint16Array (bf16/f16 bits)", "src", length);
  }
  Napi::Object object(const Napi::Value& v, const std::string& name) const {
    if (!v.IsObject()) type_error(name + " must be an object");
    return v.As<Napi::Object>();
  }
};

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// [rows, cols] of a weight shape: a 2-D weight as it is, any other shape as [numel, 1].
void matrix_shape(const Call& c, const Napi::Value& v, int64_t* rows, int64_t* cols) {
  if (!v.IsArray()) c.type_error("weight.shape must be an array");
  Dims d = dims(v);
  for (int i = 0; i < d.n; ++i)
    if (d.v[i] < 0) c.range_error("weight.shape has a negative size");
  *rows = d.n == 2 ? d.v[0] : numel(d);
  *cols = d.n == 2 ? d.v[1] : 1;
}

int64_t block_size(const Call& c, const Napi::Value& v, const std::string& name) {
  const int64_t b = c.size(v, name);
  if (b < 32 || b > 4096 || (b & (b - 1)) != 0) c.range_error(name + " must be a power of two from 32 to 4096, got " + str(b));
  return b;
}

Weight4 weight4(const Call& c, const Napi::Value& v) {
  Napi::Object o = c.object(v, "weight (a QuantState4)");
  Weight4 w{};
  matrix_shape(c, o.Get("shape"), &w.rows, &w.cols);
  w.block = block_size(c, o.Get("blockSize"), "weight.blockSize");
  const int64_t n = w.numel(), blocks = ceil_div(n, w.block);
  w.packed = c.array<uint8_t>(o.Get("packed"), napi_uint8_array, "Uint8Array", "weight.packed", ceil_div(n, 2));
  w.code = c.f32(o.Get("code"), "weight.code", 16);
  const Napi::Value absmax = o.Get("absmax"), nested = o.Get("nested");
  const bool has_absmax = !absmax.IsNull() && !absmax.IsUndefined(), has_nested = !nested.IsNull() && !nested.IsUndefined();
  if (has_absmax == has_nested) c.type_error("weight needs exactly one of absmax (float32) and nested (double quantisation)");
  if (has_absmax) {
    w.absmax = c.f32(absmax, "weight.absmax", blocks);
    return w;
  }
  Napi::Object q = c.object(nested, "weight.nested");
  w.nested_block = c.size(q.Get("blockSize"), "weight.nested.blockSize");
  if (w.nested_block == 0) c.range_error("weight.nested.blockSize must be positive");
  w.nested_codes = c.array<uint8_t>(q.Get("codes"), napi_uint8_array, "Uint8Array", "weight.nested.codes", blocks);
  w.nested_code = c.f32(q.Get("code"), "weight.nested.code", 256);
  w.nested_absmax = c.f32(q.Get("absmax"), "weight.nested.absmax", ceil_div(blocks, w.nested_block));
  if (!q.Get("offset").IsNumber()) c.type_error("weight.nested.offset must be a number");
  w.offset = q.Get("offset").As<Napi::Number>().FloatValue();
  return w;
}

WeightInt8 weight_int8(const Call& c, const Napi::Value& v) {
  Napi::Object o = c.object(v, "weight (a QuantStateInt8)");
  WeightInt8 w{};
  matrix_shape(c, o.Get("shape"), &w.rows, &w.cols);
  w.data = c.array<int8_t>(o.Get("data"), napi_int8_array, "Int8Array", "weight.data", w.rows * w.cols);
  w.row_absmax = c.f32(o.Get("rowAbsmax"), "weight.rowAbsmax", w.rows);
  return w;
}

// quantize4bit(src, srcType, blockSize, code, packed, absmax)
void quantize4bit(const Napi::CallbackInfo& info) {
  Call c{info, "quantize4bit"};
  c.arity(6);
  BType bt;
  const void* src = c.source(info[0], info[1], -1, &bt);
  const int64_t n = length_of(info[0]), block = block_size(c, info[2], "blockSize");
  const float* code = c.f32(info[3], "code", 16);
  uint8_t* packed = c.array<uint8_t>(info[4], napi_uint8_array, "Uint8Array", "packed", ceil_div(n, 2));
  quant::quantize_4bit(src, bt, n, block, code, packed, c.f32(info[5], "absmax", ceil_div(n, block)));
}

// quantizeBlockwise8bit(src, blockSize, code, out, absmax)
void quantize_blockwise8(const Napi::CallbackInfo& info) {
  Call c{info, "quantizeBlockwise8bit"};
  c.arity(5);
  const float* src = c.f32(info[0], "src", -1);
  const int64_t n = length_of(info[0]), block = c.size(info[1], "blockSize");
  if (block == 0) c.range_error("blockSize must be positive");
  const float* code = c.f32(info[2], "code", 256);
  uint8_t* out = c.array<uint8_t>(info[3], napi_uint8_array, "Uint8Array", "out", n);
  quant::quantize_blockwise_8bit(src, n, block, code, out, c.f32(info[4], "absmax", ceil_div(n, block)));
}

// quantizeInt8Rows(src, srcType, rows, cols, out, rowAbsmax)
void quantize_int8_rows(const Napi::CallbackInfo& info) {
  Call c{info, "quantizeInt8Rows"};
  c.arity(6);
  const int64_t rows = c.size(info[2], "rows"), cols = c.size(info[3], "cols");
  BType bt;
  const void* src = c.source(info[0], info[1], rows * cols, &bt);
  int8_t* out = c.array<int8_t>(info[4], napi_int8_array, "Int8Array", "out", rows * cols);
  quant::quantize_int8_rows(src, bt, rows, cols, out, c.f32(info[5], "rowAbsmax", rows));
}

// dequantize4bit(weight, out) / dequantizeInt8Rows(weight, out)
void dequantize4bit(const Napi::CallbackInfo& info) {
  Call c{info, "dequantize4bit"};
  c.arity(2);
  const Weight4 w = weight4(c, info[0]);
  quant::dequantize_4bit(w, c.f32(info[1], "out", w.numel()));
}
void dequantize_int8_rows(const Napi::CallbackInfo& info) {
  Call c{info, "dequantizeInt8Rows"};
  c.arity(2);
  const WeightInt8 w = weight_int8(c, info[0]);
  quant::dequantize_int8_rows(w, c.f32(info[1], "out", w.rows * w.cols));
}

// linear4bit(x, M, weight, bias | null, y[, bf16X]) and linearInt8(x, M, weight, bias | null, y):
// y [M, out] = x [M, in]·Wᵀ + bias. bf16X: x is in bf16 (a bf16 compute dtype; quant::linear4bit).
template <bool Int8>
void linear(const Napi::CallbackInfo& info) {
  Call c{info, Int8 ? "linearInt8" : "linear4bit"};
  c.arity(!Int8 && info.Length() == 6 ? 6 : 5);
  const int64_t M = c.size(info[1], "M");
  if (Int8) {
    const WeightInt8 w = weight_int8(c, info[2]);
    const float* bias = info[3].IsNull() ? nullptr : c.f32(info[3], "bias", w.rows);
    quant::linear_int8(c.f32(info[0], "x", M * w.cols), M, w, bias, c.f32(info[4], "y", M * w.rows));
  } else {
    const Weight4 w = weight4(c, info[2]);
    const float* bias = info[3].IsNull() ? nullptr : c.f32(info[3], "bias", w.rows);
    const bool bf16_x = info.Length() == 6 && info[5].ToBoolean().Value();
    quant::linear4bit(c.f32(info[0], "x", M * w.cols), M, w, bias, c.f32(info[4], "y", M * w.rows), bf16_x);
  }
}

// linear4bitBackward(gy, M, weight, gx) and linearInt8Backward(...): gx [M, in] = gy [M, out]·W.
template <bool Int8>
void linear_backward(const Napi::CallbackInfo& info) {
  Call c{info, Int8 ? "linearInt8Backward" : "linear4bitBackward"};
  c.arity(4);
  const int64_t M = c.size(info[1], "M");
  if (Int8) {
    const WeightInt8 w = weight_int8(c, info[2]);
    quant::linear_int8_backward(c.f32(info[0], "gy", M * w.rows), M, w, c.f32(info[3], "gx", M * w.cols));
  } else {
    const Weight4 w = weight4(c, info[2]);
    quant::linear4bit_backward(c.f32(info[0], "gy", M * w.rows), M, w, c.f32(info[3], "gx", M * w.cols));
  }
}

}  // namespace

void register_quant(Napi::Env env, Napi::Object exports) {
  exports.Set("quantize4bit", Napi::Function::New(env, quantize4bit));
  exports.Set("quantizeBlockwise8bit", Napi::Function::New(env, quantize_blockwise8));
  exports.Set("quantizeInt8Rows", Napi::Function::New(env, quantize_int8_rows));
  exports.Set("dequantize4bit", Napi::Function::New(env, dequantize4bit));
  exports.Set("dequantizeInt8Rows", Napi::Function::New(env, dequantize_int8_rows));
  exports.Set("linear4bit", Napi::Function::New(env, linear<false>));
  exports.Set("linearInt8", Napi::Function::New(env, linear<true>));
  exports.Set("linear4bitBackward", Napi::Function::New(env, linear_backward<false>));
  exports.Set("linearInt8Backward", Napi::Function::New(env, linear_backward<true>));
}

}  // namespace peftjs
