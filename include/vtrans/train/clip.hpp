#pragma once
// Gradient clipping by the global L2 norm over all trainable parameters that have a gradient
// (torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when norm > max_norm).
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "vtrans/autodiff/var.hpp"

namespace vtrans::train {

// The global norm of the gradients (before clipping).
template <class T, class B>
double global_grad_norm(const std::vector<std::pair<std::string, autodiff::param<T, B>>>& params) {
  double sq = 0;
  for (const auto& [name, p] : params)
    if (p.trainable() && p.has_grad()) sq += B::dot(p.numel(), p.grad().data(), p.grad().data());
  return std::sqrt(sq);
}

// Clips in place when max_norm > 0; returns the norm before clipping.
template <class T, class B>
double clip_grad_norm(const std::vector<std::pair<std::string, autodiff::param<T, B>>>& params, double max_norm) {
  const double norm = global_grad_norm(params);
  if (max_norm > 0 && norm > max_norm) {
    const T f = static_cast<T>(max_norm / (norm + 1e-6));
    for (const auto& [name, p] : params)
      if (p.trainable() && p.has_grad()) B::axpby(p.numel(), f, p.grad().data(), T(0), p.grad_buffer().data());
  }
  return norm;
}

}  // namespace vtrans::train
