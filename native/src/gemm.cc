// The blocked GEMM driver: picks the kernels for this CPU and runs the GotoBLAS loops (pack B, pack A
// blocks, macro-kernel) on the thread pool; few-row products stream B instead, batches share threads.
#include "gemm.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <type_traits>
#include <vector>

#include "cpu.h"
#include "gemm_small_m.h"
#include "next_operand.h"
#include "thread_scratch.h"
#include "threadpool.h"

namespace peftjs {
namespace {

using gemm_detail::Kernels;

// Block sizes, tuned on Zen 3 (32 KB L1, 512 KB L2): the A block (MC x KC, 144 KB) stays in L2, a
// B micro-panel (KC x 16, 32 KB) is read from L1/L2; a deep KC means few passes over C. MC = 144 for
// Zen 5's 1 MB L2 was tried: 2-3% slower at 1024^3 and 1024x768x3072 on 2 threads (f1f1e54, reverted).
constexpr int64_t kKC = 512;
constexpr int64_t kMC = 72;
constexpr int64_t kSerialPackB = 1 << 15;  // elements of op(B) the caller packs alone (LoRA's K = r)
constexpr int64_t kStreamPanels = 4;   // B panels packed together (see panel_stream)
constexpr int64_t kFewRowsPanels = 8;  // the same for a row-major B against at most kFewRowsMax rows
constexpr int64_t kFewRowsMax = 32;
constexpr int64_t kNC = 4096;             // columns of op(B) per chunk
constexpr int64_t kMaxPackedB = 1 << 21;  // elements of op(B) packed at once (8 MB of float32, in L3)
constexpr double kMinTaskFlops = 4e5;     // smaller pieces of work are not worth a thread hand-off
constexpr double kSplitItemFlops = 4e7;   // batch items smaller than this are not split among threads
constexpr int64_t kPackSlack = 64;        // elements the packers may write past the last panel
constexpr int64_t kPrefetchBytes = 8 << 20;  // of the next few-row product's B, at most (L3 holds 32 MB)
// The moderate-M path packs all of op(A) on each thread; past this many bytes of it (a deep product:
// the LM head's input gradient, 128 x 50257) it no longer stays in cache, and each column group would
// stream it from memory again.
constexpr int64_t kStreamMaxPackedA = int64_t(8) << 20;
constexpr int64_t kMinColumnsPerThread = 256;  // narrower products share one packed op(B) instead
// Vocabulary-wide products (an LM head: N >= kWideRatio * K, rows of B at most kGemvShortRowBytes, bf16)
// of up to kChunkedRows rows take the few-row kernel in chunks of kSmallM rows, over column blocks of
// about kChunkBlockBytes of B (in L2 while each chunk reads it). The 9-32-row kernel widens and
// transposes every B element for a product this thin (gemm_small_m.h): Zen 3, 2 threads, GPT-2's head
// 16 x 768 x 50257 took 15-21 ms against 11 for two 8-row products. A head's rows are one per
// sequence, so each row then has the bits of that row alone (the few-row kernels' order) up to 16 rows.
constexpr int64_t kWideRatio = 16;
constexpr int64_t kChunkedRows = 16;
constexpr int64_t kChunkBlockBytes = 192 << 10;
constexpr int64_t kDecodeTile = 1 << 17;     // floats of a decoded B tile (512 KB: in L2 on Zen 4/5; wider tiles are fewer decode calls)

// One call's arguments, with helpers for addressing op(A), op(B) and C of batch item b.
template <typename T>
struct Problem {
  bool ta, tb;
  int64_t M, N, K;
  T alpha;
  const T* A;
  int64_t lda, sA;
  const void* B;
  BType bt;
  int64_t ldb, sB;
  T beta;
  T* C;
  int64_t ldc, sC, batch;
  const BDecoder* dec = nullptr;  // B is read through this (B, bt, ldb, sB unused), float only
  int64_t dec_col = 0;             // the decoder's column of op(B) where this problem's column 0 is

