// JavaScript bindings of flash attention (declared in src/tensor/native/nn.ts).
#include <string>

#include "nn/args.h"
#include "nn/attention.h"

namespace peftjs::nn {
namespace {

// The sizes and options that follow the buffers, from argument i on:
// B, Hq, Hkv, Tq, Tk, D, scale, causal, window, biasB, biasH, dropoutP, seed.
AttnConfig attention_config(const Args& a, size_t i) {
  AttnConfig c;
  c.B = a.size(i, "B");
  c.Hq = a.size(i + 1, "Hq");
  c.Hkv = a.size(i + 2, "Hkv");
  c.Tq = a.size(i + 3, "Tq");
  c.Tk = a.size(i + 4, "Tk");
  c.D = a.size(i + 5, "D");
  c.scale = a.number(i + 6, "scale");
  c.causal = a.boolean(i + 7, "causal");
  c.window = a.size(i + 8, "window");
  c.bias_b = a.size(i + 9, "biasB");
  c.bias_h = a.size(i + 10, "biasH");
  c.dropout = a.number(i + 11, "dropoutP");
  const int64_t seed = a.size(i + 12, "seed");
  if (c.Hq < 1 || c.Hkv < 1 || c.Hq % c.Hkv != 0) {
    a.range_error("Hq (" + std::to_string(c.Hq) + ") must be a positive multiple of Hkv (" + std::to_string(c.Hkv) + ")");
  }
  if (c.D < 1) a.range_error("D must be at least 1");
  if (c.dropout < 0 || c.dropout >= 1) a.range_error("dropoutP must be in [0, 1), got " + std::to_string(c.dropout));
  if (seed > 0xFFFFFFFFLL) a.range_error("seed must be a uint32, got " + std::to_string(seed));
  c.seed = static_cast<uint32_t>(seed);
  c.kv_rows = c.Tk;
  return c;
}

// Checks and reads the buffers both passes share: q, k, v, bias, keyMask, out, lse at 0..6.
template <typename T>
AttnBuffers<T> attention_buffers(const Args& a, const AttnConfig& c) {
  std::string q_what, kv_what, lse_what, mask_what, bias_what;
  const int64_t nq = a.product({{"B", c.B}, {"Hq", c.Hq}, {"Tq", c.Tq}, {"D", c.D}}, q_what);
  int64_t nkv = a.product({{"B", c.B}, {"Hkv", c.Hkv}, {"Tk", c.Tk}, {"D", c.D}}, kv_what);
  if (c.kv_rows > c.Tk && nkv > 0) {  // heads kv_rows rows apart, the last one ending after its Tk rows
    std::string spanned;
    nkv = a.product({{"B", c.B}, {"Hkv", c.Hkv}, {"kvRows", c.kv_rows}, {"D", c.D}}, spanned);
    nkv -= (c.kv_rows - c.Tk) * c.D;
    const auto n = [](int64_t v) { return std::to_string(v); };
    kv_what = "B*Hkv*kvRows*D - (kvRows - Tk)*D = " + n(c.B) + "*" + n(c.Hkv) + "*" + n(c.kv_rows) + "*" + n(c.D) +
              " - (" + n(c.kv_rows) + " - " + n(c.Tk) + ")*" + n(c.D) + " = " + n(nkv);
  }
  const int64_t nlse = a.product({{"B", c.B}, {"Hq", c.Hq}, {"Tq", c.Tq}}, lse_what);
  const int64_t nmask = a.product({{"B", c.B}, {"Tk", c.Tk}}, mask_what);
  const int64_t nbias = a.product({{"biasB", c.bias_b}, {"biasH", c.bias_h}, {"Tq", c.Tq}, {"Tk", c.Tk}}, bias_what);
  AttnBuffers<T> io{};
  io.q = a.floats<T>(0, "q", nq, q_what);
  io.k = a.floats<T>(1, "k", nkv, kv_what);
  io.v = a.floats<T>(2, "v", nkv, kv_what);
  if (!a.is_null(3)) {
    if (c.bias_b != 1 && c.bias_b != c.B) {
      a.range_error("biasB must be 1 or B (" + std::to_string(c.B) + "), got " + std::to_string(c.bias_b));
    }
    if (c.bias_h != 1 && c.bias_h != c.Hq) {
      a.range_error("biasH must be 1 or Hq (" + std::to_string(c.Hq) + "), got " + std::to_string(c.bias_h));
    }
    io.bias = a.floats<T>(3, "bias", nbias, bias_what);
  }
  io.key_mask = a.bytes_or_null(4, "keyMask", nmask, mask_what);
  io.out = a.floats<T>(5, "out", nq, q_what);
  io.lse = a.floats<T>(6, "lse", nlse, lse_what);
  return io;
}

}  // namespace

void register_attention(Napi::Env env, Napi::Object exports) {
  export_kernel(env, exports, "attentionForward", 21, 0, "q", [](const Args& a, auto t) {
    using T = decltype(t);
    AttnConfig c = attention_config(a, 7);
    c.kv_rows = a.size(20, "kvRows");
    if (c.kv_rows < c.Tk) {
      a.range_error("kvRows (" + std::to_string(c.kv_rows) + ") must be at least Tk (" + std::to_string(c.Tk) + ")");
    }
    attention_forward<T>(c, attention_buffers<T>(a, c));
  });
  export_kernel(env, exports, "attentionBackward", 25, 0, "q", [](const Args& a, auto t) {
    using T = decltype(t);
    const AttnConfig c = attention_config(a, 12);
    AttnBuffers<T> io = attention_buffers<T>(a, c);
    std::string q_what, kv_what, bias_what;
    const int64_t nq = a.product({{"B", c.B}, {"Hq", c.Hq}, {"Tq", c.Tq}, {"D", c.D}}, q_what);
    const int64_t nkv = a.product({{"B", c.B}, {"Hkv", c.Hkv}, {"Tk", c.Tk}, {"D", c.D}}, kv_what);
    const int64_t nbias = a.product({{"biasB", c.bias_b}, {"biasH", c.bias_h}, {"Tq", c.Tq}, {"Tk", c.Tk}}, bias_what);
    io.g_out = a.floats<T>(7, "gOut", nq, q_what);
    io.gq = a.floats<T>(8, "gq", nq, q_what);
    io.gk = a.floats<T>(9, "gk", nkv, kv_what);
    io.gv = a.floats<T>(10, "gv", nkv, kv_what);
    if (!a.is_null(11) && io.bias == nullptr) a.range_error("gBias was given but bias is null");
    io.g_bias = a.floats_or_null<T>(11, "gBias", nbias, bias_what);
    attention_backward<T>(c, io);
  });
}

}  // namespace peftjs::nn
