#pragma once
// Layer normalisation (BERT, GPT-2) and RMS normalisation (LLaMA) over the last axis.
#include "vtrans/autodiff/tape.hpp"

namespace vtrans::autodiff {

// gamma, beta: [cols] or undefined (no affine part)
template <class T, class B>
var<T, B> layer_norm(const var<T, B>& x, const var<T, B>& gamma, const var<T, B>& beta, double eps) {
  const index rows = x.shape().rows(), cols = x.shape().cols();
  for (const auto* p : {&gamma, &beta})
    require(!p->defined() || (p->shape().rank() == 1 && p->shape()[0] == cols), "layer_norm",
            "parameter " + (p->defined() ? p->shape().str() : std::string()) + " does not match input " + x.shape().str());
  tensor<T, B> y(x.shape()), mean(shape{rows}), rstd(shape{rows});
  B::layer_norm(rows, cols, x.value().data(), gamma.defined() ? gamma.value().data() : nullptr,
                beta.defined() ? beta.value().data() : nullptr, eps, y.data(), mean.data(), rstd.data());
  return record(std::move(y), {&x, &gamma, &beta},
                [x, gamma, beta, rows, cols, mean = std::move(mean), rstd = std::move(rstd)](const tensor<T, B>& g) {
                  B::layer_norm_backward(rows, cols, x.value().data(), gamma.defined() ? gamma.value().data() : nullptr,
                                         mean.data(), rstd.data(), g.data(),
                                         x.requires_grad() ? x.grad_buffer().data() : nullptr,
                                         gamma.requires_grad() ? gamma.grad_buffer().data() : nullptr,
                                         beta.requires_grad() ? beta.grad_buffer().data() : nullptr);
                });
}

template <class T, class B>
var<T, B> rms_norm(const var<T, B>& x, const var<T, B>& gamma, double eps) {
  const index rows = x.shape().rows(), cols = x.shape().cols();
  require(!gamma.defined() || (gamma.shape().rank() == 1 && gamma.shape()[0] == cols), "rms_norm",
          "weight " + (gamma.defined() ? gamma.shape().str() : std::string()) + " does not match input " + x.shape().str());
  tensor<T, B> y(x.shape()), rstd(shape{rows});
  B::rms_norm(rows, cols, x.value().data(), gamma.defined() ? gamma.value().data() : nullptr, eps, y.data(), rstd.data());
  return record(std::move(y), {&x, &gamma}, [x, gamma, rows, cols, rstd = std::move(rstd)](const tensor<T, B>& g) {
    B::rms_norm_backward(rows, cols, x.value().data(), gamma.defined() ? gamma.value().data() : nullptr, rstd.data(),
                         g.data(), x.requires_grad() ? x.grad_buffer().data() : nullptr,
                         gamma.requires_grad() ? gamma.grad_buffer().data() : nullptr);
  });
}

}  // namespace vtrans::autodiff
