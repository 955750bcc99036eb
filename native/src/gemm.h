// Matrix products: C = alpha * op(A) * op(B) + beta * C, row-major, float32 (B may be stored as bf16
// or f16 and is converted while it is packed) and float64. BLIS-style blocking: op(A) is packed into
// MR-row panels, op(B) into NR-column panels, and a register-blocked micro-kernel runs over them.
#pragma once
#include <cstdint>
#include <cstring>

namespace peftjs {

enum class BType { F32 = 0, BF16 = 1, F16 = 2 };

// C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b] for b in [0, batch), row-major. op(A) is MxK (A is
// stored KxM when transA), op(B) is KxN (B is stored NxK when transB). lda/ldb/ldc are row strides in
// elements; strideA/B/C are the element distances between batch items (0 broadcasts one matrix).
// beta == 0 overwrites C without reading it. Runs on the thread pool.
void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           int64_t strideA, const void* B, BType btype, int64_t ldb, int64_t strideB, float beta, float* C,
           int64_t ldc, int64_t strideC, int64_t batch);

// Several products over one A (a decoding step's q/k/v or gate/up): C[w] [M, N[w]] = A·B[w]ᵀ + beta[w] * C[w],
// A row-major M x K, each B[w] stored N[w] x K (row stride K), C[w] row-major (row stride N[w]). Each
// C[w] equals what sgemm gives for that product alone, bit for bit. With few rows (M <= kSmallM, where
// the few-row kernels stream each B once) all the products' column chunks are one job on the pool:
// one hand-off for all of them, and the threads' streams keep going from one B into the next, where
// separate calls each paid a hand-off and a stream that starts cold. Other shapes run one by one.
void sgemm_nk_many(int64_t M, int64_t K, const float* A, int count, const void* const* B, const BType* btypes,
                   const int64_t* N, const float* beta, float* const* C);

// The same product on one thread, for use inside another kernel's parallel_for task.
void sgemm_serial(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                  int64_t lda, const void* B, BType btype, int64_t ldb, float beta, float* C, int64_t ldc);

// A B operand in a format the GEMM cannot read in place (a quantised weight: bitsandbytes' 4-bit and
// int8 in native/src/quant/, ggml's block types in native/src/ggml/). The driver asks it for pieces of
// stored B's rows as float32 while it packs B (a few panels at a time, into a small per-thread tile that
// stays in L1/L2), so no float copy of B, whole or in slabs, is written and read back.
struct BDecoder {
  // out[0:count] = row `row` of stored B (N x K when transB, else K x N), elements [col, col + count),
  // as float32. Called from the pool's threads at once: it must only read shared state.
  void (*decode_row)(const void* ctx, int64_t row, int64_t col, int64_t count, float* out);
  const void* ctx;
};

// C = alpha * A * op(B) + beta * C (A row-major M x K, not transposed) with B read through a decoder.
// The same blocking (so the same sums in the same order, bit for bit) as sgemm over the decoded B. Any M
// works, but few rows (M <= 8) are faster with a kernel that streams the quantised data itself (sgemm's
// small_m path is not taken here). Runs on the thread pool.
void sgemm_decoded(bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                   const BDecoder& B, float beta, float* C, int64_t ldc);

// The same product in float64 (gradient checks): blocked and threaded, portable code.
void dgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
           int64_t strideA, const double* B, int64_t ldb, int64_t strideB, double beta, double* C, int64_t ldc,
           int64_t strideC, int64_t batch);

