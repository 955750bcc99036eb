// Dense linear algebra on batches of contiguous row-major matrices, float and double (explicitly
// instantiated for both): SVD, Householder QR, LU with partial pivoting. Item b of a batch lives at
// b * (rows * cols) in every buffer.
#pragma once
#include <cstdint>

namespace peftjs {
namespace linalg {

// Status of one SVD item.
enum SvdStatus : int32_t { kSvdOk = 0, kSvdNonFinite = 1, kSvdNoConvergence = 2 };

// A (m x n) = U diag(S) Vh with k = min(m, n): U is m x m (full) or m x k, S has k values in
// descending order, Vh is n x n (full) or k x n. Each column of U has its largest-magnitude entry
// positive (ties: the first); unpaired vectors of a full U or Vh follow the same rule on their own.
// info[b] gets an SvdStatus.
template <typename T>
void svd(const T* a, int64_t batch, int64_t m, int64_t n, bool full, T* u, T* s, T* vh, int32_t* info);

// A (m x n) = Q R with k = min(m, n): Q is m x k with orthonormal columns, R is k x n upper
// triangular; LAPACK's reflectors (geqrf + orgqr), so R's diagonal may be negative.
template <typename T>
void qr(const T* a, int64_t batch, int64_t m, int64_t n, T* q, T* r);

// P A = L U in place (unit L below the diagonal, U on and above), n x n. piv[k] is the row swapped
// with row k at step k. info[b] = -1 if fine, the first step k whose pivot has |u_kk| <= n eps
// max|A| (numerically singular; elimination goes on), or -2 if A has a non-finite entry.
template <typename T>
void lu_factor(T* a, int64_t batch, int64_t n, int32_t* piv, int32_t* info);

// Solves A X = B (or Aᵀ X = B when trans) in place in b (n x k) from lu_factor's output.
template <typename T>
void lu_solve(const T* lu, const int32_t* piv, int64_t batch, int64_t n, T* b, int64_t k, bool trans);

// det(A) from lu_factor's output: the product of U's diagonal, negated per row swap.
template <typename T>
void lu_det(const T* lu, const int32_t* piv, int64_t batch, int64_t n, T* out);

}  // namespace linalg
}  // namespace peftjs
