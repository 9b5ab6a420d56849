#define VTRANS_WITH_XTENSOR_BLAS
#include "support/xblas_reference.hpp"

#include "vtrans/tensor/xtensor.hpp"

namespace vtrans::testing {
std::vector<double> xblas_matmul(const std::vector<double>& a, std::size_t a_rows, std::size_t a_cols, bool trans_a,
                                 const std::vector<double>& b, std::size_t b_rows, std::size_t b_cols, bool trans_b) {
  xt::xtensor<double, 2> x = xt::adapt(a, std::vector<std::size_t>{a_rows, a_cols});
  xt::xtensor<double, 2> y = xt::adapt(b, std::vector<std::size_t>{b_rows, b_cols});
  if (trans_a) x = xt::transpose(x);
  if (trans_b) y = xt::transpose(y);
  xt::xtensor<double, 2> c = xt::linalg::dot(x, y);
  return std::vector<double>(c.begin(), c.end());
}
}  // namespace vtrans::testing
