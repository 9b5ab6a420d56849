#pragma once
// CoFi's L0 masks (Louizos et al. hard concrete), the published baseline: per unit a log alpha;
// training samples z = clamp(sigmoid((log u - log(1 - u) + log alpha) / beta) * (r - l) + l, 0, 1)
// with u ~ U(0, 1), one sample per unit and step (CoFi draws one mask per forward pass and uses it
// for every token); P(z != 0) = sigmoid(log alpha - beta * log(-l / r)) drives the expected size.
#include <cmath>
#include <optional>

#include "vtrans/autodiff/autodiff.hpp"
#include "vtrans/masks/policy.hpp"
#include "vtrans/tensor/math.hpp"

namespace vtrans::masks {

struct hard_concrete {
  static constexpr bool active = true;
  static const char* name() { return "hard_concrete"; }

  struct options {
    double temperature = 2.0 / 3.0;       // beta
    double limit_left = -0.1, limit_right = 1.1;
    double init_log_alpha = 0.0, init_std = 0.01;  // CoFi: 0 (drop rate 0.5) for hidden/FFN units, 10 for heads/layers
    double clamp_min = std::log(0.01), clamp_max = std::log(100.0);
  };
  // heads and whole sub-layers start nearly on (log alpha 10), neurons and hidden units at drop
  // rate 0.5 (log alpha 0)
  static options defaults(structure s) {
    options o;
    if (s == structure::heads || s == structure::attention || s == structure::mlp) o.init_log_alpha = 10.0;
    return o;
  }
  static std::vector<setting> settings(options& o) {
    return {{"concrete-temperature", "hard concrete: beta of the stretched sigmoid (CoFi 2/3)", &o.temperature},
            {"init-log-alpha", "hard concrete: initial log alpha of every structure (CoFi: 10 heads and layers, 0 the rest)", &o.init_log_alpha}};
  }
  // CoFi's script: masks and multipliers at rate 0.01, multipliers by AdamW ascent, the target
  // ramped over the first 2 of 20 pruning epochs (large GLUE tasks), no regulariser
  static loop_settings loop_defaults() {
    loop_settings s;
    s.mask_lr = 0.01;
    s.lambda_lr = 0.01;
    s.lagrangian_warmup = 0.1;
    s.regularizer_weight = 0.0;
    s.multipliers = multiplier_rule::adam_ascent;
    return s;
  }

  template <class T, class B>
  class unit {
   public:
    using var_t = autodiff::var<T, B>;
    using param_t = autodiff::param<T, B>;

    unit(index n, std::uint64_t seed, options opt = {}) : n_(n), seed_(seed), opt_(opt) {
      std::vector<T> a(static_cast<std::size_t>(n));
      for (index i = 0; i < n; ++i) a[std::size_t(i)] = static_cast<T>(opt.init_log_alpha + opt.init_std * math::normal(seed, std::uint64_t(i)));
      log_alpha_ = param_t(tensor<T, B>::from_host(shape{n}, a));
    }

    index size() const { return n_; }
    std::vector<param_t> parameters() const { return {log_alpha_}; }

    // One z per unit for the whole step ([n], broadcast over rows): the same for every call with
    // the same step seed, whatever the rows and the offset of the call.
    var_t sample(index /*rows*/, std::uint64_t seed, std::uint64_t /*offset*/) const {
      // logit(u) of u ~ U(1e-6, 1 - 1e-6), drawn where the parameters live
      tensor<T, B> u(shape{n_});
      B::random_uniform(n_, math::mix64(seed ^ seed_), 0, u.data());
      const var_t inside = autodiff::add(autodiff::scale(var_t(std::move(u)), static_cast<T>(1 - 2e-6)), constant(static_cast<T>(1e-6)));
      const var_t noise = autodiff::sub(autodiff::log(inside), autodiff::log(autodiff::add(autodiff::scale(inside, T(-1)), constant(T(1)))));
      const var_t s = autodiff::sigmoid(autodiff::scale(autodiff::add(noise, log_alpha_), static_cast<T>(1.0 / opt_.temperature)));
      const var_t stretched = autodiff::add(autodiff::scale(s, static_cast<T>(opt_.limit_right - opt_.limit_left)),
                                            constant(static_cast<T>(opt_.limit_left)));
      // clamp to [0, 1]: 1 - relu(1 - relu(x)), with 1 - y written as -(y - 1)
      const var_t one = constant(T(1));
      const var_t upper_gap = autodiff::relu(autodiff::scale(autodiff::sub(autodiff::relu(stretched), one), T(-1)));
      return autodiff::scale(autodiff::sub(upper_gap, one), T(-1));
    }
    // CoFi's deterministic mask: soft values sigmoid(log alpha / beta * 0.8) with the expected
    // number of zeros set to 0.
    var_t deterministic() const {
      const var_t soft = autodiff::sigmoid(autodiff::scale<T, B>(log_alpha_, static_cast<T>(0.8 / opt_.temperature)));
      return autodiff::mul(soft, var_t(keep_mask()));
    }
    var_t regularizer() const { return var_t(tensor<T, B>::zeros(shape{})); }
    var_t keep_probability() const {
      const T shift = static_cast<T>(opt_.temperature * std::log(-opt_.limit_left / opt_.limit_right));
      return autodiff::sigmoid(autodiff::sub<T, B>(log_alpha_, constant(shift)));
    }
    std::vector<double> score() const {
      const auto a = log_alpha_.value().to_host();
      return std::vector<double>(a.begin(), a.end());
    }
    // Keep all but the round(n - sum P(keep)) units of lowest log alpha, decided in the backend's
    // memory (B::keep_highest ranks the units there), so a forward pass reads nothing back.
    tensor<T, B> keep_mask() const {
      if (forced_) return mask_of<T, B>(*forced_);
      autodiff::no_record guard;
      const var_t kept = autodiff::sum(keep_probability());
      tensor<T, B> out(shape{n_});
      B::keep_highest(n_, log_alpha_.value().data(), kept.value().data(), out.data());
      return out;
    }
    // The same decision on the host: keep_mask() read back, so that host and device never disagree.
    std::vector<bool> keep() const {
      if (forced_) return *forced_;
      return keep_of(keep_mask());
    }
    std::vector<double> scale() const {
      const auto a = score();
      std::vector<double> s(a.size());
      for (std::size_t i = 0; i < s.size(); ++i) s[i] = 1.0 / (1.0 + std::exp(-a[i] * 0.8 / opt_.temperature));
      return s;
    }
    void force_keep(std::vector<bool> k) { forced_ = std::move(k); }
    // CoFi clamps log alpha after every step.
    void after_step() {
      autodiff::no_record guard;
      const var_t a(log_alpha_.value().clone());
      const var_t lo = constant(static_cast<T>(opt_.clamp_min)), hi = constant(static_cast<T>(opt_.clamp_max));
      // max(a, lo) = a + relu(-(a - lo)), min(x, hi) = x - relu(x - hi): exact for values inside
      const var_t above = autodiff::add(a, autodiff::relu(autodiff::scale(autodiff::sub(a, lo), T(-1))));
      const var_t clamped = autodiff::sub(above, autodiff::relu(autodiff::sub(above, hi)));
      B::axpby(n_, T(1), clamped.value().data(), T(0), const_cast<param_t&>(log_alpha_).value().data());
    }

   private:
    static var_t constant(T v) { return var_t(tensor<T, B>::filled(shape{1}, v)); }
    index n_;
    std::uint64_t seed_;
    options opt_;
    param_t log_alpha_;
    std::optional<std::vector<bool>> forced_;
  };
};

}  // namespace vtrans::masks
