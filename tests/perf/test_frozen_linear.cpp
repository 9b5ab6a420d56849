// linear over a frozen 16-bit weight: the same values and input gradient as linear over the
// weight widened to the compute type, across panel boundaries; no gradient for the weight.
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
template <class H, class B>
frozen<H, B> frozen_weight(const shape& s, std::uint64_t seed) {
  const auto v = testing::random_values<float>(s.numel(), seed, 0.5);
  std::vector<H> h(v.size());
  narrow(v.size(), v.data(), h.data());
  return frozen<H, B>(tensor<H, B>::from_host(s, h));
}
template <class T, class H, class B>
var<T, B> widened(const frozen<H, B>& w) {
  tensor<T, B> t(w.shape());
  B::widen(w.numel(), w.value().data(), t.data());
  return var<T, B>(std::move(t));
}
double max_relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(double(a[i]) - b[i]) / (1.0 + std::abs(double(b[i]))));
  return worst;
}
}  // namespace

TEST_CASE_TEMPLATE("linear over a frozen bf16 / f16 weight equals linear over the widened weight", B, VTRANS_TEST_BACKENDS) {
  // 2100 output rows of 1000 inputs span three widening panels of 1048 rows
  for (const auto& [out, in] : {std::pair<vtrans::index, vtrans::index>{7, 5}, std::pair<vtrans::index, vtrans::index>{2100, 1000}}) {
    const auto wb = frozen_weight<bf16, B>(shape{out, in}, 1);
    const auto wh = frozen_weight<f16, B>(shape{out, in}, 2);
    auto run = [&](auto&& weight, const var<float, B>& reference) {
      auto x16 = testing::random_var<float, B>(shape{3, 2, in}, 4);
      auto x32 = var<float, B>(x16.value().clone(), true);
      auto b16 = testing::random_var<float, B>(shape{out}, 3);
      auto b32 = var<float, B>(b16.value().clone(), true);
      auto y16 = linear(x16, weight, b16);
      auto y32 = linear(x32, reference, b32);
      CHECK(y16.shape() == shape{3, 2, out});
      CHECK(max_relative_difference(y16.value().to_host(), y32.value().to_host()) < 1e-5);
      const auto r = testing::random_var<float, B>(y16.shape(), 5, false);
      backward(add(sum(mul(y16, r)), sum(mul(y32, r))));  // one pass: backward() clears the whole tape
      // dx sums over the output rows panel by panel: float additions in another order
      CHECK(max_relative_difference(x16.grad().to_host(), x32.grad().to_host()) < 1e-4);
      CHECK(max_relative_difference(b16.grad().to_host(), b32.grad().to_host()) < 1e-6);
    };
    run(wb, widened<float>(wb));
    run(wh, widened<float>(wh));
  }
}

TEST_CASE_TEMPLATE("linear over a frozen weight: finite-difference gradients of the input and bias", B, VTRANS_TEST_BACKENDS) {
  const auto w = frozen_weight<bf16, B>(shape{4, 3}, 6);
  auto x = testing::random_var<double, B>(shape{2, 3}, 7);
  auto b = testing::random_var<double, B>(shape{4}, 8);
  const auto r = gradcheck<B>([&](const std::vector<var<double, B>>& in) { return tanh(linear(in[0], w, in[1])); }, {x, b});
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("a frozen weight's values are shared by copies, never copied") {
  const auto w = frozen_weight<bf16, cpu>(shape{8, 8}, 9);
  const frozen<bf16, cpu> copy = w;
  CHECK(&copy.value() == &w.value());
}
