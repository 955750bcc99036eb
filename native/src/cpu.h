// Which SIMD instruction set the kernels use, chosen once at run time from what the CPU has.
#pragma once

namespace peftjs {

enum class Simd { Portable = 0, Avx2 = 1, Avx512 = 2 };

// The best level the CPU supports, capped by PEFTJS_SIMD=portable|avx2|avx512 if set.
Simd simd_level();
const char* simd_name(Simd level);

}  // namespace peftjs
