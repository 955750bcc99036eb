// The linear layer over a quantised weight W [N, K]: y = x·Wᵀ (+ b) and the input gradient gx = gy·W,
// computed from the quantised data; no full-precision copy of W is kept.
// - Few rows (M <= 8) and rows that start on a block: the SIMD few-row kernel reads the 4-bit / int8
//   data directly (decoding is cheap next to streaming the weight from memory).
// - Few rows otherwise: per task, a piece of W dequantised into a thread's scratch (256 KB) and the
//   one-thread few-row GEMM.
// - More rows: the float32 GEMM with W as a decoded B operand (gemm.h's BDecoder): the GEMM's B packing
//   decodes the rows of W it packs, a few panels at a time, so no dequantised copy of W is written and
//   read back, and the sums are those of sgemm over the dequantised W (same blocking, same order).
// Each output element is summed by one thread in a fixed order, so results do not depend on the
// thread count.
#include <algorithm>
#include <functional>

#include "next_operand.h"
#include "quant/driver.h"
#include "quant/quant.h"
#include "thread_scratch.h"
#include "threadpool.h"

namespace peftjs::quant {
namespace {

constexpr int64_t kTaskSlab = 1 << 16;  // dequantised elements per few-row task (256 KB, in L2)
constexpr int64_t kGemvTaskBytes = 1 << 16;  // weight bytes per few-row kernel task

// Decoding streams every weight from memory once per token, in the same order each time, with the
// step's other operations in between: after a few-row product, the data that followed it last time
// goes to the idle workers to prefetch meanwhile (as gemm.cc does for float weights and
// ggml/int8_linear.cc for ggml's). Per calling thread.
constexpr int64_t kPrefetchBytes = 8 << 20;  // at most (L3 holds 32 MB)
thread_local NextOperand next_data;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Per-thread float scratch slots: dequantised pieces of W and de-interleaved rows of x.
float* scratch(int slot, int64_t count) {
  thread_local ThreadScratch buffers[2];
  return static_cast<float*>(buffers[slot].reserve(static_cast<size_t>(count) * sizeof(float)));
}

void add_bias(int64_t M, int64_t N, const float* bias, float* y) {
  if (!bias) return;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) y[i * N + j] += bias[j];
}

// Columns [k0, k0 + kw) of rows [r0, r1) of W into buf (row-major, kw per row).
void dequant_cols(const Source& w, int64_t k0, int64_t kw, int64_t r0, int64_t r1, float* buf) {
  for (int64_t j = r0; j < r1; ++j) w.dequant(j * w.K + k0, kw, buf + j * kw);
}

// W as the float32 GEMM's B operand: rows of W decoded while the GEMM packs them (gemm.h's BDecoder).
BDecoder decoder(const Source& w) {
  return BDecoder{[](const void* ctx, int64_t row, int64_t col, int64_t count, float* out) {
                    const Source& s = *static_cast<const Source*>(ctx);
                    s.dequant(row * s.K + col, count, out);
                  },
                  &w};
}

// bf16_x: x is in bf16, so the bf16-code few-row kernel may take it where the level has one (its x
// layout is its own, written into the float scratch the driver passes).
Source source4(const Weight4& w, bool bf16_x = false) {
  const auto& k = detail::kernels_for_cpu();
  Source s{w.rows, w.cols, 0.5, [&w, &k](int64_t e0, int64_t n, float* out) { k.dequant4(w, e0, n, out); }, nullptr,
           k.layout_x};
  if (w.cols % w.block == 0) {
    s.gemv = [&w, &k](int64_t m, const float* xp, int64_t j0, int64_t j1, float* y) {
      k.gemv4(m, w, xp, j0, j1, y, w.rows);
    };
    if (bf16_x && k.gemv4_bf16 && w.cols % 128 == 0) {
      s.layout = [](const float* x, int64_t M, int64_t K, float* xp) {
        detail::kernels_for_cpu().layout_x_bf16(x, M, K, xp);
      };
      s.gemv = [&w, &k](int64_t m, const float* xp, int64_t j0, int64_t j1, float* y) {
        k.gemv4_bf16(m, w, xp, j0, j1, y, w.rows);
      };
    }
    s.data = w.packed;
    s.data_bytes = w.numel() / 2;
  }
  return s;
}

// The int8 weight for the input gradient (its forward is int8_matmul.cc's).
Source source8(const WeightInt8& w) {
  const auto& k = detail::kernels_for_cpu();
  return Source{w.rows, w.cols, 1.0, [&w, &k](int64_t e0, int64_t n, float* out) { k.dequant8(w, e0, n, out); },
                nullptr, nullptr};
}

}  // namespace