  const T* a_at(int64_t b, int64_t i, int64_t k) const { return A + b * sA + (ta ? k * lda + i : i * lda + k); }
  const void* b_at(int64_t b, int64_t k, int64_t j) const {
    int64_t esize = bt == BType::F32 ? sizeof(T) : 2;
    return static_cast<const char*>(B) + (b * sB + (tb ? j * ldb + k : k * ldb + j)) * esize;
  }
  T* c_at(int64_t b, int64_t i, int64_t j) const { return C + b * sC + i * ldc + j; }
};

// Per-thread scratch slots of the GEMM drivers (packed A, packed B, streamed A, partial sums, decoded
// tile of B).
template <typename T>
T* scratch(int slot, int64_t count) {
  thread_local ThreadScratch buffers[5];
  return static_cast<T*>(buffers[slot].reserve(static_cast<size_t>(count) * sizeof(T)));
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Splits `total` into equal blocks of at most `most` (a multiple of `unit`): the block length.
int64_t block_len(int64_t total, int64_t most, int64_t unit) {
  return std::min(round_up(ceil_div(total, ceil_div(total, most)), unit), round_up(most, unit));
}

// op(B)[k0:k0 + kc, j0:j0 + nc] of a decoded B packed into dst as Kernels::pack_b writes it: a few
// panels at a time, the stored rows they span decoded into a tile of at most kDecodeTile floats (in
// L1/L2), which the instruction set's own packer then packs as float32.
template <typename T>
void pack_b_decoded(const Problem<T>& p, const Kernels<T>& kern, int64_t k0, int64_t j0, int64_t kc, int64_t nc,
                    T* dst) {
  if constexpr (std::is_same_v<T, float>) {
    const BDecoder& d = *p.dec;
    const int64_t width = std::max<int64_t>(1, kDecodeTile / (kc * kern.nr)) * kern.nr;
    float* tile = scratch<float>(4, kc * width + kPackSlack);
    for (int64_t jj = 0; jj < nc; jj += width) {
      const int64_t w = std::min(width, nc - jj);
      if (p.tb) {  // stored N x K: w rows of kc
        for (int64_t r = 0; r < w; ++r) d.decode_row(d.ctx, p.dec_col + j0 + jj + r, k0, kc, tile + r * kc);
        kern.pack_b(true, tile, BType::F32, kc, kc, w, dst + jj * kc);
      } else {  // stored K x N: kc rows of w
        for (int64_t k = 0; k < kc; ++k) d.decode_row(d.ctx, k0 + k, p.dec_col + j0 + jj, w, tile + k * w);
        kern.pack_b(false, tile, BType::F32, w, kc, w, dst + jj * kc);
      }
    }
  }
}

// Packs op(B)[k0:k0 + kc, j0:j0 + nc] of item b into dst (Kernels::pack_b's layout).
template <typename T>
void pack_op_b(const Problem<T>& p, const Kernels<T>& kern, int64_t b, int64_t k0, int64_t j0, int64_t kc, int64_t nc,
            T* dst) {
  if (p.dec) return pack_b_decoded(p, kern, k0, j0, kc, nc, dst);
  kern.pack_b(p.tb, p.b_at(b, k0, j0), p.bt, p.ldb, kc, nc, dst);
}

// C = beta * C for item b (beta == 0 writes zeros): the whole product when K == 0 or alpha == 0.
template <typename T>
void scale_c(const Problem<T>& p, int64_t b) {
  for (int64_t i = 0; i < p.M; ++i) {
    T* c = p.c_at(b, i, 0);
    for (int64_t j = 0; j < p.N; ++j) c[j] = p.beta == T(0) ? T(0) : p.beta * c[j];
  }
}

// op(A) of item b as a row-major matrix: in place, or copied when transposed. Returns its row stride.
template <typename T>
int64_t row_major_a(const Problem<T>& p, int64_t b, const T*& a) {
  a = p.a_at(b, 0, 0);
  if (!p.ta) return p.lda;
  T* buf = scratch<T>(2, p.M * p.K);
  for (int64_t i = 0; i < p.M; ++i)
    for (int64_t k = 0; k < p.K; ++k) buf[i * p.K + k] = *p.a_at(b, i, k);
  a = buf;
  return p.K;
}

// 9 to 32 rows against a bf16 B stored N x K: gemm_small_m.h (each element summed as in the paths below).
void small_m_bf16(const Problem<float>& p, int64_t b, int threads) {
  const float* a;
  const int64_t lda = row_major_a(p, b, a);
  gemm_small_m::sgemm_bf16(p.M, p.N, p.K, block_len(p.K, kKC, 1), p.alpha, a, lda,
                           static_cast<const uint16_t*>(p.b_at(b, 0, 0)), p.ldb, p.beta, p.c_at(b, 0, 0), p.ldc, threads);
}

// Whether a product of more than kSmallM rows goes to the few-row kernel in row chunks (see kWideRatio).
// Also a bf16 B stored K x N (GPT-2's Conv1D weights: serving's 9-16-row decode steps) on AVX-512, whose
// few-row kernel for that layout takes up to 16 rows (avx512/small_m_rows_avx512.cc): the four weights
// of GPT-2's 12 layers against 16 rows took 25-29 ms packed, 17-19 ms there (Intel Xeon, AVX-512, 2
// threads).
template <typename T>
bool chunked_rows(const Problem<T>& p) {
  if (!std::is_same_v<T, float> || !PEFTJS_X86 || p.bt != BType::BF16 || p.M <= gemm_detail::kSmallM || p.M > kChunkedRows) return false;
  if (!p.tb) return simd_level() == Simd::Avx512;
  return p.N >= kWideRatio * p.K && p.K * 2 <= gemm_detail::kGemvShortRowBytes;
}

// Columns per task when a few-row product's B (stored N x K) is shared out: two tasks per thread.
int64_t few_row_chunk_width(int64_t N, int threads) { return round_up(ceil_div(N, 2 * threads), 16); }

// Few rows: op(A) (copied to a row-major buffer when transposed) against op(B), streamed once.
// Stored N x K, B is shared out in column chunks (whole rows of B each); stored K x N, in row ranges
// of B (contiguous memory) whose partial products are summed into C afterwards. More than kSmallM rows
// (chunked_rows): every kSmallM rows over a block of B (a column block stored N x K, rows of k stored
// K x N) before the next block.
template <typename T>
void small_m(const Problem<T>& p, const Kernels<T>& kern, int64_t b, int threads) {
  const T* a;
  const int64_t lda = row_major_a(p, b, a);
  T* c = p.c_at(b, 0, 0);
  if (p.tb) {
    const int64_t block = p.M <= gemm_detail::kSmallM ? p.N : std::max<int64_t>(16, kChunkBlockBytes / (2 * p.K) / 16 * 16);
    auto columns = [&](int64_t j0, int64_t j1) {
      for (int64_t j = j0; j < j1; j += block)
        for (int64_t i = 0; i < p.M; i += gemm_detail::kSmallM)
          kern.small_m(std::min<int64_t>(gemm_detail::kSmallM, p.M - i), j, std::min(j1, j + block), p.K, a + i * lda, lda,
                       true, p.b_at(b, 0, 0), p.bt, p.ldb, p.alpha, p.beta, c + i * p.ldc, p.ldc);
    };
    if (threads == 1) return columns(0, p.N);
    const int64_t width = few_row_chunk_width(p.N, threads), chunks = ceil_div(p.N, width);
    return parallel_for(chunks, [&](int64_t t) { columns(t * width, std::min(p.N, (t + 1) * width)); });
  }
  // Rows [k0, k1) of B against op(A), into dst (beta for the first k, the later ranges added on). More
  // than kSmallM rows (chunked_rows's K x N case, AVX-512 only) go to that level's K x N kernel, which
  // takes up to kChunkedRows rows (each row's bits those of the few-row kernel alone).
  auto rows = [&](int64_t k0, int64_t k1, T beta, T* dst, int64_t ldd) {
#if PEFTJS_X86
    if constexpr (std::is_same_v<T, float>) {
      if (p.M > gemm_detail::kSmallM) {
        return gemm_detail::small_m_rows_avx512(p.M, 0, p.N, k1 - k0, a + k0, lda, p.b_at(b, k0, 0), p.bt, p.ldb, p.alpha,
                                                beta, dst, ldd);
      }
    }
#endif
    kern.small_m(p.M, 0, p.N, k1 - k0, a + k0, lda, false, p.b_at(b, k0, 0), p.bt, p.ldb, p.alpha, beta, dst, ldd);
  };
  if (threads == 1) return rows(0, p.K, p.beta, c, p.ldc);
  const int64_t depth = ceil_div(p.K, threads), parts = ceil_div(p.K, depth);
  T* partial = scratch<T>(3, (parts - 1) * p.M * p.N);  // parts 1.. here, part 0 straight into C
  parallel_for(parts, [&](int64_t t) {
    const int64_t k0 = t * depth;
    rows(k0, std::min(p.K, k0 + depth), t == 0 ? p.beta : T(0), t == 0 ? c : partial + (t - 1) * p.M * p.N, t == 0 ? p.ldc : p.N);
  });
  for (int64_t t = 1; t < parts; ++t)
    for (int64_t i = 0; i < p.M; ++i)
      for (int64_t j = 0; j < p.N; ++j) c[i * p.ldc + j] += partial[((t - 1) * p.M + i) * p.N + j];
}

// The packed product for item b on `threads` threads. Columns go in chunks of at most kNC; each
// chunk's rows of op(B) in slabs of whole KC blocks holding at most kMaxPackedB packed elements. Per
// slab, one parallel pass packs op(B)[slab, chunk], and a second computes it in tasks of (MC-row
// block x column part), each packing its own A blocks. The chunk width does not depend on K, so a
// deep product (the LM head's input gradient: K = 50257) packs each A block once per chunk, not once
// per few columns.
template <typename T>
void packed(const Problem<T>& p, const Kernels<T>& kern, int64_t b, int threads) {
  const int64_t kc_len = block_len(p.K, kKC, 1);
  const int64_t mc_len = block_len(p.M, kMC, kern.mr), m_blocks = ceil_div(p.M, mc_len);
  const int64_t nc_len = block_len(p.N, kNC, kern.nr);
  const int64_t slab_len = std::max<int64_t>(1, kMaxPackedB / (kc_len * nc_len)) * kc_len;
  const int64_t parts = threads == 1 ? 1 : std::min(ceil_div(2 * threads, m_blocks), ceil_div(nc_len, kern.nr));
  const int64_t part_len = round_up(ceil_div(nc_len, parts), kern.nr);
  T* pb = scratch<T>(1, std::min(slab_len, round_up(p.K, kc_len)) * nc_len + kPackSlack);
  auto pool = [&](int64_t n, const std::function<void(int64_t)>& fn) {
    if (threads > 1 && n > 1) return parallel_for(n, fn);
    for (int64_t i = 0; i < n; ++i) fn(i);
  };
  for (int64_t jc = 0; jc < p.N; jc += nc_len) {
    const int64_t nc = std::min(nc_len, p.N - jc), ncr = round_up(nc, kern.nr);
    for (int64_t ks = 0; ks < p.K; ks += slab_len) {
      const int64_t kd = std::min(slab_len, p.K - ks), k_blocks = ceil_div(kd, kc_len);
      const int64_t groups = threads == 1 ? 1 : std::min(ceil_div(2 * threads, k_blocks), ncr / kern.nr);
      const int64_t group_len = round_up(ceil_div(ncr, groups), kern.nr);
      auto pack_b = [&](int64_t t) {
        const int64_t pc = t / groups * kc_len, kc = std::min(kc_len, kd - pc), j0 = t % groups * group_len;
        if (j0 < nc) pack_op_b(p, kern, b, ks + pc, jc + j0, kc, std::min(group_len, nc - j0), pb + pc * ncr + j0 * kc);
      };
      if (kd * ncr <= kSerialPackB) {  // a thread hand-off and barrier cost more than packing it here
        for (int64_t t = 0; t < k_blocks * groups; ++t) pack_b(t);
      } else {
        pool(k_blocks * groups, pack_b);
      }
      pool(m_blocks * parts, [&](int64_t t) {
        const int64_t ic = t / parts * mc_len, mc = std::min(mc_len, p.M - ic), j0 = t % parts * part_len;
        if (j0 >= nc) return;
        T* pa = scratch<T>(0, mc_len * kc_len + kPackSlack);
        for (int64_t pc = 0; pc < kd; pc += kc_len) {
          const int64_t kc = std::min(kc_len, kd - pc);
          kern.pack_a(p.ta, p.a_at(b, ic, ks + pc), p.lda, mc, kc, pa);
          kern.macro(mc, std::min(part_len, nc - j0), kc, pa, pb + pc * ncr + j0 * kc, p.alpha,
                     ks + pc == 0 ? p.beta : T(1), p.c_at(b, ic, jc + j0), p.ldc);
        }
      });
    }
  }
}

// Moderate M (up to Kernels::stream_m rows, e.g. a prompt's tokens against a weight): the packed path would
// pack a slab of op(B) (megabytes, written to L3 and read back once per MC block), which costs a
// quarter of the product when M is this small. Here all of op(A) is packed (it fits in L2), and op(B)
// goes one NR-column panel at a time: packed into a per-thread buffer that stays in L1/L2 and used at
// once by every MR-row tile. Threads share out the panels; each B element is read once. Each thread
// packs op(A) for itself, when it takes its first task: one packed A shared by the threads made each
// core read panels the other had just written (the prompt shapes ran 10-20 % slower), and a thread
// that joins late packs nothing until it does.
//
// K is cut into the same blocks as in the packed path: a row of C is then summed in the same order
// whichever path computes it, so a row's result does not depend on how many other rows share the
// product (concurrent jobs and served requests batch rows of different callers and must get what
// each would alone).
template <typename T>
void panel_stream(const Problem<T>& p, const Kernels<T>& kern, int64_t b, int threads) {
  static std::atomic<int64_t> calls{0};
  const int64_t call = calls.fetch_add(1, std::memory_order_relaxed);
  const int64_t kc_len = block_len(p.K, kKC, 1), k_blocks = ceil_div(p.K, kc_len);
  // Block pc of packed A at pa + pc / kc_len * a_block, with the packers' slack between blocks.
  const int64_t a_block = round_up(p.M, kern.mr) * kc_len + kPackSlack;
  auto pool = [&](int64_t n, const std::function<void(int64_t)>& fn) {
    if (threads > 1 && n > 1) return parallel_for(n, fn);
    for (int64_t i = 0; i < n; ++i) fn(i);
  };
  // Tasks of a few column groups; a group is kStreamPanels panels packed together, so that each row
  // of a row-major B is read kStreamPanels * NR wide: panel by panel, every row is another page (TLB
  // misses) and packing took a fifth of the product. One group per task until there are 16 per
  // thread: the last round of tasks leaves threads idle (GPT-2's c_attn, 18 groups, was 9 tasks of
  // two: 5 on one thread, 4 on the other).
  // With few rows (a serving step's 9-32 decode rows against a Conv1D weight) packing is as costly as
  // the product, and twice as wide a group made it ~10 % faster (Zen 3, 16 x 768 x 2304 bf16); with
  // more rows the wider buffer would crowd packed A out of L2.
  const int64_t panels = !p.tb && p.M <= kFewRowsMax ? kFewRowsPanels : kStreamPanels;
  const int64_t group = panels * kern.nr, groups = ceil_div(p.N, group);
  const int64_t per_task = threads == 1 ? groups : std::max<int64_t>(1, std::min<int64_t>(4, groups / (16 * threads)));
  pool(ceil_div(groups, per_task), [&](int64_t t) {
    thread_local int64_t packed_for = -1;  // the call whose op(A) this thread's slot holds
    T* pa = scratch<T>(2, k_blocks * a_block);
    if (packed_for != call) {
      for (int64_t pc = 0; pc < p.K; pc += kc_len)
        kern.pack_a(p.ta, p.a_at(b, 0, pc), p.lda, p.M, std::min(kc_len, p.K - pc), pa + pc / kc_len * a_block);
      packed_for = call;
    }
    T* pb = scratch<T>(1, kc_len * group + kPackSlack);
    for (int64_t j = t * per_task * group; j < std::min(p.N, (t + 1) * per_task * group); j += group) {
      const int64_t nc = std::min(group, p.N - j);
      for (int64_t pc = 0; pc < p.K; pc += kc_len) {
        const int64_t kc = std::min(kc_len, p.K - pc);
        pack_op_b(p, kern, b, pc, j, kc, nc, pb);
        kern.macro(p.M, nc, kc, pa + pc / kc_len * a_block, pb, p.alpha, pc == 0 ? p.beta : T(1), p.c_at(b, 0, j), p.ldc);
      }
    }
  });
}

// op(B)'s columns [j0, j0 + n) of p, and C's: the same product over fewer columns.
template <typename T>
Problem<T> column_range(const Problem<T>& p, int64_t j0, int64_t n) {
  Problem<T> q = p;
  q.N = n;
  if (p.dec) {
    q.dec_col = p.dec_col + j0;  // the decoder addresses the whole stored B
  } else {
    q.B = p.b_at(0, 0, j0);
  }
  q.C = p.c_at(0, 0, j0);
  return q;
}

// Wide products of many rows on several threads: one column range per thread, each packed on that
// thread alone (its own op(B) slab in its own scratch, and all of op(A)'s rows). Sharing one packed
// slab made each core read panels the other had just written: at 1024^3 on 2 threads the cores ran at
// ~76 % of their peak each against ~88 % for two independent 1-thread GEMMs. Packing op(A) once per
// thread instead of once costs less than that. A C element's sum does not depend on
// the columns beside it (K blocks are cut by K alone), so the bits are those of one thread.
template <typename T>
void by_columns(const Problem<T>& p, const Kernels<T>& kern, int64_t b, int threads) {
  const int64_t part = round_up(ceil_div(p.N, threads), kern.nr), parts = ceil_div(p.N, part);
  parallel_for(parts, [&](int64_t t) { packed(column_range(p, t * part, std::min(part, p.N - t * part)), kern, b, 1); });
}

// Narrow op(B) (N <= kNarrowN): op(B) packed once k-major, then row ranges of C on the threads, op(A)
// read where it is (see Kernels::narrow_n).
template <typename T>
void narrow(const Problem<T>& p, const Kernels<T>& kern, int64_t b, int threads) {
  T* pb = scratch<T>(1, p.K * kern.nr + kPackSlack);
  pack_op_b(p, kern, b, 0, 0, p.K, p.N, pb);
  const int64_t rsa = p.ta ? 1 : p.lda, csa = p.ta ? p.lda : 1;
  auto rows = [&](int64_t i0, int64_t i1) {
    kern.narrow_n(i1 - i0, p.N, p.K, p.a_at(b, i0, 0), rsa, csa, pb, p.alpha, p.beta, p.c_at(b, i0, 0), p.ldc);
  };
  if (threads == 1) return rows(0, p.M);
  const int64_t chunk = round_up(ceil_div(p.M, 4 * threads), 12), chunks = ceil_div(p.M, chunk);
  parallel_for(chunks, [&](int64_t t) { rows(t * chunk, std::min(p.M, (t + 1) * chunk)); });
}

// Bytes of B that one item's op(B)[0:K, 0:N] spans (bf16/f16 stored in 2 bytes).
template <typename T>
int64_t b_span(const Problem<T>& p) {
  const int64_t rows = p.tb ? p.N : p.K, cols = p.tb ? p.K : p.N;
  return ((rows - 1) * p.ldb + cols) * (p.bt == BType::F32 ? int64_t(sizeof(T)) : 2);
}

// The calling thread's record of which few-row B followed which (next_operand.h), kept by single
// products and sgemm_nk_many alike.
NextOperand& next_operands() {
  thread_local NextOperand next_operand;
  return next_operand;
}

// A few-row product on the thread pool, then the start of the B that followed this one last time
// handed to the idle workers to prefetch (see next_operand.h).
template <typename T>
void small_m_then_prefetch(const Problem<T>& p, const Kernels<T>& kern, int64_t b, int threads) {
  NextOperand& next_operand = next_operands();
  const void* B = p.b_at(b, 0, 0);
  next_operand.note(B, b_span(p));
  small_m(p, kern, b, threads);
  const NextOperand::Next next = next_operand.after(B);
  if (next.b != nullptr) prefetch_async(next.b, std::min(next.bytes, kPrefetchBytes));
}

// Each batch item is scaled (K = 0 or alpha = 0), streamed (few rows) or packed. Items run in parallel
// when there are enough to share out evenly (or each is too small to split), else one after another,
// each on all threads.
template <typename T>
void run(const Problem<T>& p, const Kernels<T>& kern, bool parallel) {
  if (p.M <= 0 || p.N <= 0 || p.batch <= 0) return;
  const double item_flops = 2.0 * p.M * p.N * p.K;
  int threads = parallel && item_flops * p.batch >= 2 * kMinTaskFlops ? num_threads() : 1;
  // prefetch: on the caller's thread, with the pool's workers free between products.
  auto item = [&](int64_t b, int item_threads, bool prefetch) {
    if (p.K == 0 || p.alpha == T(0)) return scale_c(p, b);
    if (kern.small_m && (p.M <= gemm_detail::kSmallM || chunked_rows(p)) && !p.dec) {
      return prefetch ? small_m_then_prefetch(p, kern, b, item_threads) : small_m(p, kern, b, item_threads);
    }
    if constexpr (std::is_same_v<T, float>) {
      if (p.bt == BType::BF16 && !p.dec && gemm_small_m::takes(p.M, p.tb)) return small_m_bf16(p, b, item_threads);
    }
    if (kern.narrow_n && p.N <= gemm_detail::kNarrowN) return narrow(p, kern, b, item_threads);
    if (p.M <= kern.stream_m && p.M * p.K * int64_t(sizeof(T)) <= kStreamMaxPackedA) {
      return panel_stream(p, kern, b, item_threads);
    }
    // Tall products (M > 2N: a 4-job batch's 4096 rows against 768 columns) share one packed op(B):
    // by columns, each thread packed and streamed all of op(A) (50 MB at K = 3072) for half the
    // columns. Zen 3, 2 threads, 4096 x 3072 x 768: 136 -> 150 GFLOP/s median.
    // Deep products (K > 4 (M + N): the LM head's input gradient, 1024 x 50257 x 768) too: there the
    // shared slab measured 4-10 % faster (Zen 3, 2 threads: 1024 rows 147 -> 163, 256 rows 140 -> 149).
    const bool deep = p.K > 4 * (p.M + p.N);
    if (item_threads > 1 && p.N >= kMinColumnsPerThread * item_threads && p.M <= 2 * p.N && !deep) {
      return by_columns(p, kern, b, item_threads);
    }
    packed(p, kern, b, item_threads);
  };
  if (threads > 1 && p.batch >= threads &&
      (p.batch % threads == 0 || p.batch >= 4 * threads || item_flops < kSplitItemFlops)) {
    return parallel_for(p.batch, [&](int64_t b) { item(b, 1, false); });
  }
  if (item_flops < 2 * kMinTaskFlops) threads = 1;
  for (int64_t b = 0; b < p.batch; ++b) item(b, threads, parallel);
}

const Kernels<float>& f32_kernels() {
#if PEFTJS_X86
  switch (simd_level()) {
    case Simd::Avx512:
      return gemm_detail::kernels_f32_avx512();
    case Simd::Avx2:
      return gemm_detail::kernels_f32_avx2();
    default:
      break;
  }
#endif
#ifdef __wasm_simd128__
  return gemm_detail::kernels_f32_wasm128();
#else
  return gemm_detail::kernels_f32_portable();
#endif
}

}  // namespace

void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           int64_t strideA, const void* B, BType btype, int64_t ldb, int64_t strideB, float beta, float* C,
           int64_t ldc, int64_t strideC, int64_t batch) {
  Problem<float> p{transA, transB, M, N, K, alpha, A, lda, strideA, B, btype, ldb, strideB, beta, C, ldc, strideC, batch};
  run(p, f32_kernels(), true);
}

void sgemm_nk_many(int64_t M, int64_t K, const float* A, int count, const void* const* B, const BType* btypes,
                   const int64_t* N, const float* beta, float* const* C) {
  const Kernels<float>& kern = f32_kernels();
  auto product = [&](int w) {
    return Problem<float>{false, true, M, N[w], K, 1.0f, A, K, 0, B[w], btypes[w], K, 0, beta[w], C[w], N[w], 0, 1};
  };
  double flops = 0;
  for (int w = 0; w < count; ++w) flops += 2.0 * M * N[w] * K;
  const int threads = flops >= 2 * kMinTaskFlops ? num_threads() : 1;
  if (count == 1 || threads == 1 || !kern.small_m || M > gemm_detail::kSmallM || M <= 0 || K <= 0) {
    for (int w = 0; w < count; ++w) run(product(w), kern, true);
    return;
  }
  // Each product's columns in the chunks small_m gives it (so the same elements per kernel call).
  struct Chunk {
    int w;
    int64_t j0, j1;
  };
  std::vector<Chunk> chunks;
  NextOperand& next_operand = next_operands();
  for (int w = 0; w < count; ++w) {
    if (N[w] > 0) next_operand.note(B[w], b_span(product(w)));
    const int64_t width = few_row_chunk_width(N[w], threads);
    for (int64_t j = 0; j < N[w]; j += width) chunks.push_back({w, j, std::min(N[w], j + width)});
  }
  parallel_for(static_cast<int64_t>(chunks.size()), [&](int64_t t) {
    const Chunk& c = chunks[static_cast<size_t>(t)];
    kern.small_m(M, c.j0, c.j1, K, A, K, true, B[c.w], btypes[c.w], K, 1.0f, beta[c.w], C[c.w], N[c.w]);
  });
  const NextOperand::Next next = next_operand.after(B[count - 1]);
  if (next.b != nullptr) prefetch_async(next.b, std::min(next.bytes, kPrefetchBytes));
}

void sgemm_serial(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                  int64_t lda, const void* B, BType btype, int64_t ldb, float beta, float* C, int64_t ldc) {
  Problem<float> p{transA, transB, M, N, K, alpha, A, lda, 0, B, btype, ldb, 0, beta, C, ldc, 0, 1};
  run(p, f32_kernels(), false);
}

void sgemm_decoded(bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                   const BDecoder& B, float beta, float* C, int64_t ldc) {
  Problem<float> p{false, transB, M, N, K, alpha, A, lda, 0, nullptr, BType::F32, 0, 0, beta, C, ldc, 0, 1, &B};
  run(p, f32_kernels(), true);
}

void dgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
           int64_t strideA, const double* B, int64_t ldb, int64_t strideB, double beta, double* C, int64_t ldc,
           int64_t strideC, int64_t batch) {
  Problem<double> p{transA, transB, M, N, K, alpha, A, lda, strideA, B, BType::F32, ldb, strideB, beta, C, ldc, strideC, batch};
  run(p, gemm_detail::kernels_f64_portable(), true);
}

}  // namespace peftjs
