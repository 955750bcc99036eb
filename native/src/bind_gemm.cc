// JS bindings of the matrix products (gemm, gemmF64) and the FMA peak measurement. Arguments are
// checked here (sizes, strides, buffer types and lengths) so the kernels never read out of bounds.
#include <string>
#include <vector>

#include "cpu.h"
#include "fma_peak.h"
#include "gemm.h"
#include "modules.h"
#include "napi_util.h"

namespace peftjs {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

// The typed array at info[i], which must be of the given type; `what` names it in errors.
Napi::TypedArray typed_array(const Napi::CallbackInfo& info, size_t i, napi_typedarray_type type, const char* fn,
                             const char* what, const char* type_name) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != type) {
    throw Napi::TypeError::New(info.Env(), std::string(fn) + ": " + what + " must be a " + type_name);
  }
  return info[i].As<Napi::TypedArray>();
}

int64_t nonneg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(fn) + ": " + name + " must be a number");
  int64_t v = i64(info[i]);
  if (v < 0) throw Napi::RangeError::New(info.Env(), std::string(fn) + ": " + name + " must be >= 0, got " + str(v));
  return v;
}

// Checks that a stored rows x cols matrix with row stride ld, repeated `batch` times `stride` apart
// from element `offset`, lies inside a typed array of `length` elements.
void check_matrix(Napi::Env env, const char* fn, const char* name, int64_t rows, int64_t cols, int64_t ld,
                  int64_t stride, int64_t batch, int64_t offset, int64_t length) {
  if (ld < cols) {
    throw Napi::RangeError::New(env, std::string(fn) + ": ld" + static_cast<char>(name[0] - 'A' + 'a') + " = " + str(ld) + " is less than the " +
                                         str(cols) + " columns of the stored " + name);
  }
  if (rows == 0 || cols == 0 || batch == 0) return;
  __int128 end = static_cast<__int128>(offset) + static_cast<__int128>(batch - 1) * stride +
                 static_cast<__int128>(rows - 1) * ld + cols;
  if (end > length) {
    throw Napi::RangeError::New(env, std::string(fn) + ": " + name + " needs " +
                                         (end > INT64_MAX ? std::string("more than 2^63") : str(static_cast<int64_t>(end))) +
                                         " elements (offset " + str(offset) + ", " + str(rows) + "x" + str(cols) +
                                         ", ld " + str(ld) + ", stride " + str(stride) + ", batch " + str(batch) +
                                         ") but has " + str(length));
  }
}

