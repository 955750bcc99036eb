// Which SIMD instruction set the kernels use, chosen once at run time from what the CPU has.
#pragma once

// The AVX2 / AVX-512 kernels exist only in x86 builds; the WebAssembly build (scripts/build-wasm.cjs)
// has the portable level, with its 128-bit SIMD kernels (native/src/wasm/) where the portable ones
// would run.
#if defined(__x86_64__) || defined(__i386__)
#define PEFTJS_X86 1
#else
#define PEFTJS_X86 0
#endif

namespace peftjs {

enum class Simd { Portable = 0, Avx2 = 1, Avx512 = 2 };

// The best level the CPU supports, capped by PEFTJS_SIMD=portable|avx2|avx512 if set. simd_name says
// 'simd128' for the portable level of the WebAssembly build.
Simd simd_level();
const char* simd_name(Simd level);

}  // namespace peftjs
