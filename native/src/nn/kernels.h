// The row-wise nn kernels (softmax, norms, cross-entropy, rotary embedding, AdamW) over contiguous
// row-major buffers; T is float or double. Callers check buffer sizes and index ranges first.
#pragma once
#include <cstdint>

namespace peftjs::nn {

// Class indices, one per row, stored as int32 or int64 (exactly one pointer is set).
struct Targets {
  const int32_t* i32;
  const int64_t* i64;
  int64_t at(int64_t row) const { return i32 != nullptr ? i32[row] : i64[row]; }
};

struct AdamWConfig {
  double lr, beta1, beta2, eps, weight_decay;
  int64_t step;  // 1 for the first update
};

template <typename T> void softmax_forward(const T* x, T* y, int64_t rows, int64_t cols);
template <typename T> void softmax_backward(const T* y, const T* gy, T* gx, int64_t rows, int64_t cols);
template <typename T> void log_softmax_forward(const T* x, T* y, int64_t rows, int64_t cols);
template <typename T> void log_softmax_backward(const T* y, const T* gy, T* gx, int64_t rows, int64_t cols);

// weight, bias, gx, gw, gb may be null.
template <typename T>
void layer_norm_forward(const T* x, const T* weight, const T* bias, T* y, T* mean, T* rstd, int64_t rows, int64_t cols,
                        double eps);
template <typename T>
void layer_norm_backward(const T* gy, const T* x, const T* weight, const T* mean, const T* rstd, T* gx, T* gw, T* gb,
                         int64_t rows, int64_t cols);

// weight, gx, gw may be null.
template <typename T>
void rms_norm_forward(const T* x, const T* weight, T* y, T* rstd, int64_t rows, int64_t cols, double eps);
template <typename T>
void rms_norm_backward(const T* gy, const T* x, const T* weight, const T* rstd, T* gx, T* gw, int64_t rows,
                       int64_t cols);

template <typename T>
void cross_entropy_forward(const T* logits, Targets targets, T* losses, T* lse, int64_t rows, int64_t classes,
                           int64_t ignore_index, double smoothing);
template <typename T>
void cross_entropy_backward(const T* logits, Targets targets, const T* lse, const T* g_loss, T* gx, int64_t rows,
                            int64_t classes, int64_t ignore_index, double smoothing);

// x, out [B, H, S, D] (not overlapping); cos, sin [cos_batch, S, D] with cos_batch 1 or B.
template <typename T>
void rope_forward(const T* x, const T* cos, const T* sin, T* out, int64_t B, int64_t H, int64_t S, int64_t D,
                  int64_t cos_batch);
template <typename T>
void rope_backward(const T* g_out, const T* cos, const T* sin, T* gx, int64_t B, int64_t H, int64_t S, int64_t D,
                   int64_t cos_batch);

template <typename T>
void adamw_step(T* param, const T* grad, T* m, T* v, int64_t n, const AdamWConfig& c);

}  // namespace peftjs::nn
