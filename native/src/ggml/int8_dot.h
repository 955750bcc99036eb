// Prompt processing over ggml's block types as llama.cpp computes it: the activations quantised to Q8_0
// blocks (ggml-cpu's quantize_row_q8_0 on x86: d = amax / 127, q = round-to-nearest-even(x · 127 / amax),
// d kept as f16), the weight blocks that are int8 values times one scale per 32 elements (Q4_0, Q5_0,
// Q8_0; Q4_K as nibbles per sub-block of 32 with its scale and min) unpacked to int8, and per block an
// exact integer dot product scaled in float by the product of
// the two blocks' scales, as ggml_vec_dot_q4_0_q8_0 and its siblings do:
//   y = Σ_b fma(sw_b · dx_b, float(Σ_k w_k · x_k over block b), ·)   (blocks in order, one float sum).
// The integer sums are exact, so the AVX-512 (VNNI), AVX2 and portable kernels give the same floats
// bit for bit. As ggml's repacked Q4_0 GEMM, W is packed in panels of 16 rows with rows in the vector
// lanes (4 bytes of each row per 64 bytes), so a block's integer sums of 16 rows come out of 8 dot
// instructions in one vector and are scaled and added with one multiply and one fused multiply-add.
#pragma once
#include <cstdint>

#include "ggml/ggml.h"

namespace peftjs::ggml {

// True for the block types with an integer path (Q4_0, Q5_0, Q8_0, Q4_K) where this build has one (x86).
bool has_int8_dot(Type t);

// y [M, rows] = x [M, cols]·Wᵀ (+ bias) through the integer path (any M: many rows through panels, few
// through the direct kernels below); has_int8_dot(w.type) must hold.
void linear_int8(const float* x, int64_t M, const Weight& w, const float* bias, float* y);

// ys[w] [M, ws[w].rows] = x·ws[w]ᵀ (+ biases[w], each may be null) for `count` weights with an integer
// path and the same cols that read the same x (q/k/v, gate/up): with few rows x is quantised once and one
// job covers the rows of all of them; each output is what linear_int8 gives for its weight alone.
void linear_int8_many(const float* x, int64_t M, const Weight* ws, const float* const* biases, float* const* ys, int count);

namespace detail {

constexpr int kQ8Block = 32;

constexpr int kPanelRows = 16;

// Rows of quantised activations: each row nb blocks, xu the values + 128 (uint8), dx the blocks' scales
// (f16-rounded, as float).
struct Q8Acts {
  int64_t nb;
  const uint8_t* xu;
  const float* dx;
  const int32_t* xsum;  // per block the sum of its values (signed), for the mins of Q4_K panels
};

// A panel of 16 rows of W: per block b, w[b·512 + g·64 + r·4 + t] = value 4g + t of row r's block b;
// sw[b·16 + r] the scale of row r's block b; nws[b·16 + r] = -128 · Σ of its values (what the +128 of
// xu adds to an unsigned-by-signed dot product). Rows past the end of W are zeros.
// Q4_K panels hold the nibbles (0-15) per sub-block of 32, sw = d · scale, and mw = dmin · min, which
// adds fma(-(mw · dx), float(block sum of x), ·) after the block's term; other types have mw null.
struct Panel {
  int64_t nb;
  const int8_t* w;
  const int32_t* nws;
  const float* sw;
  const float* mw;
  // Groups of 4 values (of a block's 8) whose unsigned-by-signed pair products xu · w add up in 16 bits
  // without overflow: 8 for Q4_0 (|w| <= 8: 8 · 2 · 255 · 8 < 2^15), 4 for Q5_0 and Q4_K (|w| <= 16);
  // 0 for Q8_0, whose products need 32 bits from the first pair.
  int i16_groups;
};

// Panel::i16_groups of a type with an integer path.
int i16_groups(Type t);

// y[i * ldy + r] = row i of x · row r of the panel, for i < m, r < rows (≤ 16).
using IntDot = void (*)(const Q8Acts& x, int64_t m, const Panel& p, int rows, float* y, int64_t ldy);
IntDot int_dot_portable();
IntDot int_dot_avx2();
IntDot int_dot_avx512_vnni();

// quantize_row_q8_0 (ggml-cpu, x86) of one row of x: nb blocks of xu (the codes + 128), dx (the
// f16-rounded scales, as float) and, unless null, xsum (per block the sum of its signed codes). The
// AVX2 version gives the reference's bytes (int8_linear.cc).
void quantize_q8_avx2(const float* x, int64_t nb, uint8_t* xu, float* dx, int32_t* xsum);

// Rows [j0, j0 + n) of W (n <= 16) as a Panel's w, nws, sw (and mw for Q4_K), rows past n zeros: the
// AVX2 copy of int8_linear.cc's pack (the same bytes).
void pack_panel_avx2(const Weight& wt, int64_t j0, int64_t n, int8_t* w, int32_t* nws, float* sw, float* mw);

// Few rows (decode) read W's blocks directly, with a per-row arithmetic of their own (ggml's): 8 float
// lanes, lane l of block b gets fma(dw · dx, float(Σ of the products of elements 4l..4l+3), lane) in
// block order; then lane_tree8 (l + (l + 4), then + 2, + 1). x as signed int8 rows (xs), per block its
// scale (dx) and its 8 lane sums of 4 values (xsum, for the offsets of Q4_0's and Q5_0's unsigned values).
struct Q8Few {
  int64_t nb;
  const int8_t* xs;
  const int32_t* xsum;
  const float* dx;
};

// y[i * ldy + j] = row i of x · row j of w, for i < m (≤ 8), j in [j0, j1).
using GemvInt = void (*)(int64_t m, const Q8Few& x, const Weight& w, int64_t j0, int64_t j1, float* y, int64_t ldy);
GemvInt gemv_int_portable(Type t);
GemvInt gemv_int_avx2(Type t);
GemvInt gemv_int_avx512_vnni(Type t);

}  // namespace detail
}  // namespace peftjs::ggml
