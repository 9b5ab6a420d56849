#pragma once
// Gradient clipping by the global L2 norm over all trainable parameters that have a gradient
// (torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when norm > max_norm).
// The norm and the factor are computed where the gradients live: clipping reads nothing on the
// host, so a training step on a GPU does not wait for it.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "vtrans/autodiff/autodiff.hpp"

namespace vtrans::train {

// The global norm of the gradients, [1] in the backend's memory.
template <class T, class B>
tensor<T, B> global_grad_norm_tensor(const std::vector<std::pair<std::string, autodiff::param<T, B>>>& params) {
  tensor<T, B> total = tensor<T, B>::zeros(shape{1}), part(shape{1});
  for (const auto& [name, p] : params)
    if (p.trainable() && p.has_grad()) {
      tensor<T, B> sq(p.grad().shape());
      B::unary(math::unary_op::square, p.numel(), p.grad().data(), sq.data());
      B::reduce_sum(p.numel(), sq.data(), T(1), part.data());
      B::axpby(1, T(1), part.data(), T(1), total.data());
    }
  B::unary(math::unary_op::sqrt, 1, total.data(), total.data());
  return total;
}

// Clips in place when max_norm > 0; returns the norm before clipping, [1] in the backend's memory.
template <class T, class B>
tensor<T, B> clip_grad_norm_on_device(const std::vector<std::pair<std::string, autodiff::param<T, B>>>& params, double max_norm) {
  tensor<T, B> norm = global_grad_norm_tensor(params);
  if (max_norm <= 0) return norm;
  // factor = 1 / max(1, (norm + 1e-6) / max_norm): max_norm / (norm + 1e-6) above the limit, 1 below
  autodiff::no_record guard;
  using V = autodiff::var<T, B>;
  const V ratio = autodiff::scale(autodiff::add(V(norm.clone()), V(tensor<T, B>::filled(shape{1}, T(1e-6)))), static_cast<T>(1.0 / max_norm));
  const V one(tensor<T, B>::filled(shape{1}, T(1)));
  const V factor = autodiff::reciprocal(autodiff::add(autodiff::relu(autodiff::sub(ratio, one)), one));
  for (const auto& [name, p] : params)
    if (p.trainable() && p.has_grad())
      B::binary(math::binary_op::mul, 1, p.numel(), p.grad().data(), factor.value().data(), broadcast::scalar, p.grad_buffer().data());
  return norm;
}

// The global norm of the gradients (before clipping), read on the host.
template <class T, class B>
double global_grad_norm(const std::vector<std::pair<std::string, autodiff::param<T, B>>>& params) {
  return double(global_grad_norm_tensor(params).item());
}

// Clips in place when max_norm > 0; returns the norm before clipping, read on the host.
template <class T, class B>
double clip_grad_norm(const std::vector<std::pair<std::string, autodiff::param<T, B>>>& params, double max_norm) {
  return double(clip_grad_norm_on_device(params, max_norm).item());
}

}  // namespace vtrans::train
