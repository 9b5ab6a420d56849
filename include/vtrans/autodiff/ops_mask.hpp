#pragma once
// A VIB mask applied in one op: x * (mu + eps * sigma) with standard normal noise eps drawn for
// every element of x (fresh per token) from (seed, offset), exactly the numbers
// B::random_normal(x.numel(), seed, offset) gives, so that the result equals
// mul(x, add(mul(eps, sigma), mu)). The unfused form keeps eps, the sample and the gradients
// of both intermediate products; this keeps eps only and runs one sweep forward and one back.
#include <cstdint>

#include "vtrans/autodiff/tape.hpp"

namespace vtrans::autodiff {

// x [..., n]; mu and sigma [n] (sigma = exp(log_var / 2) for VIB).
template <class T, class B>
var<T, B> noisy_scale(const var<T, B>& x, const var<T, B>& mu, const var<T, B>& sigma, std::uint64_t seed, std::uint64_t offset) {
  const index rows = x.shape().rows(), cols = x.shape().cols();
  require(mu.shape() == shape{cols} && sigma.shape() == shape{cols}, "noisy_scale",
          "mu " + mu.shape().str() + " and sigma " + sigma.shape().str() + " must be [" + std::to_string(cols) + "] for input " + x.shape().str());
  tensor<T, B> eps(x.shape()), y(x.shape());
  B::random_normal(x.numel(), seed, offset, eps.data());
  B::noisy_scale(rows, cols, x.value().data(), eps.data(), mu.value().data(), sigma.value().data(), y.data());
  // dx reads mu and sigma (tiny); the sums for dmu and dsigma read x
  const bool need_sums = mu.requires_grad() || sigma.requires_grad();
  const var<T, B> x_value = need_sums ? x : var<T, B>();
  return record(std::move(y), {&x, &mu, &sigma}, [gx = x.grad_handle(), gm = mu.grad_handle(), gs = sigma.grad_handle(), x_value, mu, sigma,
                                                    eps = std::move(eps), rows, cols](const tensor<T, B>& g) {
    T beta = T(0);
    T* dx = gx.requires_grad() ? gx.for_write(beta) : nullptr;
    const bool sums = x_value.defined();
    B::noisy_scale_backward(rows, cols, sums ? x_value.value().data() : nullptr, eps.data(), mu.value().data(), sigma.value().data(), g.data(),
                            beta, dx, sums && gm.requires_grad() ? gm.buffer().data() : nullptr,
                            sums && gs.requires_grad() ? gs.buffer().data() : nullptr);
  });
}

}  // namespace vtrans::autodiff