namespace gemm_detail {

// The pieces one instruction set provides to the blocked driver in gemm.cc. Packed panels are
// k-major (panel[k * mr + i], panel[k * nr + j]) and zero-padded to whole panels.
template <typename T>
struct Kernels {
  int mr, nr;
  // Packs op(A)[0:mc, 0:kc] (a points at its first element) into ceil(mc / mr) panels.
  void (*pack_a)(bool trans, const T* a, int64_t lda, int64_t mc, int64_t kc, T* dst);
  // Packs op(B)[0:kc, 0:nc] into ceil(nc / nr) panels, converting bf16/f16 to T.
  void (*pack_b)(bool trans, const void* b, BType bt, int64_t ldb, int64_t kc, int64_t nc, T* dst);
  // C[0:mc, 0:nc] = alpha * packedA * packedB + beta * C (beta == 0: C is not read).
  void (*macro)(int64_t mc, int64_t nc, int64_t kc, const T* pa, const T* pb, T alpha, T beta, T* c, int64_t ldc);
  // Few rows: C[0:m, j0:j1] = alpha * a * op(B)[:, j0:j1] + beta * C, a row-major m x K (m <= kSmallM),
  // b pointing at op(B)[0][0]; streams B once without packing. Null where not provided.
  void (*small_m)(int64_t m, int64_t j0, int64_t j1, int64_t K, const T* a, int64_t lda, bool trans, const void* b,
                  BType bt, int64_t ldb, T alpha, T beta, T* c, int64_t ldc);
  // Narrow op(B) (n <= kNarrowN columns, LoRA's x A^T): C[0:m, 0:n] = alpha * op(A) * pb + beta * C with
  // op(A)[i][k] = a[i * rsa + k * csa] read in place (no packing) and pb one panel of op(B) as pack_b
  // writes it (nr floats per k, zero-padded). Null where not provided.
  void (*narrow_n)(int64_t m, int64_t n, int64_t K, const T* a, int64_t rsa, int64_t csa, const T* pb, T alpha,
                   T beta, T* c, int64_t ldc);
  // Products of up to this many rows stream op(B) panel by panel instead of packing it in slabs (see
  // panel_stream in gemm.cc); 0: never.
  int64_t stream_m;
};

constexpr int kNarrowN = 16;  // the most columns narrow_n handles

constexpr int kSmallM = 8;  // the most rows small_m handles

const Kernels<float>& kernels_f32_portable();
const Kernels<double>& kernels_f64_portable();
const Kernels<float>& kernels_f32_avx2();
const Kernels<float>& kernels_f32_avx512();
const Kernels<float>& kernels_f32_wasm128();  // WebAssembly SIMD128 (native/src/wasm/), only in the wasm build

// AVX2 packers and few-row kernel, shared by the AVX-512 kernels (instantiated for MR 6, 12 and NR 16, 32).
template <int MR>
void pack_a_avx2(bool trans, const float* a, int64_t lda, int64_t mc, int64_t kc, float* dst);
template <int NR>
void pack_b_avx2(bool trans, const void* b, BType bt, int64_t ldb, int64_t kc, int64_t nc, float* dst);
void small_m_avx2(int64_t m, int64_t j0, int64_t j1, int64_t K, const float* a, int64_t lda, bool trans, const void* b,
                  BType bt, int64_t ldb, float alpha, float beta, float* c, int64_t ldc);
// The AVX2 few-row kernel for a float32 or bf16 B stored N x K with rows of at most kGemvShortRowBytes
// (avx2/gemv_avx2.cc), which small_m_avx2 takes for those.
constexpr int64_t kGemvShortRowBytes = 3072;
void gemv_nk_avx2(int64_t m, int64_t j0, int64_t j1, int64_t K, const float* a, int64_t lda, const void* b, BType bt,
                  int64_t ldb, float alpha, float beta, float* c, int64_t ldc);
// The AVX-512 few-row kernel (avx512/gemv_avx512.cc): its own for a float32 or bf16 B, the AVX2 one
// for f16.
void small_m_avx512(int64_t m, int64_t j0, int64_t j1, int64_t K, const float* a, int64_t lda, bool trans, const void* b,
                    BType bt, int64_t ldb, float alpha, float beta, float* c, int64_t ldc);
// Its kernel for a float32 or bf16 B stored K x N (avx512/small_m_rows_avx512.cc), up to 16 rows (m):
// the AVX2 one's results, bit for bit, each row as in a call of its own.
void small_m_rows_avx512(int64_t m, int64_t j0, int64_t j1, int64_t K, const float* a, int64_t lda, const void* b,
                         BType bt, int64_t ldb, float alpha, float beta, float* c, int64_t ldc);

// Element i of a B buffer as T: bf16 is the upper half of a float32, f16 is IEEE half.
inline float bf16_to_float(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
inline float f16_to_float(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000 | (mant << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {  // subnormal: normalise the mantissa
    int shift = __builtin_clz(mant) - 21;
    bits = sign | (uint32_t(113 - shift) << 23) | ((mant << shift) & 0x3ff) << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
template <typename T>
inline T load_b(const void* b, BType bt, int64_t i) {
  if (bt == BType::BF16) return bf16_to_float(static_cast<const uint16_t*>(b)[i]);
  if (bt == BType::F16) return f16_to_float(static_cast<const uint16_t*>(b)[i]);
  return static_cast<const T*>(b)[i];
}

}  // namespace gemm_detail
}  // namespace peftjs
