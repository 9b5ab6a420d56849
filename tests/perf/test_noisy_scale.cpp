// The fused VIB mask op: the same values and gradients as the unfused sample-then-multiply, and
// finite-difference gradients for x, mu and sigma.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "support/backends.hpp"
#include "support/random.hpp"
#include "vtrans/autodiff/autodiff.hpp"
#include "vtrans/autodiff/gradcheck.hpp"

using namespace vtrans;
using namespace vtrans::autodiff;

namespace {
double max_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(double(a[i]) - b[i]) / (1.0 + std::abs(double(b[i]))));
  return worst;
}
}  // namespace

TEST_CASE_TEMPLATE("noisy_scale equals mul(x, mu + eps * sigma) with the same noise", B, VTRANS_TEST_BACKENDS) {
  using V = var<float, B>;
  const shape s{3, 41, 29};
  const std::uint64_t seed = 11, offset = 12345;  // odd: starts halfway through a Box-Muller pair
  auto make = [&] {
    return std::vector<V>{testing::random_var<float, B>(s, 1), testing::random_var<float, B>(shape{29}, 2, true, 0.1, 1.0),
                          testing::random_var<float, B>(shape{29}, 3, true, 0.05, 0.3)};
  };
  const auto fused = make(), plain = make();
  tensor<float, B> eps(s);
  B::random_normal(s.numel(), seed, offset, eps.data());
  const V y_fused = noisy_scale(fused[0], fused[1], fused[2], seed, offset);
  const V y_plain = mul(plain[0], add(mul(V(std::move(eps)), plain[2]), plain[1]));
  CHECK(max_difference(y_fused.value().to_host(), y_plain.value().to_host()) == 0);
  const V r = testing::random_var<float, B>(s, 4, false);
  backward(add(sum(mul(y_fused, r)), sum(mul(y_plain, r))));
  for (std::size_t k = 0; k < 3; ++k) CHECK(max_difference(fused[k].grad().to_host(), plain[k].grad().to_host()) < 1e-6);
}

TEST_CASE_TEMPLATE("noisy_scale: finite-difference gradients of x, mu and sigma", B, VTRANS_TEST_BACKENDS) {
  const auto x = testing::random_var<double, B>(shape{5, 7}, 5);
  const auto mu = testing::random_var<double, B>(shape{7}, 6, true, 0.1, 1.0);
  const auto sigma = testing::random_var<double, B>(shape{7}, 7, true, 0.1, 0.5);
  const auto r = gradcheck<B>([](const std::vector<var<double, B>>& in) { return tanh(noisy_scale(in[0], in[1], in[2], 9, 4)); }, {x, mu, sigma});
  CHECK_MESSAGE(r.ok, r.message);
}
