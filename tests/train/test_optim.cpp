// AdamW against torch.optim.AdamW, the schedules, gradient clipping.
#include <doctest/doctest.h>

#include <cmath>

#include "vtrans/tensor/cpu.hpp"
#include "vtrans/train/adamw.hpp"
#include "vtrans/train/clip.hpp"
#include "vtrans/train/schedule.hpp"

namespace {
using P = vtrans::autodiff::param<double, vtrans::cpu>;
using D = vtrans::tensor<double, vtrans::cpu>;

P make(std::vector<double> v, bool trainable = true) { return P(D::from_host(vtrans::shape{vtrans::index(v.size())}, v), trainable); }
void set_grad(P& p, std::vector<double> g) {
  auto& buf = p.grad_buffer();
  vtrans::cpu::upload(g.data(), vtrans::index(g.size()), buf.data());
}
}  // namespace

TEST_CASE("AdamW: two steps match torch.optim.AdamW with bias correction, decoupled decay and groups") {
  P w = make({1.0, -2.0, 0.5}), b = make({0.3}), frozen = make({4.0}, false);
  vtrans::train::adamw_options o;
  o.lr = 0.1;
  o.weight_decay = 0.1;
  vtrans::train::param_group nd{"no_decay", [](const std::string& n) { return n == "layer.bias"; }, 0.05, 0.0};
  vtrans::train::adamw<double, vtrans::cpu> opt({{"layer.weight", w}, {"layer.bias", b}, {"frozen.weight", frozen}}, o, {nd});
  CHECK(opt.group_of("layer.bias") == "no_decay");
  CHECK(opt.group_of("layer.weight") == "default");
  CHECK(opt.lr_of("layer.bias") == 0.05);
  CHECK(opt.weight_decay_of("layer.weight") == 0.1);

  set_grad(w, {0.5, -1.0, 0.0});
  set_grad(b, {2.0});
  opt.step();
  opt.zero_grad();
  auto hw = w.value().to_host();
  // Step 1 by hand: m_hat = g, v_hat = g^2, so update = sign(g) + wd * p; eps = 1e-8 shifts it
  // by ~1e-8 relative, hence the tolerance.
  CHECK(hw[0] == doctest::Approx(1.0 - 0.1 * (1.0 + 0.1 * 1.0)).epsilon(1e-8));
  CHECK(hw[1] == doctest::Approx(-2.0 - 0.1 * (-1.0 + 0.1 * -2.0)).epsilon(1e-8));
  CHECK(hw[2] == doctest::Approx(0.5 - 0.1 * 0.1 * 0.5).epsilon(1e-12));  // zero gradient: decay only
  CHECK(b.value().to_host()[0] == doctest::Approx(0.3 - 0.05).epsilon(1e-8));

  set_grad(w, {0.2, 0.4, -0.3});
  set_grad(b, {-1.0});
  opt.step();
  hw = w.value().to_host();
  // torch.optim.AdamW(lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1), float64
  CHECK(hw[0] == doctest::Approx(0.7912424838829282).epsilon(1e-12));
  CHECK(hw[1] == doctest::Approx(-1.826639416652626).epsilon(1e-12));
  CHECK(hw[2] == doctest::Approx(0.5644636788496808).epsilon(1e-12));
  CHECK(b.value().to_host()[0] == doctest::Approx(0.23668314835121573).epsilon(1e-12));
  // By hand, element 0 of step 2: m = 0.9*0.05 + 0.1*0.2, v = 0.999*0.00025 + 0.001*0.04.
  {
    const double p1 = 0.89, m = 0.065, v = 0.00028975, c1 = 1 - 0.81, c2 = 1 - 0.999 * 0.999;
    CHECK(hw[0] == doctest::Approx(p1 - 0.1 * ((m / c1) / (std::sqrt(v / c2) + 1e-8) + 0.1 * p1)).epsilon(1e-8));
  }
  CHECK(frozen.value().to_host()[0] == 4.0);
  CHECK(!opt.has_state("frozen.weight"));
  CHECK(opt.state_count() == 2);
  CHECK(opt.step_of("layer.weight") == 2);
  CHECK(opt.steps() == 2);
}

TEST_CASE("AdamW: a parameter without gradient is skipped; the schedule factor scales the rate") {
  P a = make({1.0}), c = make({1.0});
  vtrans::train::adamw_options o;
  o.lr = 0.2;
  o.weight_decay = 0;
  vtrans::train::adamw<double, vtrans::cpu> opt({{"a", a}, {"c", c}}, o);
  set_grad(a, {3.0});
  opt.step(0.5);
  CHECK(a.value().to_host()[0] == doctest::Approx(1.0 - 0.1).epsilon(1e-9));
  CHECK(c.value().to_host()[0] == 1.0);
  CHECK(!opt.has_state("c"));
}

TEST_CASE("bias and norm names form the no-decay group") {
  using vtrans::train::is_bias_or_norm;
  CHECK(is_bias_or_norm("encoder.layer.0.attention.self.query.bias"));
  CHECK(is_bias_or_norm("embeddings.LayerNorm.weight"));
  CHECK(is_bias_or_norm("h.1.ln_2.weight"));
  CHECK(is_bias_or_norm("layers.0.input_layernorm.weight"));
  CHECK(is_bias_or_norm("norm.weight"));
  CHECK_FALSE(is_bias_or_norm("encoder.layer.0.attention.self.query.weight"));
  CHECK_FALSE(is_bias_or_norm("wte.weight"));
}

TEST_CASE("linear schedule with warm-up, constant schedule") {
  vtrans::train::lr_schedule s{vtrans::train::schedule_kind::linear, 10, 110};
  CHECK(s.factor(0) == 0.0);
  CHECK(s.factor(5) == doctest::Approx(0.5));
  CHECK(s.factor(10) == doctest::Approx(1.0));
  CHECK(s.factor(60) == doctest::Approx(0.5));
  CHECK(s.factor(109) == doctest::Approx(0.01));
  CHECK(s.factor(110) == 0.0);
  CHECK(s.factor(500) == 0.0);
  vtrans::train::lr_schedule c{vtrans::train::schedule_kind::constant, 4, 100};
  CHECK(c.factor(1) == doctest::Approx(0.25));
  CHECK(c.factor(4) == 1.0);
  CHECK(c.factor(1000) == 1.0);
  vtrans::train::lr_schedule none{vtrans::train::schedule_kind::linear, 0, 4};
  CHECK(none.factor(0) == 1.0);
  CHECK(none.factor(2) == 0.5);
  CHECK_THROWS(vtrans::train::parse_schedule("cosine"));
}

TEST_CASE("clipping by global norm") {
  P a = make({3.0, 0.0}), b = make({4.0}), frozen = make({100.0}, false);
  set_grad(a, {3.0, 0.0});
  set_grad(b, {-4.0});
  std::vector<std::pair<std::string, P>> params{{"a", a}, {"b", b}, {"f", frozen}};
  CHECK(vtrans::train::global_grad_norm(params) == doctest::Approx(5.0));
  CHECK(vtrans::train::clip_grad_norm(params, 10.0) == doctest::Approx(5.0));  // below: unchanged
  CHECK(a.grad().to_host()[0] == 3.0);
  CHECK(vtrans::train::clip_grad_norm(params, 1.0) == doctest::Approx(5.0));
  CHECK(a.grad().to_host()[0] == doctest::Approx(0.6).epsilon(1e-6));
  CHECK(b.grad().to_host()[0] == doctest::Approx(-0.8).epsilon(1e-6));
  CHECK(vtrans::train::global_grad_norm(params) == doctest::Approx(1.0).epsilon(1e-6));
}
