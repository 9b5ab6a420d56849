#pragma once
// A given keep set (magnitude and random baselines, or a mask read from disk): no parameters,
// z = 1 for kept units and 0 otherwise, in training and evaluation alike.
#include <optional>

#include "vtrans/autodiff/autodiff.hpp"
#include "vtrans/masks/policy.hpp"

namespace vtrans::masks {

struct fixed {
  static constexpr bool active = true;
  static const char* name() { return "fixed"; }
  struct options {};
  static options defaults(structure) { return {}; }
  static std::vector<setting> settings(options&) { return {}; }
  static loop_settings loop_defaults() { return {}; }  // nothing is trained

  template <class T, class B>
  class unit {
   public:
    using var_t = autodiff::var<T, B>;
    unit(index n, std::uint64_t /*seed*/, options = {}) : keep_(std::size_t(n), true), mask_(tensor<T, B>::filled(shape{n}, T(1))) {}
    index size() const { return index(keep_.size()); }
    std::vector<autodiff::param<T, B>> parameters() const { return {}; }
    var_t sample(index /*rows*/, std::uint64_t, std::uint64_t) const { return deterministic(); }
    var_t deterministic() const { return var_t(mask_.clone()); }
    var_t regularizer() const { return var_t(tensor<T, B>::zeros(shape{})); }
    var_t keep_probability() const { return deterministic(); }
    std::vector<double> score() const {
      if (score_) return *score_;
      std::vector<double> s(keep_.size());
      for (std::size_t i = 0; i < s.size(); ++i) s[i] = keep_[i] ? 1.0 : -1.0;
      return s;
    }
    std::vector<bool> keep() const { return keep_; }
    tensor<T, B> keep_mask() const { return mask_.clone(); }
    std::vector<double> scale() const { return std::vector<double>(keep_.size(), 1.0); }
    void force_keep(std::vector<bool> k) {
      mask_ = mask_of<T, B>(k);
      keep_ = std::move(k);
    }
    // Baselines rank units by an importance score (weight magnitude, or random numbers).
    void set_score(std::vector<double> s) { score_ = std::move(s); }
    void after_step() {}

   private:
    std::vector<bool> keep_;
    tensor<T, B> mask_;  // keep_ as 0/1 in the backend's memory, uploaded when it changes
    std::optional<std::vector<double>> score_;
  };
};

}  // namespace vtrans::masks
