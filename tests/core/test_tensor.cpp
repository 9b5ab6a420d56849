// tensor<T, Backend>: shapes, host round trips, shape errors that name the op.
#include <doctest/doctest.h>

#include "support/backends.hpp"
#include "vtrans/tensor/tensor.hpp"
#include "vtrans/vtrans.hpp"

using namespace vtrans;

TEST_CASE_TEMPLATE("tensor round trip and shape queries", B, VTRANS_TEST_BACKENDS) {
  auto t = tensor<float, B>::from_host(shape{2, 3}, {1, 2, 3, 4, 5, 6});
  CHECK(t.rank() == 2);
  CHECK(t.numel() == 6);
  CHECK(t.rows() == 2);
  CHECK(t.cols() == 3);
  CHECK(t.to_host() == std::vector<float>{1, 2, 3, 4, 5, 6});
  auto c = t.clone();
  c.reshape(shape{3, 2});
  CHECK(c.shape() == shape{3, 2});
  CHECK(c.to_host() == t.to_host());
  CHECK(tensor<double, B>::zeros(shape{4}).to_host() == std::vector<double>(4, 0.0));
  CHECK(tensor<double, B>::filled(shape{1}, 2.5).item() == 2.5);
}

TEST_CASE_TEMPLATE("shape errors name the op and the shapes", B, VTRANS_TEST_BACKENDS) {
  CHECK_THROWS_WITH_AS(shape({1, 2, 3, 4, 5}), doctest::Contains("rank"), shape_error);
  CHECK_THROWS_AS((tensor<float, B>::from_host(shape{2, 2}, {1, 2, 3})), shape_error);
  autodiff::var<float, B> a(tensor<float, B>::zeros(shape{2, 3})), b(tensor<float, B>::zeros(shape{4, 5}));
  try {
    autodiff::matmul(a, b);
    FAIL("expected a shape error");
  } catch (const std::invalid_argument& e) {
    const std::string m = e.what();
    CHECK(m.find("vtrans::matmul") != std::string::npos);
    CHECK(m.find("[2,3]") != std::string::npos);
    CHECK(m.find("[4,5]") != std::string::npos);
  }
  CHECK_THROWS_WITH_AS(autodiff::add(a, b), doctest::Contains("vtrans::add"), shape_error);
  CHECK_THROWS_WITH_AS(autodiff::linear(a, b), doctest::Contains("vtrans::linear"), shape_error);
}

TEST_CASE("the cpu backend satisfies the backend contract and GEMM reaches OpenBLAS") {
  static_assert(is_backend_v<cpu>);
  CHECK(!blas::core_name().empty());
  // A GEMM through the backend equals the hand-computed product.
  std::vector<double> a{1, 2, 3, 4, 5, 6}, b{7, 8, 9, 10, 11, 12}, c(4, 0.0);
  cpu::gemm<double>(false, false, 2, 2, 3, 1.0, a.data(), 3, b.data(), 2, 0.0, c.data(), 2);
  CHECK(c == std::vector<double>{58, 64, 139, 154});
}
