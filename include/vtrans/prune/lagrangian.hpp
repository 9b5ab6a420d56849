#pragma once
// The size constraint as a Lagrangian term lambda1 (s - t) + lambda2 (s - t)^2 between the
// expected sparsity s and the current target t (t ramps linearly from 0). The masks minimise it,
// the multipliers maximise it, by one of two rules (masks::multiplier_rule):
//   adam_ascent  AdamW with a negative rate on both multipliers (CoFi). Adam moves lambda1 by
//                about the rate every step whatever the size of the gap, so lambda1 winds up
//                while the sparsity trails the ramp and the sparsity overshoots.
//   settling     lambda2 fixed (a spring towards the target) and lambda1 by plain gradient
//                ascent, lambda1 += rate * (s - t), once the target has stopped moving: it moves
//                in proportion to the gap and stops when the gap closes.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "vtrans/autodiff/autodiff.hpp"
#include "vtrans/masks/policy.hpp"
#include "vtrans/train/adamw.hpp"

namespace vtrans::prune {

template <class T, class B>
class lagrangian {
 public:
  using var_t = autodiff::var<T, B>;
  using param_t = autodiff::param<T, B>;

  lagrangian(masks::multiplier_rule rule, double rate, double stiffness = 0)
      : rule_(rule), rate_(rate), adam_(parameters(), {-rate, 0.9, 0.999, 1e-8, 0.0}) {  // negative rate: ascent
    if (rule_ == masks::multiplier_rule::settling) lambda2_.value() = tensor<T, B>::filled(shape{1}, static_cast<T>(stiffness));
  }

  // expected_size: E[params] or E[FLOPs]; full: the unpruned size; target: sparsity at this step
  var_t penalty(const var_t& expected_size, double full, double target) const {
    // s - t = (1 - t) - E / full
    const var_t gap = autodiff::add(autodiff::scale(expected_size, static_cast<T>(-1.0 / full)),
                                    var_t(tensor<T, B>::filled(shape{1}, static_cast<T>(1.0 - target))));
    return autodiff::add(autodiff::mul(lambda1_, gap), autodiff::mul(lambda2_, autodiff::square(gap)));
  }
  // After the backward pass of a loss that contains penalty(): one ascent step. Settling
  // multipliers integrate the gap only once the target has stopped moving (`target_fixed`): while
  // the masks trail a moving target, lambda1 would wind up and overshoot (docs/method.md).
  void step(bool target_fixed = true) {
    if (rule_ == masks::multiplier_rule::adam_ascent) {
      adam_.step();
    } else {
      if (target_fixed && lambda1_.has_grad())  // on the device: no host read per step
        B::axpby(1, static_cast<T>(rate_), lambda1_.grad().data(), T(1), lambda1_.value().data());
    }
    lambda1_.zero_grad();
    lambda2_.zero_grad();
  }
  double lambda1() const { return double(lambda1_.item()); }
  double lambda2() const { return double(lambda2_.item()); }
  std::vector<std::pair<std::string, param_t>> parameters() const { return {{"lambda1", lambda1_}, {"lambda2", lambda2_}}; }
  // The adam_ascent rule's optimizer state (saved with the pruning state, pruning_state.hpp).
  const train::adamw<T, B>& optimizer() const { return adam_; }
  train::adamw<T, B>& optimizer() { return adam_; }

 private:
  masks::multiplier_rule rule_;
  double rate_;
  param_t lambda1_{tensor<T, B>::zeros(shape{1})}, lambda2_{tensor<T, B>::zeros(shape{1})};
  train::adamw<T, B> adam_;
};

// Target sparsity after `step` steps: a line from `start` (CoFi: 0) to the final sparsity over
// `warmup` steps, then the final sparsity.
inline double target_sparsity(double final_sparsity, std::int64_t step, std::int64_t warmup, double start = 0.0) {
  if (warmup <= 0) return final_sparsity;
  return start + (final_sparsity - start) * std::min(1.0, double(step) / double(warmup));
}

}  // namespace vtrans::prune