void forward(const Source& w, const float* x, int64_t M, const float* bias, float* y) {
  const int64_t N = w.N, K = w.K;
  if (M <= detail::kGemvRows && w.gemv) {
    const float* xs = x;
    if (w.layout) {
      float* xp = scratch(1, M * K);
      w.layout(x, M, K, xp);
      xs = xp;
    }
    const int64_t rows_per_task = std::max<int64_t>(1, static_cast<int64_t>(kGemvTaskBytes / (K * w.bytes_per_weight)));
    if (w.data) next_data.note(w.data, w.data_bytes);
    parallel_range(N, rows_per_task, [&](int64_t j0, int64_t j1) { w.gemv(M, xs, j0, j1, y); });
    if (w.data) {
      const NextOperand::Next next = next_data.after(w.data);
      if (next.b != nullptr) prefetch_async(next.b, std::min(next.bytes, kPrefetchBytes));
    }
    return add_bias(M, N, bias, y);
  }
  if (M <= detail::kGemvRows) {  // rows not on block boundaries: per task, dequantise rows, few-row GEMM
    const int64_t rows = std::max<int64_t>(1, kTaskSlab / K);
    parallel_for(ceil_div(N, rows), [&](int64_t t) {
      const int64_t j0 = t * rows, nr = std::min(rows, N - j0);
      float* buf = scratch(0, nr * K);
      w.dequant(j0 * K, nr * K, buf);
      sgemm_serial(false, true, M, nr, K, 1.0f, x, K, buf, BType::F32, K, 0.0f, y + j0, N);
    });
    return add_bias(M, N, bias, y);
  }
  if (bias)
    for (int64_t i = 0; i < M; ++i) std::copy(bias, bias + N, y + i * N);
  sgemm_decoded(true, M, N, K, 1.0f, x, K, decoder(w), bias ? 1.0f : 0.0f, y, N);
}

void backward(const Source& w, const float* gy, int64_t M, float* gx) {
  const int64_t N = w.N, K = w.K;
  if (M <= detail::kGemvRows) {  // per task a column slab of W and a one-thread few-row GEMM
    const int64_t kw = std::min(K, round_up(std::max<int64_t>(1, kTaskSlab / N), 32));
    parallel_for(ceil_div(K, kw), [&](int64_t t) {
      const int64_t k0 = t * kw, width = std::min(kw, K - k0);
      float* buf = scratch(0, N * width);
      dequant_cols(w, k0, width, 0, N, buf);
      sgemm_serial(false, false, M, width, N, 1.0f, gy, N, buf, BType::F32, width, 0.0f, gx + k0, K);
    });
    return;
  }
  sgemm_decoded(false, M, K, N, 1.0f, gy, N, decoder(w), 0.0f, gx, K);
}

// Degenerate sizes: an empty product leaves y = bias (or zeros) and gx = zeros.
bool empty_product(int64_t M, int64_t out_cols, int64_t inner, const float* bias, float* out) {
  if (M > 0 && out_cols > 0 && inner > 0) return false;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < out_cols; ++j) out[i * out_cols + j] = bias ? bias[j] : 0.0f;
  return true;
}

void linear4bit(const float* x, int64_t M, const Weight4& w, const float* bias, float* y, bool bf16_x) {
  if (!empty_product(M, w.rows, w.cols, bias, y)) forward(source4(w, bf16_x), x, M, bias, y);
}
void linear4bit_backward(const float* gy, int64_t M, const Weight4& w, float* gx) {
  if (!empty_product(M, w.cols, w.rows, nullptr, gx)) backward(source4(w), gy, M, gx);
}
void linear_int8_backward(const float* gy, int64_t M, const WeightInt8& w, float* gx) {
  if (!empty_product(M, w.cols, w.rows, nullptr, gx)) backward(source8(w), gy, M, gx);
}

}  // namespace peftjs::quant
