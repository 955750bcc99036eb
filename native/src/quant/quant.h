// Quantised weights: bitsandbytes' 4-bit blockwise format (NF4 / FP4, optionally with the block absmax
// themselves quantised to 8 bits, "double quantisation") and row-wise absmax int8. Quantising and
// dequantising whole tensors, and the linear layer y = x·Wᵀ + b computed from the quantised data.
// The layouts are those of src/quant/state.ts (which mirrors bitsandbytes' QuantState).
#pragma once
#include <cstdint>
#include <type_traits>

#include "gemm.h"

namespace peftjs::quant {

// A 4-bit weight as the kernels read it: `numel` elements flattened row-major, two per byte (element 2i
// in the high nibble of byte i, 2i + 1 in the low one), in blocks of `block` consecutive elements (a
// block may cross rows). Block b's scale is absmax[b], or, with double quantisation,
// nested_code[nested_codes[b]] * nested_absmax[b / nested_block] + offset (bitsandbytes'
// dequantize_blockwise of the absmax followed by `absmax += offset`, in float32).
struct Weight4 {
  const uint8_t* packed;
  int64_t rows, cols;  // the weight's [out, in] (or [numel, 1] for any other shape)
  int64_t block;
  const float* code;  // 16 values
  const float* absmax;  // null with double quantisation
  const uint8_t* nested_codes;
  const float* nested_code;  // 256 values
  const float* nested_absmax;
  int64_t nested_block;
  float offset;

  int64_t numel() const { return rows * cols; }
  float scale(int64_t b) const {
    if (absmax) return absmax[b];
    // Two roundings as in bitsandbytes; the empty asm keeps the compiler from fusing them into one
    // FMA (the SIMD files are built with -mfma, and GCC contracts a * b + c by default). WebAssembly
    // has no FMA to fuse into.
    float product = nested_code[nested_codes[b]] * nested_absmax[b / nested_block];
#if defined(__x86_64__) || defined(__i386__)
    __asm__("" : "+x"(product));
#endif
    return product + offset;
  }
  // Element e's 4-bit index.
  int nibble(int64_t e) const { return e & 1 ? packed[e >> 1] & 15 : packed[e >> 1] >> 4; }
};

// The scales of consecutive groups of a 4-bit weight walked in increasing order, each group inside one
// block (a group of 16 or 32 elements; blocks are multiples of 32): a block's scale is decoded when
// the walk enters it, not per group, and without an integer division per group.
class BlockScaleWalk {
 public:
  explicit BlockScaleWalk(const Weight4& w) : w_(w) {}
  // The scale of the group starting at element e (e not below the previous call's).
  float at(int64_t e) {
    if (e >= edge_) {
      block_ = e / w_.block;
      edge_ = (block_ + 1) * w_.block;
      scale_ = w_.scale(block_);
    }
    return scale_;
  }