// gemm / gemmF64 share their argument layout; B's position holds the dtype code only for gemm.
template <typename T>
void gemm_call(const Napi::CallbackInfo& info) {
  constexpr bool is_f64 = sizeof(T) == 8;
  const char* fn = is_f64 ? "gemmF64" : "gemm";
  const size_t nargs = is_f64 ? 20 : 21;
  Napi::Env env = info.Env();
  if (info.Length() < nargs) {
    throw Napi::TypeError::New(env, std::string(fn) + ": expected " + str(nargs) + " arguments, got " + str(info.Length()));
  }
  const napi_typedarray_type ftype = is_f64 ? napi_float64_array : napi_float32_array;
  const char* fname = is_f64 ? "Float64Array" : "Float32Array";
  const size_t o = is_f64 ? 0 : 1;  // gemm has bType after bOffset
  const bool ta = flag(info[0]), tb = flag(info[1]);
  const int64_t M = nonneg(info, 2, fn, "M"), N = nonneg(info, 3, fn, "N"), K = nonneg(info, 4, fn, "K");
  const double alpha = f64(info[5]);
  auto A = typed_array(info, 6, ftype, fn, "A", fname);
  const int64_t a_off = nonneg(info, 7, fn, "aOffset"), lda = nonneg(info, 8, fn, "lda"), sA = nonneg(info, 9, fn, "strideA");
  int64_t bt = 0;
  if (!is_f64) {
    bt = nonneg(info, 12, fn, "bType");
    if (bt > 2) throw Napi::RangeError::New(env, "gemm: bType must be 0 (f32), 1 (bf16) or 2 (f16), got " + str(bt));
  }
  auto B = bt == 0 ? typed_array(info, 10, ftype, fn, "B", fname)
                   : typed_array(info, 10, napi_uint16_array, fn, "B (bf16/f16 bits)", "Uint16Array");
  const int64_t b_off = nonneg(info, 11, fn, "bOffset"), ldb = nonneg(info, 12 + o, fn, "ldb"),
                sB = nonneg(info, 13 + o, fn, "strideB");
  const double beta = f64(info[14 + o]);
  auto C = typed_array(info, 15 + o, ftype, fn, "C", fname);
  const int64_t c_off = nonneg(info, 16 + o, fn, "cOffset"), ldc = nonneg(info, 17 + o, fn, "ldc"),
                sC = nonneg(info, 18 + o, fn, "strideC"), batch = nonneg(info, 19 + o, fn, "batch");
  check_matrix(env, fn, "A", ta ? K : M, ta ? M : K, lda, sA, batch, a_off, A.ElementLength());
  check_matrix(env, fn, "B", tb ? N : K, tb ? K : N, ldb, sB, batch, b_off, B.ElementLength());
  check_matrix(env, fn, "C", M, N, ldc, sC, batch, c_off, C.ElementLength());
  if (batch > 1 && sC == 0 && M > 0 && N > 0) {
    throw Napi::RangeError::New(env, std::string(fn) + ": strideC = 0 with batch " + str(batch) + " would write one C from several items");
  }
  const T* a = ptr<T>(A) + a_off;
  T* c = ptr<T>(C) + c_off;
  if constexpr (is_f64) {
    dgemm(ta, tb, M, N, K, alpha, a, lda, sA, ptr<double>(B) + b_off, ldb, sB, beta, c, ldc, sC, batch);
  } else {
    const void* b = bt == 0 ? static_cast<const void*>(ptr<float>(B) + b_off) : ptr<uint16_t>(B) + b_off;
    sgemm(ta, tb, M, N, K, static_cast<float>(alpha), a, lda, sA, b, static_cast<BType>(bt), ldb, sB,
          static_cast<float>(beta), c, ldc, sC, batch);
  }
}

