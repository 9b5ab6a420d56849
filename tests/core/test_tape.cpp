// The tape: recording, no-record mode, gradient accumulation, frozen params.
#include <doctest/doctest.h>

#include "support/backends.hpp"
#include "support/random.hpp"
#include "vtrans/autodiff/autodiff.hpp"

using namespace vtrans;
using namespace vtrans::autodiff;

TEST_CASE_TEMPLATE("no-record mode pushes no tape entries", B, VTRANS_TEST_BACKENDS) {
  auto& t = tape<double, B>::local();
  t.clear();
  param<double, B> w(tensor<double, B>::filled(shape{3, 3}, 0.5));
  auto x = testing::random_var<double, B>(shape{2, 3}, 1, false);
  {
    no_record guard;
    auto y = gelu(linear(x, w));
    CHECK(t.size() == 0);
    CHECK(!y.requires_grad());
  }
  auto y = gelu(linear(x, w));
  CHECK(t.size() == 2);
  CHECK(y.requires_grad());
  t.clear();
}

TEST_CASE_TEMPLATE("gradients accumulate across backward passes until zero_grad", B, VTRANS_TEST_BACKENDS) {
  param<double, B> w(tensor<double, B>::from_host(shape{2}, {1.0, -2.0}));
  auto x = var<double, B>(tensor<double, B>::from_host(shape{2}, {3.0, 4.0}));
  for (int i = 0; i < 2; ++i) backward(sum(mul(x, w)));  // d/dw sum(x*w) = x, twice
  CHECK(w.grad().to_host() == std::vector<double>{6.0, 8.0});
  w.zero_grad();
  backward(sum(mul(x, w)));
  CHECK(w.grad().to_host() == std::vector<double>{3.0, 4.0});
  CHECK(tape<double, B>::local().size() == 0);  // backward clears the tape
}

TEST_CASE_TEMPLATE("frozen params get no gradient and record nothing alone", B, VTRANS_TEST_BACKENDS) {
  auto& t = tape<double, B>::local();
  t.clear();
  param<double, B> w(tensor<double, B>::filled(shape{2, 2}, 1.0), false);
  param<double, B> mask(tensor<double, B>::filled(shape{2}, 1.0));
  auto x = testing::random_var<double, B>(shape{3, 2}, 2, false);
  auto h = linear(x, w);
  CHECK(t.size() == 0);  // nothing trainable upstream
  backward(sum(mul(h, mask)));
  CHECK(!w.has_grad());
  CHECK(mask.has_grad());
}

TEST_CASE_TEMPLATE("a var used twice receives both gradients", B, VTRANS_TEST_BACKENDS) {
  param<double, B> x(tensor<double, B>::from_host(shape{1}, {3.0}));
  backward(sum(mul(x, x)));  // d(x^2)/dx = 2x
  CHECK(x.grad().item() == doctest::Approx(6.0));
}
