// Mask policies against hand-computed values.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "support/backends.hpp"
#include "vtrans/masks/mask_set.hpp"

using namespace vtrans;

TEST_CASE_TEMPLATE("VIB masks: KL, keep rule, keep probability and deterministic mask by hand", B, VTRANS_TEST_BACKENDS) {
  masks::vib::unit<double, B> u(3, 1);
  // mu = (2, 0.5, -1), log sigma^2 = (0, 0, log 4): alpha = (4, 0.25, 0.25)
  const_cast<autodiff::param<double, B>&>(u.mu()).value() = tensor<double, B>::from_host(shape{3}, {2.0, 0.5, -1.0});
  const_cast<autodiff::param<double, B>&>(u.log_var()).value() = tensor<double, B>::from_host(shape{3}, {0.0, 0.0, std::log(4.0)});
  const double kl = 0.5 * (std::log(1 + 4.0) + std::log(1 + 0.25) + std::log(1 + 0.25));
  CHECK(u.regularizer().item() == doctest::Approx(kl));
  CHECK(u.keep() == std::vector<bool>{true, false, false});
  const auto p = u.keep_probability().value().to_host();
  CHECK(p[0] == doctest::Approx(1 / (1 + std::exp(-std::log(4.0)))));  // beta 1 (the default)
  CHECK(p[1] == doctest::Approx(1 / (1 + std::exp(-std::log(0.25)))));
  masks::vib::options sharp;
  sharp.keep_temperature = 10;  // the authors' LLM setting
  masks::vib::unit<double, B> v(3, 1, sharp);
  const_cast<autodiff::param<double, B>&>(v.mu()).value() = u.mu().value().clone();
  const_cast<autodiff::param<double, B>&>(v.log_var()).value() = u.log_var().value().clone();
  CHECK(v.keep_probability().value().to_host()[0] == doctest::Approx(1 / (1 + std::exp(-10 * std::log(4.0)))));
  CHECK(u.deterministic().value().to_host() == std::vector<double>{2.0, 0.0, 0.0});
  // sample: mu + eps * sigma with the counter-based normal draw
  const auto z = u.sample(2, 9, 0).value().to_host();
  for (std::size_t r = 0; r < 2; ++r)
    for (std::size_t j = 0; j < 3; ++j) {
      const double sigma = j == 2 ? 2.0 : 1.0, mu = j == 0 ? 2.0 : j == 1 ? 0.5 : -1.0;
      CHECK(z[r * 3 + j] == doctest::Approx(mu + sigma * math::bulk_normal(9, r * 3 + j)));
    }
}

TEST_CASE_TEMPLATE("VIB masks start with every unit kept and z close to 1", B, VTRANS_TEST_BACKENDS) {
  masks::vib::unit<double, B> u(50, 3);
  for (bool k : u.keep()) CHECK(k);
  for (double z : u.sample(4, 1, 0).value().to_host()) CHECK(std::abs(z - 1.0) < 0.1);
  for (double p : u.keep_probability().value().to_host()) CHECK(p > 0.999);
}

TEST_CASE_TEMPLATE("hard-concrete masks follow CoFi's formulas", B, VTRANS_TEST_BACKENDS) {
  masks::hard_concrete::options opt;
  opt.init_std = 0;
  opt.init_log_alpha = 0.5;
  masks::hard_concrete::unit<double, B> u(4, 1, opt);
  const double p = 1 / (1 + std::exp(-(0.5 - (2.0 / 3.0) * std::log(0.1 / 1.1))));
  for (double x : u.keep_probability().value().to_host()) CHECK(x == doctest::Approx(p));
  for (double z : u.sample(8, 2, 0).value().to_host()) CHECK((z >= 0.0 && z <= 1.0));
  // expected zeros round(4 - 4p) = 0 here: all kept, with soft value sigmoid(0.5 / beta * 0.8)
  CHECK(u.keep() == std::vector<bool>{true, true, true, true});
  CHECK(u.deterministic().value().to_host()[0] == doctest::Approx(1 / (1 + std::exp(-0.5 * 0.8 * 1.5))));
  u.after_step();
  CHECK(u.regularizer().item() == 0.0);
}