// gemmNkMany(A, M, K, products): for each product { b, bOffset, bType, n, beta, c }, c [M, n] = A [M, K]·Bᵀ +
// beta * c with B the n x K matrix stored from element bOffset of b (Float32Array for bType 0, Uint16Array
// of bf16 / f16 bits for 1 / 2). Several products over one A in one call (gemm.h's sgemm_nk_many).
void gemm_nk_many(const Napi::CallbackInfo& info) {
  constexpr const char* fn = "gemmNkMany";
  Napi::Env env = info.Env();
  if (info.Length() < 4) throw Napi::TypeError::New(env, std::string(fn) + ": expected 4 arguments, got " + str(info.Length()));
  auto A = typed_array(info, 0, napi_float32_array, fn, "A", "Float32Array");
  const int64_t M = nonneg(info, 1, fn, "M"), K = nonneg(info, 2, fn, "K");
  if (!info[3].IsArray() || info[3].As<Napi::Array>().Length() == 0)
    throw Napi::TypeError::New(env, std::string(fn) + ": products must be a non-empty array");
  const Napi::Array list = info[3].As<Napi::Array>();
  check_matrix(env, fn, "A", M, K, K, 0, 1, 0, A.ElementLength());
  const uint32_t count = list.Length();
  std::vector<const void*> bs(count);
  std::vector<BType> types(count);
  std::vector<int64_t> ns(count);
  std::vector<float> betas(count);
  std::vector<float*> cs(count);
  for (uint32_t w = 0; w < count; ++w) {
    const std::string at = std::string(fn) + ": products[" + std::to_string(w) + "]";
    if (!list.Get(w).IsObject()) throw Napi::TypeError::New(env, at + " must be { b, bOffset, bType, n, beta, c }");
    const Napi::Object o = list.Get(w).As<Napi::Object>();
    const auto number = [&](const char* name) {
      const Napi::Value v = o.Get(name);
      if (!v.IsNumber()) throw Napi::TypeError::New(env, at + "." + name + " must be a number");
      return v.As<Napi::Number>().DoubleValue();
    };
    const double bt = number("bType"), off = number("bOffset"), n = number("n");
    if (bt != 0 && bt != 1 && bt != 2) throw Napi::RangeError::New(env, at + ".bType must be 0 (f32), 1 (bf16) or 2 (f16), got " + std::to_string(bt));
    if (!(off >= 0 && off <= 9e15 && off == static_cast<int64_t>(off)) || !(n >= 0 && n <= 9e15 && n == static_cast<int64_t>(n)))
      throw Napi::RangeError::New(env, at + ".bOffset and .n must be whole numbers >= 0");
    const Napi::Value b = o.Get("b"), c = o.Get("c");
    const napi_typedarray_type want = bt == 0 ? napi_float32_array : napi_uint16_array;
    if (!b.IsTypedArray() || b.As<Napi::TypedArray>().TypedArrayType() != want)
      throw Napi::TypeError::New(env, at + ".b must be a " + (bt == 0 ? "Float32Array" : "Uint16Array (bf16/f16 bits)"));
    if (!c.IsTypedArray() || c.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw Napi::TypeError::New(env, at + ".c must be a Float32Array");
    const auto barr = b.As<Napi::TypedArray>();
    const auto carr = c.As<Napi::TypedArray>();
    ns[w] = static_cast<int64_t>(n);
    check_matrix(env, fn, "B", ns[w], K, K, 0, 1, static_cast<int64_t>(off), barr.ElementLength());
    check_matrix(env, fn, "C", M, ns[w], ns[w], 0, 1, 0, carr.ElementLength());
    types[w] = static_cast<BType>(static_cast<int>(bt));
    bs[w] = bt == 0 ? static_cast<const void*>(ptr<float>(barr) + static_cast<int64_t>(off))
                    : static_cast<const void*>(ptr<uint16_t>(barr) + static_cast<int64_t>(off));
    betas[w] = static_cast<float>(number("beta"));
    cs[w] = ptr<float>(carr);
  }
  sgemm_nk_many(M, K, ptr<float>(A), static_cast<int>(count), bs.data(), types.data(), ns.data(), betas.data(), cs.data());
}

Napi::Value fma_peak(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t width = i64(info[0]), threads = i64(info[1]);
  const double seconds = f64(info[2]);
  if (width != 128 && width != 256 && width != 512) {
    throw Napi::RangeError::New(env, "fmaPeak: widthBits must be 128, 256 or 512, got " + str(width));
  }
  if (threads < 1 || threads > 1024) throw Napi::RangeError::New(env, "fmaPeak: threads must be 1..1024, got " + str(threads));
  if (!(seconds > 0 && seconds <= 60)) throw Napi::RangeError::New(env, "fmaPeak: seconds must be in (0, 60]");
  const double gflops = fma_peak_gflops(static_cast<int>(width), static_cast<int>(threads), seconds);
  if (gflops < 0) {
    throw Napi::Error::New(env, "fmaPeak: " + str(width) + "-bit FMA is not available on this CPU (SIMD level " +
                                    simd_name(simd_level()) + ")");
  }
  return Napi::Number::New(env, gflops);
}

}  // namespace

void register_gemm(Napi::Env env, Napi::Object exports) {
  exports.Set("gemm", Napi::Function::New(env, [](const Napi::CallbackInfo& info) { gemm_call<float>(info); }));
  exports.Set("gemmF64", Napi::Function::New(env, [](const Napi::CallbackInfo& info) { gemm_call<double>(info); }));
  exports.Set("gemmNkMany", Napi::Function::New(env, gemm_nk_many));
  exports.Set("fmaPeak", Napi::Function::New(env, fma_peak));
}

}  // namespace peftjs
