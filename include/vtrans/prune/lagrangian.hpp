#pragma once
// The size constraint as a Lagrangian term lambda1 (s - t) + lambda2 (s - t)^2 between the
// expected sparsity s and the current target t; the multipliers are trained by gradient ascent
// (so the constraint is enforced ever harder while it is violated), t ramps linearly from 0.
#include <algorithm>

#include "vtrans/autodiff/autodiff.hpp"

namespace vtrans::prune {

template <class T, class B>
struct lagrangian {
  using var_t = autodiff::var<T, B>;
  autodiff::param<T, B> lambda1{tensor<T, B>::zeros(shape{1})}, lambda2{tensor<T, B>::zeros(shape{1})};

  // expected_size: E[params] or E[FLOPs]; full: the unpruned size; target: sparsity at this step
  var_t penalty(const var_t& expected_size, double full, double target) const {
    // s - t = (1 - t) - E / full
    const var_t gap = autodiff::add(autodiff::scale(expected_size, static_cast<T>(-1.0 / full)),
                                    var_t(tensor<T, B>::filled(shape{1}, static_cast<T>(1.0 - target))));
    return autodiff::add(autodiff::mul(lambda1, gap), autodiff::mul(lambda2, autodiff::square(gap)));
  }
  std::vector<std::pair<std::string, autodiff::param<T, B>>> parameters() const { return {{"lambda1", lambda1}, {"lambda2", lambda2}}; }
};

// Target sparsity after `step` steps: final * min(1, step / warmup)
inline double target_sparsity(double final_sparsity, std::int64_t step, std::int64_t warmup) {
  if (warmup <= 0) return final_sparsity;
  return final_sparsity * std::min(1.0, double(step) / double(warmup));
}

}  // namespace vtrans::prune
