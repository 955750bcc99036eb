// Prompt processing over ggml's block types as llama.cpp computes it: the activations quantised to Q8_0
// blocks (ggml-cpu's quantize_row_q8_0 on x86: d = amax / 127, q = round-to-nearest-even(x · 127 / amax),
// d kept as f16), the weight blocks that are int8 values times one scale per 32 elements (Q4_0, Q5_0,
// Q8_0) unpacked to int8, and per pair of blocks an integer dot product (vpdpbusd / vpmaddubsw) scaled
// in float by the product of the two blocks' scales, as ggml_vec_dot_q4_0_q8_0 and its siblings do.
//
// The arithmetic is fixed for every instruction set, so the AVX-512 (VNNI), AVX2 and portable kernels
// give the same floats bit for bit: 16 float lanes, block b of a row in lanes 8·(b mod 2) + l, l < 8;
// lane l of a block gets fma(sw · dx, float(Σ of the 4 integer products of its elements 4l..4l+3),
// lane) in block order (rows are padded to an even number of blocks with a zero block); then the lanes
// are summed as a tree: l + (l + 8), then + 4, + 2, + 1.
#pragma once
#include <cstdint>

#include "ggml/ggml.h"

namespace peftjs::ggml {

// True for the block types with an integer path (Q4_0, Q5_0, Q8_0) where this build has one (x86).
bool has_int8_dot(Type t);

// y [M, rows] = x [M, cols]·Wᵀ (+ bias) through the integer path; has_int8_dot(w.type) must hold.
void linear_int8(const float* x, int64_t M, const Weight& w, const float* bias, float* y);

namespace detail {

constexpr int kQ8Block = 32;

// Rows of quantised activations: each row nbp blocks (nbp even), xu the values + 128 (uint8), dx the
// blocks' scales (f16-rounded, as float).
struct Q8Acts {
  int64_t nbp;
  const uint8_t* xu;
  const float* dx;
};

// Rows of W unpacked: w the int8 values (nbp blocks of 32 per row), sw each block's scale, nws per block
// and lane -128 · Σ of its 4 values (what the +128 of xu adds to an unsigned-by-signed dot product).
struct I8Weights {
  int64_t nbp;
  const int8_t* w;
  const int32_t* nws;
  const float* sw;
};

// y[i * ldy + j] = row i of x · row j of w, for i < m, j < n.
using IntDot = void (*)(const Q8Acts& x, int64_t m, const I8Weights& w, int64_t n, float* y, int64_t ldy);
IntDot int_dot_portable();
IntDot int_dot_avx2();
IntDot int_dot_avx512_vnni();

// The sum of the 16 lanes in the fixed order above.
inline float lane_tree(const float* a) {
  float s8[8], s4[4], s2[2];
  for (int l = 0; l < 8; ++l) s8[l] = a[l] + a[l + 8];
  for (int l = 0; l < 4; ++l) s4[l] = s8[l] + s8[l + 4];
  for (int l = 0; l < 2; ++l) s2[l] = s4[l] + s4[l + 2];
  return s2[0] + s2[1];
}

}  // namespace detail
}  // namespace peftjs::ggml
