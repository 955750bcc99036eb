// A Q4_0 / Q5_0 block's codes as 32 bytes in a 256-bit register (ggml's bytes_from_nibbles_32 /
// bytes_from_bits_32), for the files built with AVX2 or AVX-512 that read these blocks: the few-row
// kernel (int8_gemv_impl.h) and the panel packer (avx2/ggml_int8_prep_avx2.cc).
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace peftjs::ggml::detail {
// Per translation unit (each is compiled for its own instruction set).
namespace {

// The 32 nibbles of qs[16] as bytes: low nibbles (elements 0-15), then high nibbles (16-31).
inline __m256i nibbles(const uint8_t* qs) {
  const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), _mm256_set1_epi8(0x0F));
}

// Byte k = 0x10 where bit k of the 32-bit qh is set, else 0 (Q5_0's fifth bits).
inline __m256i fifth_bits(const uint8_t* qh) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
  __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)), shuf);
  bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
  return _mm256_and_si256(_mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1)), _mm256_set1_epi8(0x10));
}

}  // namespace
}  // namespace peftjs::ggml::detail
