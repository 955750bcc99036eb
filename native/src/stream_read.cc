// The memory read bandwidth a kernel can reach: a sum over a large buffer, split among the threads
// (stream_read.h). Far below the FMA and load limits per byte, so its speed is the speed of memory.
// What memory-bound kernels (few-row products) are judged against.
#include <algorithm>
#include <vector>

#include "cpu.h"
#include "modules.h"
#include "napi_util.h"
#include "stream_read.h"
#include "threadpool.h"

namespace peftjs {
namespace {

// The widest streaming sum this CPU runs; the portable loop (independent partial sums the compiler
// vectorises for the generic target) elsewhere.
float sum_range(const float* x, int64_t n) {
#if PEFTJS_X86
  if (simd_level() >= Simd::Avx512) return stream_detail::sum_avx512(x, n);
  if (simd_level() >= Simd::Avx2) return stream_detail::sum_avx2(x, n);
#endif
  constexpr int kLanes = 32;
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += x[i + l];
  float s = 0.0f;
  for (; i < n; ++i) s += x[i];
  for (float a : acc) s += a;
  return s;
}

// streamRead(x: Float32Array): the sum of x (returned so that the reads cannot be optimised away).
Napi::Value stream_read(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(info.Env(), "streamRead: expected one Float32Array");
  }
  const float* x = ptr<float>(info[0]);
  const int64_t n = length_of(info[0]);
  const int threads = num_threads();
  const int64_t chunk = (n + threads - 1) / threads;
  std::vector<float> partial(threads, 0.0f);
  parallel_for(threads, [&](int64_t t) {
    const int64_t begin = std::min(n, t * chunk);
    partial[t] = sum_range(x + begin, std::min(n, begin + chunk) - begin);
  });
  float s = 0.0f;
  for (float p : partial) s += p;
  return Napi::Number::New(info.Env(), s);
}

}  // namespace

void register_stream_read(Napi::Env env, Napi::Object exports) {
  exports.Set("streamRead", Napi::Function::New(env, stream_read));
}

}  // namespace peftjs