TEST_CASE_TEMPLATE("hard-concrete keep: CoFi's rule decided in backend memory, the same on the host", B, VTRANS_TEST_BACKENDS) {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    masks::hard_concrete::options opt;
    opt.init_std = 2.0;  // spread log alphas: some units below the expected count
    masks::hard_concrete::unit<double, B> u(37, seed, opt);
    const auto a = u.score();
    const double shift = opt.temperature * std::log(-opt.limit_left / opt.limit_right);
    double expected = 0;
    for (double x : a) expected += 1 / (1 + std::exp(-(x - shift)));
    const auto zeros = std::llround(37 - expected);
    std::vector<std::size_t> order(a.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) { return a[i] < a[j]; });
    std::vector<bool> want(a.size(), true);
    for (long long i = 0; i < zeros; ++i) want[order[std::size_t(i)]] = false;
    INFO("seed " << seed << ", expected zeros " << zeros);
    CHECK(zeros > 0);
    CHECK(u.keep() == want);
    const auto before = B::transfers().read();
    const auto mask = u.keep_mask();
    CHECK(B::transfers().read().downloads == before.downloads);  // decided without a host read
    const auto m = mask.to_host();
    for (std::size_t i = 0; i < want.size(); ++i) CHECK((m[i] == 1.0) == want[i]);
  }
}

TEST_CASE_TEMPLATE("mask noise: whole Box-Muller pairs at any offset, standard normal moments", B, VTRANS_TEST_BACKENDS) {
  for (std::uint64_t offset : {0u, 1u, 7u, 1000u})
    for (vtrans::index n : {1, 2, 5, 1000}) {
      tensor<double, B> z(shape{n});
      B::random_normal(n, 3, offset, z.data());
      const auto h = z.to_host();
      for (vtrans::index i = 0; i < n; ++i) REQUIRE(h[std::size_t(i)] == double(math::bulk_normal(3, offset + std::uint64_t(i))));
    }
  const vtrans::index n = 400000;
  tensor<double, B> z(shape{n});
  B::random_normal(n, 11, 5, z.data());
  const auto h = z.to_host();
  double mean = 0, var = 0, odd_even = 0;
  for (double v : h) mean += v / double(n);
  for (double v : h) var += (v - mean) * (v - mean) / double(n);
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) odd_even += h[i] * h[i + 1] / double(n / 2);  // the pair's halves are uncorrelated
  CHECK(std::abs(mean) < 0.01);
  CHECK(var == doctest::Approx(1.0).epsilon(0.01));
  CHECK(std::abs(odd_even) < 0.01);
}

TEST_CASE_TEMPLATE("hard-concrete masks draw one sample per unit and step, shared by every call of the step", B, VTRANS_TEST_BACKENDS) {
  masks::hard_concrete::unit<double, B> u(6, 11), v(6, 12);
  const auto a = u.sample(4, 7, 0).value().to_host();
  REQUIRE(a.size() == 6);  // one value per unit, broadcast over the tokens
  CHECK(u.sample(9, 7, 1234).value().to_host() == a);  // another call of the same step
  CHECK(u.sample(4, 8, 0).value().to_host() != a);     // the next step
  CHECK(v.sample(4, 7, 0).value().to_host() != a);     // another structure
  // the sample follows CoFi's formula for its own uniform draw
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double w = 1e-6 + (1 - 2e-6) * math::uniform(math::mix64(7 ^ 11), i);
    const double s = 1 / (1 + std::exp(-(std::log(w) - std::log(1 - w) + u.score()[i]) / (2.0 / 3.0)));
    CHECK(a[i] == doctest::Approx(std::clamp(s * 1.2 - 0.1, 0.0, 1.0)));
  }
}

TEST_CASE("a policy's named settings reach every structure; unknown names are refused with the known ones") {
  auto vib = masks::structure_options<masks::vib>::defaults();
  vib.apply({{"keep-temperature", 3.0}, {"init-log-var", -5.0}});
  for (const auto* o : {&vib.hidden, &vib.heads, &vib.layers, &vib.intermediate}) {
    CHECK(o->keep_temperature == 3.0);
    CHECK(o->init_log_var == -5.0);
  }
  auto hc = masks::structure_options<masks::hard_concrete>::defaults();
  CHECK(hc.heads.init_log_alpha == 10.0);  // CoFi's defaults come from the policy
  CHECK(hc.intermediate.init_log_alpha == 0.0);
  CHECK_THROWS_WITH_AS(hc.apply({{"keep-temperature", 3.0}}), doctest::Contains("concrete-temperature"), vtrans::usage_error);
  CHECK(masks::vib::loop_defaults().multipliers == masks::multiplier_rule::settling);
  CHECK(masks::hard_concrete::loop_defaults().multipliers == masks::multiplier_rule::adam_ascent);
}
