// The few-row integer kernel (decode) over raw Q4_0 / Q5_0 / Q8_0 / Q4_K blocks (int8_dot.h), written once for
// AVX2 and AVX-512 VNNI: `D` gives the integer dot of one block into 8 lanes (D::dot_u: unsigned weight
// bytes by signed x, D::dot_s: signed by signed; each lane the exact sum of 4 products). Each block of a
// row of W is unpacked once in registers (ggml's bytes_from_nibbles_32 / bytes_from_bits_32) and
// multiplied into every row of x. Included by native/src/{avx2,avx512}/ggml_int8_*.cc.
#pragma once
#include <immintrin.h>

#include <cstring>

#include "ggml/block_bytes_avx2.h"
#include "ggml/blocks.h"
#include "ggml/int8_dot.h"
#include "quant/quant.h"

namespace peftjs::ggml::detail {
// Everything here is per translation unit (each is compiled for its own instruction set).
namespace {

// lane_tree8 of int8_dot.h on a vector.
inline float tree8(__m256 a) {
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

// A block's f16 scale through F16C (both translation units have it): the exact conversion half_at's
// portable code does, without its branches in the innermost loop.
inline float half_f16c(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// How many rows of W one pass carries: independent accumulator chains hide the latency of the fused
// multiply-adds (one row's blocks form one chain), as many as the 16 vector registers leave room for.
template <int M>
constexpr int kWRows = M <= 2 ? 4 : (M <= 4 ? 2 : 1);

// Rows [j, j + R) of W by the M rows of x; each output is the one-row arithmetic of int8_dot.h.
template <typename D, Type T, int M, int R>
void gemv_int_pass(const Q8Few& x, const Weight& w, int64_t j, float* y, int64_t ldy) {
  constexpr int64_t kBytes = Block<T>::kBytes;
  const int64_t nb = x.nb, K = nb * kQ8Block, row_bytes = w.row_bytes();
  const uint8_t* rows = w.data + j * row_bytes;
  __m256 acc[R][M];
  for (int r = 0; r < R; ++r)
    for (int i = 0; i < M; ++i) acc[r][i] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    __m256i xs[M], corr[M];
    for (int i = 0; i < M; ++i) {
      xs[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.xs + i * K + b * kQ8Block));
      if constexpr (T != Type::Q8_0) {  // unsigned q = value + offset: Σ value · x = Σ q · x - offset · Σ x
        const __m256i xsum = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.xsum + (i * nb + b) * 8));
        corr[i] = T == Type::Q4_0 ? _mm256_slli_epi32(xsum, 3) : _mm256_slli_epi32(xsum, 4);
      }
    }
    for (int r = 0; r < R; ++r) {
      const uint8_t* blk = rows + r * row_bytes + b * kBytes;
      const float dw = half_f16c(blk);
      __m256i q;
      if constexpr (T == Type::Q4_0) q = nibbles(blk + 2);
      if constexpr (T == Type::Q5_0) q = _mm256_or_si256(nibbles(blk + 6), fifth_bits(blk + 2));
      if constexpr (T == Type::Q8_0) q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2));
      for (int i = 0; i < M; ++i) {
        __m256i s;
        if constexpr (T == Type::Q8_0)
          s = D::dot_s(q, xs[i]);
        else
          s = _mm256_sub_epi32(D::dot_u(q, xs[i]), corr[i]);
        const __m256 d = _mm256_set1_ps(dw * x.dx[i * nb + b]);
        acc[r][i] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s), acc[r][i]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int i = 0; i < M; ++i) y[i * ldy + j + r] = tree8(acc[r][i]);
}

// Decode streams W from memory once per token, and the hardware prefetcher alone leaves that stream
// latency-bound (~9 GB/s on one or two threads, where float weights stream at 20+): each pass asks
// for the bytes kAhead past its own rows (prefetches never fault, so past the end is harmless).
constexpr int64_t kAhead = 4096;
inline void prefetch_ahead(const uint8_t* rows, int64_t bytes) {
  for (int64_t o = 0; o < bytes; o += 64) _mm_prefetch(reinterpret_cast<const char*>(rows + kAhead + o), _MM_HINT_T0);
}

