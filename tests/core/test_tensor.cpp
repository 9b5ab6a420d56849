// tensor<T, Backend>: shapes, host round trips, shape errors that name the op.
#include <doctest/doctest.h>

#include "support/backends.hpp"
#include "vtrans/autodiff/autodiff.hpp"
#include "vtrans/tensor/tensor.hpp"

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
  } catch (const vtrans::usage_error& e) {
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

TEST_CASE_TEMPLATE("every host <-> device crossing is counted, and only those", B, VTRANS_TEST_BACKENDS) {
  B::transfers().reset();
  auto a = tensor<float, B>::from_host(shape{2, 3}, {1, 2, 3, 4, 5, 6});
  auto b = tensor<float, B>::from_host(shape{3, 2}, {1, 0, 0, 1, 1, 1});
  transfer_counts c = B::transfers().read();
  CHECK(c.uploads == 2);
  CHECK(c.upload_bytes == 2 * 6 * sizeof(float));
  CHECK(c.downloads == 0);
  // ops stay in the backend's memory
  autodiff::var<float, B> x(a.clone(), true), w(std::move(b), true);
  auto loss = autodiff::sum(autodiff::softmax(autodiff::matmul(x, w)));
  autodiff::backward(loss);
  auto z = tensor<float, B>::zeros(shape{4});
  CHECK(B::transfers().read().crossings() == 2);
  // reading back: to_host, item and the host result of dot
  CHECK(a.to_host().size() == 6);
  CHECK(loss.item() == doctest::Approx(2.0f));
  CHECK(B::dot(a.numel(), a.data(), a.data()) == doctest::Approx(91.0));
  B::upload(static_cast<const float*>(nullptr), 0, z.data());  // nothing to move: not a crossing
  c = B::transfers().reset();
  CHECK(c.uploads == 2);
  CHECK(c.downloads == 3);
  CHECK(c.download_bytes == 6 * sizeof(float) + sizeof(float) + sizeof(double));
  CHECK(B::transfers().read().crossings() == 0);
}

TEST_CASE_TEMPLATE("a training step on data in the backend's memory makes no host transfers after the first", B, VTRANS_TEST_BACKENDS) {
  using V = autodiff::var<double, B>;
  using P = autodiff::param<double, B>;
  auto values = [](vtrans::index n, std::uint64_t seed) {
    std::vector<double> v(static_cast<std::size_t>(n));
    for (vtrans::index i = 0; i < n; ++i) v[std::size_t(i)] = math::normal(seed, std::uint64_t(i)) * 0.3;
    return v;
  };
  P w1(tensor<double, B>::from_host(shape{8, 6}, values(48, 1))), w2(tensor<double, B>::from_host(shape{6, 8}, values(48, 2)));
  P gamma(tensor<double, B>::filled(shape{8}, 1.0)), beta(tensor<double, B>::zeros(shape{8}));
  const V x(tensor<double, B>::from_host(shape{2, 4, 6}, values(48, 3)));
  const auto mask = tensor<std::int32_t, B>::from_host(shape{2, 4}, {1, 1, 1, 1, 1, 1, 1, 0});
  std::vector<P*> params{&w1, &w2, &gamma, &beta};
  std::vector<tensor<double, B>> m, v;
  for (P* p : params) m.push_back(tensor<double, B>::zeros(p->shape())), v.push_back(tensor<double, B>::zeros(p->shape()));
  auto step = [&](int t) {
    auto h = autodiff::layer_norm(autodiff::gelu(autodiff::linear(x, w1)), gamma, beta, 1e-5);
    auto a = autodiff::attention(h, h, h, &mask, autodiff::attention_options{2, 2, true, {}});
    auto y = autodiff::linear(a, w2);
    auto loss = autodiff::mean(autodiff::square(autodiff::sub(y, x)));
    autodiff::backward(loss);
    for (std::size_t i = 0; i < params.size(); ++i) {
      B::adamw(params[i]->numel(), params[i]->value().data(), params[i]->grad().data(), m[i].data(), v[i].data(), 1e-2, 0.9,
               0.999, 1e-8, 0.0, 1 - std::pow(0.9, t), 1 - std::pow(0.999, t));
      params[i]->zero_grad();
    }
    return loss;
  };
  const double first = step(1).item();
  B::transfers().reset();
  auto second = step(2);
  CHECK(B::transfers().read().crossings() == 0);
  CHECK(second.item() < first);  // the step did train
}
