// JavaScript binding of the grouped LoRA kernel (declared in src/tensor/native/nn.ts): sgmvLora.
// Every row index, rank and weight length is checked before any memory is touched.
#include <string>
#include <vector>

#include "lora/sgmv.h"
#include "modules.h"
#include "nn/args.h"

namespace peftjs {
namespace {

using nn::Args;

// A LoRA weight: Float32Array (float32) or Uint16Array (bfloat16 bits) of exactly `expected` elements.
std::pair<const void*, BType> weight(const Args& a, const Napi::Value& v, const std::string& name, int64_t expected) {
  if (!v.IsTypedArray()) throw Napi::TypeError::New(a.env(), a.prefix() + name + " must be a typed array");
  const auto array = v.As<Napi::TypedArray>();
  const napi_typedarray_type type = array.TypedArrayType();
  if (type != napi_float32_array && type != napi_uint16_array) {
    throw Napi::TypeError::New(a.env(), a.prefix() + name + " must be a Float32Array (float32) or Uint16Array (bfloat16 bits)");
  }
  const int64_t have = static_cast<int64_t>(array.ElementLength());
  if (have != expected) a.range_error(name + " has " + std::to_string(have) + " elements; expected " + std::to_string(expected));
  return {ptr<uint8_t>(v), type == napi_float32_array ? BType::F32 : BType::BF16};
}

const int32_t* int32s(const Args& a, const Napi::Value& v, const char* name, int64_t expected) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(a.env(), a.prefix() + name + " must be an Int32Array");
  }
  const int64_t have = static_cast<int64_t>(v.As<Napi::TypedArray>().ElementLength());
  if (expected >= 0 && have != expected) a.range_error(std::string(name) + " has " + std::to_string(have) + " elements; expected " + std::to_string(expected));
  return ptr<int32_t>(v);
}

}  // namespace

void register_sgmv(Napi::Env env, Napi::Object exports) {
  // sgmvLora(x, out, batch, T, in, outFeatures, rows, starts, ranks, scales, loraA[], loraB[])
  exports.Set("sgmvLora", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    const Args a(info, "sgmvLora", 12);
    const int64_t batch = a.size(2, "batch"), T = a.size(3, "T"), in = a.size(4, "in"), out_features = a.size(5, "outFeatures");
    std::string what;
    const float* x = a.floats<float>(0, "x", a.product({{"batch", batch}, {"T", T}, {"in", in}}, what), what);
    float* out = a.floats<float>(1, "out", a.product({{"batch", batch}, {"T", T}, {"outFeatures", out_features}}, what), what);
    if (!info[10].IsArray() || !info[11].IsArray()) throw Napi::TypeError::New(a.env(), a.prefix() + "loraA and loraB must be arrays of weights");
    const auto as = info[10].As<Napi::Array>(), bs = info[11].As<Napi::Array>();
    const int64_t segments = static_cast<int64_t>(as.Length());
    if (static_cast<int64_t>(bs.Length()) != segments) a.range_error("loraA and loraB must have one weight per segment");
    const int32_t* starts = int32s(a, info[7], "starts", segments + 1);
    const int32_t* ranks = int32s(a, info[8], "ranks", segments);
    if (!info[9].IsTypedArray() || info[9].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
        static_cast<int64_t>(info[9].As<Napi::TypedArray>().ElementLength()) != segments) {
      throw Napi::TypeError::New(a.env(), a.prefix() + "scales must be a Float32Array with one scale per segment");
    }
    const float* scales = ptr<float>(info[9]);
    const int64_t row_count = static_cast<int64_t>(info[6].IsTypedArray() ? info[6].As<Napi::TypedArray>().ElementLength() : 0);
    const int32_t* rows = int32s(a, info[6], "rows", row_count);
    if (starts[0] != 0 || starts[segments] != row_count) a.range_error("starts must run from 0 to the number of rows (" + std::to_string(row_count) + ")");
    for (int64_t i = 0; i < row_count; ++i) {
      if (rows[i] < 0 || rows[i] >= batch) a.range_error("row " + std::to_string(rows[i]) + " is outside the batch of " + std::to_string(batch));
    }
    std::vector<lora::SgmvSegment> segs(static_cast<size_t>(segments));
    for (int64_t s = 0; s < segments; ++s) {
      if (starts[s + 1] < starts[s]) a.range_error("starts must not decrease");
      if (ranks[s] < 1) a.range_error("segment " + std::to_string(s) + " has rank " + std::to_string(ranks[s]) + "; ranks are at least 1");
      const std::string n = std::to_string(s);
      const auto [A, at] = weight(a, as.Get(static_cast<uint32_t>(s)), "loraA[" + n + "]", ranks[s] * in);
      const auto [B, bt] = weight(a, bs.Get(static_cast<uint32_t>(s)), "loraB[" + n + "]", out_features * ranks[s]);
      segs[static_cast<size_t>(s)] = {rows + starts[s], starts[s + 1] - starts[s], ranks[s], scales[s], A, at, B, bt};
    }
    lora::sgmv_lora(x, out, T, in, out_features, segs.data(), segments);
  }, "sgmvLora"));
}

}  // namespace peftjs