template <typename D, Type T, int M>
void gemv_int_rows(const Q8Few& x, const Weight& w, int64_t j0, int64_t j1, float* y, int64_t ldy) {
  constexpr int R = kWRows<M>;
  int64_t j = j0;
  for (; j + R <= j1; j += R) {
    prefetch_ahead(w.data + j * w.row_bytes(), R * w.row_bytes());
    gemv_int_pass<D, T, M, R>(x, w, j, y, ldy);
  }
  for (; j < j1; ++j) gemv_int_pass<D, T, M, 1>(x, w, j, y, ldy);
}

// Q4_K: per sub-block s of 32 (its own 6-bit scale and min), the nibbles' dot and the min's term
// fma(-(dmin · min · dx), float(lane sum of x), lane).
template <typename D, int M, int R>
void gemv_q4k_pass(const Q8Few& x, const Weight& w, int64_t j, float* y, int64_t ldy) {
  const int64_t nb = x.nb, K = nb * kQ8Block, row_bytes = w.row_bytes();
  const __m256i low = _mm256_set1_epi8(0x0F);
  const uint8_t* rows = w.data + j * row_bytes;
  __m256 acc[R][M];
  for (int r = 0; r < R; ++r)
    for (int i = 0; i < M; ++i) acc[r][i] = _mm256_setzero_ps();
  for (int64_t sb = 0; sb < nb / 8; ++sb) {
    for (int pair = 0; pair < 4; ++pair) {
      for (int h = 0; h < 2; ++h) {
        const int64_t b = sb * 8 + 2 * pair + h;
        for (int r = 0; r < R; ++r) {
          const uint8_t* blk = rows + r * row_bytes + sb * Block<Type::Q4_K>::kBytes;
          const float d = half_f16c(blk), dmin = half_f16c(blk + 2);
          const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16 + 32 * pair));
          const __m256i q = h == 0 ? _mm256_and_si256(v, low) : _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
          uint8_t sc, mn;
          scale_min_k4(2 * pair + h, blk + 4, &sc, &mn);
          const float d1 = d * sc, m1 = dmin * mn;
          for (int i = 0; i < M; ++i) {
            const __m256i xs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.xs + i * K + b * kQ8Block));
            const __m256i xsum = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.xsum + (i * nb + b) * 8));
            const float dx = x.dx[i * nb + b];
            acc[r][i] = _mm256_fmadd_ps(_mm256_set1_ps(d1 * dx), _mm256_cvtepi32_ps(D::dot_u(q, xs)), acc[r][i]);
            acc[r][i] = _mm256_fmadd_ps(_mm256_set1_ps(-(m1 * dx)), _mm256_cvtepi32_ps(xsum), acc[r][i]);
          }
        }
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int i = 0; i < M; ++i) y[i * ldy + j + r] = tree8(acc[r][i]);
}

template <typename D, int M>
void gemv_q4k_rows(const Q8Few& x, const Weight& w, int64_t j0, int64_t j1, float* y, int64_t ldy) {
  constexpr int R = kWRows<M>;
  int64_t j = j0;
  for (; j + R <= j1; j += R) {
    prefetch_ahead(w.data + j * w.row_bytes(), R * w.row_bytes());
    gemv_q4k_pass<D, M, R>(x, w, j, y, ldy);
  }
  for (; j < j1; ++j) gemv_q4k_pass<D, M, 1>(x, w, j, y, ldy);
}

template <typename D>
void gemv_q4k(int64_t m, const Q8Few& x, const Weight& w, int64_t j0, int64_t j1, float* y, int64_t ldy) {
  quant::detail::with_rows(m, [&](auto rows) { gemv_q4k_rows<D, decltype(rows)::value>(x, w, j0, j1, y, ldy); });
}

template <typename D, Type T>
void gemv_int_type(int64_t m, const Q8Few& x, const Weight& w, int64_t j0, int64_t j1, float* y, int64_t ldy) {
  quant::detail::with_rows(m, [&](auto rows) { gemv_int_rows<D, T, decltype(rows)::value>(x, w, j0, j1, y, ldy); });
}

template <typename D>
GemvInt gemv_int_for(Type t) {
  switch (t) {
    case Type::Q4_0: return gemv_int_type<D, Type::Q4_0>;
    case Type::Q5_0: return gemv_int_type<D, Type::Q5_0>;
    case Type::Q4_K: return gemv_q4k<D>;
    default: return gemv_int_type<D, Type::Q8_0>;
  }
}

}  // namespace
}  // namespace peftjs::ggml::detail
