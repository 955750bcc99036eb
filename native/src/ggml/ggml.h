// ggml's quantised block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, Q8_K) as llama.cpp's GGUF
// files hold them: dequantising, and the linear layer y = x·Wᵀ computed from the blocks. The block
// layouts are ggml-common.h's; the values are those of ggml-quants.c's dequantize_row_* (see blocks.h),
// and of src/gguf/quant/reference-dequantize.ts, which tests hold equal.
#pragma once
#include <cstdint>

namespace peftjs::ggml {

// The order of src/gguf/quant/blocks.ts's GGML_BLOCK_TYPES (the bindings take the type's name).
enum class Type : int { Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, Q8_K, Count };

struct Layout {
  int elements;  // per block
  int bytes;     // per block
};
Layout layout(Type t);

// A 2-D ggml tensor as HF's [rows = out, cols = in]: rows of `cols` elements, each a whole number of blocks.
struct Weight {
  Type type;
  const uint8_t* data;
  int64_t rows, cols;
  int64_t row_bytes() const { return cols / layout(type).elements * layout(type).bytes; }
};

// out[0:count] = elements [e0, e0 + count) of w (flattened row-major), exactly as dequantize_row_* gives
// them (computed without fused multiply-adds). One thread.
void dequant_range(const Weight& w, int64_t e0, int64_t count, float* out);
// The whole tensor (rows * cols elements), on the thread pool.
void dequantize(const Weight& w, float* out);
// out[i, :] = row ids[i] of w, for i < n (embedding lookup); ids are checked by the caller.
void get_rows(const Weight& w, const int32_t* ids, int64_t n, float* out);

// y [M, rows] = x [M, cols]·Wᵀ (+ bias) and the input gradient gx [M, cols] = gy [M, rows]·W, from the
// blocks (few rows: SIMD kernels that decode each block once per row of W; more rows: the float32 GEMM
// decoding W while it packs it, native/src/quant/driver.h).
void linear(const float* x, int64_t M, const Weight& w, const float* bias, float* y);
void linear_backward(const float* gy, int64_t M, const Weight& w, float* gx);
// ys[w] = linear(x, M, ws[w], biases[w]) for `count` weights of the same cols that read the same x (a
// layer's q/k/v or gate/up): with the integer path x is quantised once and one job covers them all.
void linear_many(const float* x, int64_t M, const Weight* ws, const float* const* biases, float* const* ys, int count);

namespace detail {

// y[i * ldy + j] = sum_k x[i * cols + k] * W[j][k] for i < m (<= 8), j in [j0, j1).
using Gemv = void (*)(int64_t m, const Weight& w, const float* x, int64_t j0, int64_t j1, float* y, int64_t ldy);
Gemv gemv_portable(Type t);
Gemv gemv_avx2(Type t);
Gemv gemv_avx512(Type t);
Gemv gemv_for_cpu(Type t);

}  // namespace detail
}  // namespace peftjs::ggml
