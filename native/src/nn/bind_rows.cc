// JavaScript bindings of the row kernels: softmax, log-softmax, LayerNorm, RMSNorm, cross-entropy,
// rotary embedding, AdamW (declared in src/tensor/native/nn.ts).
#include <string>

#include "nn/args.h"
#include "nn/kernels.h"

namespace peftjs::nn {
namespace {

struct RowSizes {
  int64_t rows, cols, n;
  std::string n_what, rows_what, cols_what;
};

// rows and cols from arguments i and i + 1.
RowSizes row_sizes(const Args& a, size_t i, const char* cols_name = "cols") {
  RowSizes s;
  s.rows = a.size(i, "rows");
  s.cols = a.size(i + 1, cols_name);
  s.n = a.product({{"rows", s.rows}, {cols_name, s.cols}}, s.n_what);
  a.product({{"rows", s.rows}}, s.rows_what);
  a.product({{cols_name, s.cols}}, s.cols_what);
  return s;
}

// (x or y, out) -> the softmax family's forward; (y, gy, gx) -> backward.
template <void (*kF32)(const float*, float*, int64_t, int64_t), void (*kF64)(const double*, double*, int64_t, int64_t)>
void export_row_forward(Napi::Env env, Napi::Object exports, const char* name) {
  export_kernel(env, exports, name, 4, 0, "x", [](const Args& a, auto t) {
    using T = decltype(t);
    const RowSizes s = row_sizes(a, 2);
    const T* x = a.floats<T>(0, "x", s.n, s.n_what);
    T* y = a.floats<T>(1, "y", s.n, s.n_what);
    if constexpr (std::is_same_v<T, float>) kF32(x, y, s.rows, s.cols); else kF64(x, y, s.rows, s.cols);
  });
}

template <void (*kF32)(const float*, const float*, float*, int64_t, int64_t),
          void (*kF64)(const double*, const double*, double*, int64_t, int64_t)>
void export_row_backward(Napi::Env env, Napi::Object exports, const char* name) {
  export_kernel(env, exports, name, 5, 0, "y", [](const Args& a, auto t) {
    using T = decltype(t);
    const RowSizes s = row_sizes(a, 3);
    const T* y = a.floats<T>(0, "y", s.n, s.n_what);
    const T* gy = a.floats<T>(1, "gy", s.n, s.n_what);
    T* gx = a.floats<T>(2, "gx", s.n, s.n_what);
    if constexpr (std::is_same_v<T, float>) kF32(y, gy, gx, s.rows, s.cols); else kF64(y, gy, gx, s.rows, s.cols);
  });
}

void export_norms(Napi::Env env, Napi::Object exports) {
  export_kernel(env, exports, "layerNormForward", 9, 0, "x", [](const Args& a, auto t) {
    using T = decltype(t);
    const RowSizes s = row_sizes(a, 6);
    const double eps = a.number(8, "eps");
    layer_norm_forward<T>(a.floats<T>(0, "x", s.n, s.n_what), a.floats_or_null<T>(1, "weight", s.cols, s.cols_what),
                          a.floats_or_null<T>(2, "bias", s.cols, s.cols_what), a.floats<T>(3, "y", s.n, s.n_what),
                          a.floats<T>(4, "mean", s.rows, s.rows_what), a.floats<T>(5, "rstd", s.rows, s.rows_what),
                          s.rows, s.cols, eps);
  });
  export_kernel(env, exports, "layerNormBackward", 10, 0, "gy", [](const Args& a, auto t) {
    using T = decltype(t);
    const RowSizes s = row_sizes(a, 8);
    const T* weight = a.floats_or_null<T>(2, "weight", s.cols, s.cols_what);
    T* gw = a.floats_or_null<T>(6, "gw", s.cols, s.cols_what);
    if (gw != nullptr && weight == nullptr) a.range_error("gw was given but weight is null");
    layer_norm_backward<T>(a.floats<T>(0, "gy", s.n, s.n_what), a.floats<T>(1, "x", s.n, s.n_what), weight,
                           a.floats<T>(3, "mean", s.rows, s.rows_what), a.floats<T>(4, "rstd", s.rows, s.rows_what),
                           a.floats_or_null<T>(5, "gx", s.n, s.n_what), gw,
                           a.floats_or_null<T>(7, "gb", s.cols, s.cols_what), s.rows, s.cols);
  });
  export_kernel(env, exports, "rmsNormForward", 7, 0, "x", [](const Args& a, auto t) {
    using T = decltype(t);
    const RowSizes s = row_sizes(a, 4);
    const double eps = a.number(6, "eps");
    rms_norm_forward<T>(a.floats<T>(0, "x", s.n, s.n_what), a.floats_or_null<T>(1, "weight", s.cols, s.cols_what),
                        a.floats<T>(2, "y", s.n, s.n_what), a.floats<T>(3, "rstd", s.rows, s.rows_what), s.rows, s.cols,
                        eps);
  });
  export_kernel(env, exports, "rmsNormBackward", 8, 0, "gy", [](const Args& a, auto t) {
    using T = decltype(t);
    const RowSizes s = row_sizes(a, 6);
    const T* weight = a.floats_or_null<T>(2, "weight", s.cols, s.cols_what);
    T* gw = a.floats_or_null<T>(5, "gw", s.cols, s.cols_what);
    if (gw != nullptr && weight == nullptr) a.range_error("gw was given but weight is null");
    rms_norm_backward<T>(a.floats<T>(0, "gy", s.n, s.n_what), a.floats<T>(1, "x", s.n, s.n_what), weight,
                         a.floats<T>(3, "rstd", s.rows, s.rows_what), a.floats_or_null<T>(4, "gx", s.n, s.n_what), gw,
                         s.rows, s.cols);
  });
}

// Throws unless every target is in [0, classes) or equal to ignore_index.
void check_targets(const Args& a, Targets targets, int64_t rows, int64_t classes, int64_t ignore_index) {
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t t = targets.at(r);
    if (t != ignore_index && (t < 0 || t >= classes)) {
      a.range_error("target " + std::to_string(t) + " at row " + std::to_string(r) + " is outside [0, " +
                    std::to_string(classes) + ") and is not ignoreIndex (" + std::to_string(ignore_index) + ")");
    }
  }
}

double smoothing_arg(const Args& a, size_t i) {
  const double eps = a.number(i, "labelSmoothing");
  if (eps < 0 || eps > 1) a.range_error("labelSmoothing must be in [0, 1], got " + std::to_string(eps));
  return eps;
}

void export_cross_entropy(Napi::Env env, Napi::Object exports) {
  export_kernel(env, exports, "crossEntropyForward", 8, 0, "logits", [](const Args& a, auto t) {
    using T = decltype(t);
    const RowSizes s = row_sizes(a, 4, "classes");
    const int64_t ignore = a.integer(6, "ignoreIndex");
    const double eps = smoothing_arg(a, 7);
    const T* logits = a.floats<T>(0, "logits", s.n, s.n_what);
    const Targets targets = a.indices(1, "targets", s.rows, s.rows_what);
    T* losses = a.floats<T>(2, "losses", s.rows, s.rows_what);
    T* lse = a.floats<T>(3, "lse", s.rows, s.rows_what);
    check_targets(a, targets, s.rows, s.cols, ignore);
    cross_entropy_forward<T>(logits, targets, losses, lse, s.rows, s.cols, ignore, eps);
  });
  export_kernel(env, exports, "crossEntropyBackward", 9, 0, "logits", [](const Args& a, auto t) {
    using T = decltype(t);
    const RowSizes s = row_sizes(a, 5, "classes");
    const int64_t ignore = a.integer(7, "ignoreIndex");
    const double eps = smoothing_arg(a, 8);
    const T* logits = a.floats<T>(0, "logits", s.n, s.n_what);
    const Targets targets = a.indices(1, "targets", s.rows, s.rows_what);
    const T* lse = a.floats<T>(2, "lse", s.rows, s.rows_what);
    const T* g_loss = a.floats<T>(3, "gLoss", s.rows, s.rows_what);
    T* gx = a.floats<T>(4, "gx", s.n, s.n_what);
    check_targets(a, targets, s.rows, s.cols, ignore);
    cross_entropy_backward<T>(logits, targets, lse, g_loss, gx, s.rows, s.cols, ignore, eps);
  });
}

// (x, cos, sin, out, B, H, T, D, cosBatch) for ropeForward and ropeBackward.
template <bool kForward>
void export_rope(Napi::Env env, Napi::Object exports, const char* name, const char* x_name, const char* out_name) {
  export_kernel(env, exports, name, 9, 0, x_name, [=](const Args& a, auto t) {
    using T = decltype(t);
    const int64_t B = a.size(4, "B"), H = a.size(5, "H"), S = a.size(6, "T"), D = a.size(7, "D");
    const int64_t cos_batch = a.size(8, "cosBatch");
    if (D % 2 != 0) a.range_error("D must be even, got " + std::to_string(D));
    if (cos_batch != 1 && cos_batch != B) {
      a.range_error("cosBatch must be 1 or B (" + std::to_string(B) + "), got " + std::to_string(cos_batch));
    }
    std::string x_what, cos_what;
    const int64_t n = a.product({{"B", B}, {"H", H}, {"T", S}, {"D", D}}, x_what);
    const int64_t n_cos = a.product({{"cosBatch", cos_batch}, {"T", S}, {"D", D}}, cos_what);
    const T* x = a.floats<T>(0, x_name, n, x_what);
    const T* cos = a.floats<T>(1, "cos", n_cos, cos_what);
    const T* sin = a.floats<T>(2, "sin", n_cos, cos_what);
    T* out = a.floats<T>(3, out_name, n, x_what);
    if (kForward) {
      rope_forward<T>(x, cos, sin, out, B, H, S, D, cos_batch);
    } else {
      rope_backward<T>(x, cos, sin, out, B, H, S, D, cos_batch);
    }
  });
}

void export_adamw(Napi::Env env, Napi::Object exports) {
  export_kernel(env, exports, "adamw", 11, 0, "param", [](const Args& a, auto t) {
    using T = decltype(t);
    std::string what;
    const int64_t n = a.product({{"n", a.size(4, "n")}}, what);
    AdamWConfig c{a.number(5, "lr"), a.number(6, "beta1"), a.number(7, "beta2"), a.number(8, "eps"),
                  a.number(9, "weightDecay"), a.integer(10, "step")};
    if (c.step < 1) a.range_error("step must be >= 1 (the first update is step 1), got " + std::to_string(c.step));
    if (c.beta1 < 0 || c.beta1 >= 1 || c.beta2 < 0 || c.beta2 >= 1) {
      a.range_error("beta1 and beta2 must be in [0, 1), got " + std::to_string(c.beta1) + " and " + std::to_string(c.beta2));
    }
    adamw_step<T>(a.floats<T>(0, "param", n, what), a.floats<T>(1, "grad", n, what), a.floats<T>(2, "m", n, what),
                  a.floats<T>(3, "v", n, what), n, c);
  });
}

}  // namespace

void register_row_kernels(Napi::Env env, Napi::Object exports) {
  export_row_forward<softmax_forward<float>, softmax_forward<double>>(env, exports, "softmaxForward");
  export_row_backward<softmax_backward<float>, softmax_backward<double>>(env, exports, "softmaxBackward");
  export_row_forward<log_softmax_forward<float>, log_softmax_forward<double>>(env, exports, "logSoftmaxForward");
  export_row_backward<log_softmax_backward<float>, log_softmax_backward<double>>(env, exports, "logSoftmaxBackward");
  export_norms(env, exports);
  export_cross_entropy(env, exports);
  export_rope<true>(env, exports, "ropeForward", "x", "out");
  export_rope<false>(env, exports, "ropeBackward", "gOut", "gx");
  export_adamw(env, exports);
}

}  // namespace peftjs::nn
