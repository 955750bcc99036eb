// Singular values of an upper bidiagonal matrix by implicitly shifted QR (Golub-Kahan step with a
// Wilkinson shift, Golub & Van Loan Alg. 8.6.2), recording every rotation so that the caller's
// singular vectors follow along.
#pragma once
#include <cstdint>

#include "linalg/rotations.h"

namespace peftjs {
namespace linalg {

// B = diag(d) + superdiag(e) (n and n-1 values, overwritten), with A = U B Vᵀ. Applying the
// rotations sent to `left` to the rows of Uᵀ and those sent to `right` to the rows of Vᵀ makes
// A = U diag(d) Vᵀ: d holds the singular values up to sign and order. Entries below
// tol * max|B| count as zero. Returns false if it did not converge in 6 n² inner steps.
bool bidiagonal_svd(double* d, double* e, int64_t n, double tol, RotationLog& left, RotationLog& right);

}  // namespace linalg
}  // namespace peftjs
