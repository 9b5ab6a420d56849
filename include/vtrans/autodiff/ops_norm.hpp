#pragma once
// Layer normalisation (BERT, GPT-2) and RMS normalisation (LLaMA) over the last axis.
#include "vtrans/autodiff/ops_elementwise.hpp"
#include "vtrans/autodiff/ops_linear.hpp"
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

// Normalisation over a subset of the last axis: statistics over the units where keep = 1, which
// are normalised (and scaled, shifted); the other units pass through unchanged, as in the VTrans
// authors' code, so that during training the task's gradient still reaches the masks of removed
// hidden units and can bring them back. Where removed units are 0 (deterministic hidden masks),
// a pruned model and the masked model it came from agree. keep: [cols] of 0/1 values (a constant).
namespace detail {
template <class T, class B>
struct kept_units {
  var<T, B> row, removed, column;  // keep and 1 - keep as [cols], keep as a [1, cols] reducer
  var<T, B> inv_count;             // [1]: 1 / max(1, number kept), on the device (none kept: every unit passes through)
  explicit kept_units(const tensor<T, B>& keep) {
    row = var<T, B>(keep.clone());
    tensor<T, B> r = keep.clone();
    r.reshape(shape{1, keep.numel()});
    column = var<T, B>(std::move(r));
    const var<T, B> one(tensor<T, B>::filled(shape{1}, T(1)));
    removed = add(scale(row, T(-1)), one);
    const var<T, B> count = sum(row);
    inv_count = reciprocal(add(count, step(sub(one, count))));  // count + 1[count < 1]
  }
  // 1 / sqrt(mean over kept units of v^2 + eps): [..., 1]
  var<T, B> rstd(const var<T, B>& v, double eps) const {
    const var<T, B> ms = mul(linear(square(v), column), inv_count);
    const var<T, B> e(tensor<T, B>::filled(shape{1}, static_cast<T>(eps)));
    return exp(scale(log(add(ms, e)), T(-0.5)));
  }
  // y on kept units, x on the others
  var<T, B> merge(const var<T, B>& y, const var<T, B>& x) const { return add(mul(y, row), mul(x, removed)); }
};
}  // namespace detail

template <class T, class B>
var<T, B> layer_norm_kept(const var<T, B>& x, const tensor<T, B>& keep, const var<T, B>& gamma, const var<T, B>& beta, double eps) {
  require(keep.numel() == x.shape().cols(), "layer_norm_kept", "keep " + keep.shape().str() + " does not match input " + x.shape().str());
  const detail::kept_units<T, B> k(keep);
  const var<T, B> mean = mul(linear(x, k.column), k.inv_count);
  const var<T, B> centred = mul(sub(x, mean), k.row);
  var<T, B> y = mul(centred, k.rstd(centred, eps));
  if (gamma.defined()) y = mul(y, gamma);
  if (beta.defined()) y = add(y, beta);
  return k.merge(y, x);
}

template <class T, class B>
var<T, B> rms_norm_kept(const var<T, B>& x, const tensor<T, B>& keep, const var<T, B>& gamma, double eps) {
  require(keep.numel() == x.shape().cols(), "rms_norm_kept", "keep " + keep.shape().str() + " does not match input " + x.shape().str());
  const detail::kept_units<T, B> k(keep);
  const var<T, B> kept = mul(x, k.row);
  var<T, B> y = mul(kept, k.rstd(kept, eps));
  if (gamma.defined()) y = mul(y, gamma);
  return k.merge(y, x);
}

}  // namespace vtrans::autodiff