 private:
  const Weight4& w_;
  int64_t block_ = 0, edge_ = -1;  // edge_ -1: the first call decodes its block
  float scale_ = 0.0f;
};

// max(a, b) that keeps a NaN from either side, as torch.max does (std::max(a, NaN) returns a).
inline float nan_max(float a, float b) { return a != a ? a : b != b ? b : (a < b ? b : a); }

// Row-wise int8: W[r][c] = data[r * cols + c] * row_absmax[r] / 127.
struct WeightInt8 {
  const int8_t* data;
  int64_t rows, cols;
  const float* row_absmax;
};

// bitsandbytes' int8_vectorwise_dequant multiplies by this float32 constant instead of dividing by 127.
constexpr float kInv127 = 7.874015718698502e-3f;

// ---- quantize.cc: bit-exact ports of bitsandbytes' reference quantisers (see there), threaded.

// packed (ceil(n / 2) bytes) and absmax (ceil(n / block) floats) from n elements of src (f32/bf16/f16),
// with the 16-value code.
void quantize_4bit(const void* src, BType type, int64_t n, int64_t block, const float* code, uint8_t* packed,
                   float* absmax);
// One uint8 index into `code` (256 sorted values) per element, and the absmax of each block.
void quantize_blockwise_8bit(const float* src, int64_t n, int64_t block, const float* code, uint8_t* out, float* absmax);
// Row-wise int8 of a rows x cols matrix: absmax per row and round(x * (127 / absmax)) to nearest even.
void quantize_int8_rows(const void* src, BType type, int64_t rows, int64_t cols, int8_t* out, float* row_absmax);

// ---- dequantize.cc: whole tensors, threaded.
void dequantize_4bit(const Weight4& w, float* out);
void dequantize_int8_rows(const WeightInt8& w, float* out);

// ---- linear.cc: y[M, rows] = x[M, cols]·Wᵀ (+ bias), and the input gradient gx[M, cols] = gy[M, rows]·W.
// x, y, gy, gx are row-major and contiguous. Results do not depend on the thread count.
// bf16_x: x is in bf16 (a bf16 compute dtype), so the few-row kernel may use bf16 code values
// (quant_bf16_avx512.cc says why and how precise).
void linear4bit(const float* x, int64_t M, const Weight4& w, const float* bias, float* y, bool bf16_x = false);
void linear4bit_backward(const float* gy, int64_t M, const Weight4& w, float* gx);
// The int8 layer's input gradient is the float product with the dequantised W (as MatMul8bitLt's
// backward); its forward (int8_matmul.cc) quantises x and multiplies int8 by int8, as LLM.int8 does.
void linear_int8(const float* x, int64_t M, const WeightInt8& w, const float* bias, float* y);
void linear_int8_backward(const float* gy, int64_t M, const WeightInt8& w, float* gx);

namespace detail {

// What one instruction set provides to the drivers in dequantize.cc and linear.cc.
struct Kernels {
  // The few-row products read x [M, K] reordered into xp (the order in which the kernel decodes a
  // row's nibbles, so that decoding needs no shuffle to put them back in place); K % 32 == 0.
  void (*layout_x)(const float* x, int64_t M, int64_t K, float* xp);
  // out[0:count] = elements [e0, e0 + count) of w, dequantised.
  void (*dequant4)(const Weight4& w, int64_t e0, int64_t count, float* out);
  // y[i * ldy + j] = sum_k xp[i * cols + k] * W[j][k] for i < m (<= 8), j in [j0, j1); xp from layout_x.
  // Needs cols % block == 0 (every row starts a block).
  void (*gemv4)(int64_t m, const Weight4& w, const float* xp, int64_t j0, int64_t j1, float* y, int64_t ldy);
  // out[0:count] = elements [e0, e0 + count) of w, dequantised.
  void (*dequant8)(const WeightInt8& w, int64_t e0, int64_t count, float* out);
  // acc[i * ldacc + j - j0] = sum_k q[i][k] * w.data[j * cols + k], exact in int32, for i < m (<= 8) and
  // j in [j0, j1). Row i of the int8 activations q is xq[i * cols:], each stored as the byte q + dot8_shift:
  // 128 for VNNI's vpdpbusd, which multiplies unsigned by signed bytes (the kernel subtracts 128 * the
  // row sum of W, as oneDNN and ggml do), else 0.
  void (*dot8)(int64_t m, const uint8_t* xq, const WeightInt8& w, int64_t j0, int64_t j1, int32_t* acc, int64_t ldacc);
  int dot8_shift;
  // One row of activations x[0:K] quantised as bitsandbytes' int8_vectorwise_quant of x in float16:
  // absmax = max |f16(x)| (NaN if any element is NaN, as torch.max), q = round(f16(x) * (127 / absmax)) half to even (0 where NaN), stored as
  // the bytes q + shift.
  void (*quantize_row8)(const float* x, int64_t K, int shift, uint8_t* out, float* absmax);
  // The few-row 4-bit product for x already rounded to bf16 (a bf16 compute dtype): gemv4 with the
  // code values rounded to bf16, x laid out by layout_x_bf16 in the kernel's own order and element type
  // (bf16 for AVX512_BF16's vdpbf16ps, float32 for AVX2), in a buffer of M * K floats; null where the
  // level has none. Needs cols % 128 == 0 as well.
  void (*layout_x_bf16)(const float* x, int64_t M, int64_t K, void* xp) = nullptr;
  void (*gemv4_bf16)(int64_t m, const Weight4& w, const void* xp, int64_t j0, int64_t j1, float* y,
                     int64_t ldy) = nullptr;
};

// xp = x [M, K] with each group of `group` elements reordered: the even-indexed ones, then the odd ones
// (the order of a byte's high and low nibbles); K % group == 0.
template <int group>
void deinterleave(const float* x, int64_t M, int64_t K, float* xp) {
  constexpr int half = group / 2;
  for (int64_t i = 0; i < M * K; i += group)
    for (int t = 0; t < half; ++t) {
      xp[i + t] = x[i + 2 * t];
      xp[i + half + t] = x[i + 2 * t + 1];
    }
}

// x laid out for a few-row kernel that reads a row of W in spans of `span` elements: span s of x's row i
// at xp + (s * M + i) * span, its position o holding element span_element(o) of the span (the order in
// which the kernel decodes the span's nibbles); then each row's last K % span elements one row after
// another, de-interleaved in groups of `group`.
template <int span, int group, typename SpanElement>
void layout_spans(const float* x, int64_t M, int64_t K, float* xp, SpanElement span_element) {
  const int64_t spans = K / span, tail = K - spans * span;
  for (int64_t i = 0; i < M; ++i) {
    const float* xr = x + i * K;
    for (int64_t s = 0; s < spans; ++s) {
      float* out = xp + (s * M + i) * span;
      for (int o = 0; o < span; ++o) out[o] = xr[s * span + span_element(o)];
    }
    deinterleave<group>(xr + spans * span, 1, tail, xp + M * spans * span + i * tail);
  }
}

// The int8 kernels of the AVX2 file, also the AVX-512 level's on CPUs without VNNI.
void dot8_avx2(int64_t m, const uint8_t* xq, const WeightInt8& w, int64_t j0, int64_t j1, int32_t* acc, int64_t ldacc);

// AVX512_BF16's few-row 4-bit product (avx512/quant_bf16_avx512.cc), for kernels_avx512.
bool has_bf16();
void layout_x_bf16(const float* x, int64_t M, int64_t K, void* xp);
void gemv4_bf16(int64_t m, const Weight4& w, const void* xp, int64_t j0, int64_t j1, float* y, int64_t ldy);
// AVX2's (avx2/quant_bf16_avx2.cc): bf16 codes, float32 products.
void layout_x_bf16_avx2(const float* x, int64_t M, int64_t K, void* xp);
void gemv4_bf16_avx2(int64_t m, const Weight4& w, const void* xp, int64_t j0, int64_t j1, float* y, int64_t ldy);

const Kernels& kernels_portable();
const Kernels& kernels_avx2();
const Kernels& kernels_avx512();
const Kernels& kernels_for_cpu();

constexpr int kGemvRows = 8;  // the most rows of x the few-row kernels take

// fn(std::integral_constant<int, m>{}) for 1 <= m <= kGemvRows: a few-row kernel instantiated per row
// count, so that its per-row loops unroll and the accumulators stay in registers.
template <typename Fn>
void with_rows(int64_t m, Fn&& fn) {
  static_assert(kGemvRows == 8, "one case per row count");
  switch (m) {
    case 1: return fn(std::integral_constant<int, 1>{});
    case 2: return fn(std::integral_constant<int, 2>{});
    case 3: return fn(std::integral_constant<int, 3>{});
    case 4: return fn(std::integral_constant<int, 4>{});
    case 5: return fn(std::integral_constant<int, 5>{});
    case 6: return fn(std::integral_constant<int, 6>{});
    case 7: return fn(std::integral_constant<int, 7>{});
    default: return fn(std::integral_constant<int, 8>{});
  }
}

}  // namespace detail
}  // namespace peftjs::quant
