#include "cpu.h"

#include <cstdlib>
#include <cstring>

namespace peftjs {
namespace {

Simd detect() {
  Simd best = Simd::Portable;
#if PEFTJS_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) {
    best = Simd::Avx2;
  }
  if (best == Simd::Avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
    best = Simd::Avx512;
  }
#endif
  if (const char* cap = std::getenv("PEFTJS_SIMD")) {
    Simd wanted = std::strcmp(cap, "portable") == 0 ? Simd::Portable
                  : std::strcmp(cap, "avx2") == 0  ? Simd::Avx2
                                                   : Simd::Avx512;
    if (wanted < best) best = wanted;
  }
  return best;
}

}  // namespace

Simd simd_level() {
  static const Simd level = detect();
  return level;
}

const char* simd_name(Simd level) {
  switch (level) {
    case Simd::Avx512:
      return "avx512";
    case Simd::Avx2:
      return "avx2";
    default:
#if defined(__wasm_relaxed_simd__)
      return "relaxed-simd";  // simd128 and the relaxed SIMD GEMM (wasm/gemm_wasm128.cc)
#elif defined(__wasm_simd128__)
      return "simd128";
#else
      return "portable";
#endif
  }
}

}  // namespace peftjs
