#pragma once
// Products computed by xtensor-blas, an implementation independent of vtrans's kernels. Lives in
// its own translation unit: xtensor-blas's bundled cblas.h clashes with OpenBLAS's.
#include <cstddef>
#include <vector>

namespace vtrans::testing {
// Row-major [m, k] x [k, n] with optional transposes of the stored operands.
std::vector<double> xblas_matmul(const std::vector<double>& a, std::size_t a_rows, std::size_t a_cols, bool trans_a,
                                 const std::vector<double>& b, std::size_t b_rows, std::size_t b_cols, bool trans_b);
}
