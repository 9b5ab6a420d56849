#pragma once
// Losses: cross-entropy from logits (with an ignore index for padding), mean squared error, and
// the distillation KL divergence with temperature.
#include <cstdint>
#include <vector>

#include "vtrans/autodiff/ids.hpp"
#include "vtrans/autodiff/tape.hpp"

namespace vtrans::autodiff {

// Mean of -log softmax(logits)[target] over rows whose target is not ignore_index.
// logits [..., classes]; targets: one per row, in the backend's memory (checked when they were
// made: upload_ids), `counted` of them not ignored.
template <class T, class B>
var<T, B> cross_entropy(const var<T, B>& logits, const id_tensor<B>& targets, index counted, std::int32_t ignore_index = -100) {
  const index rows = logits.shape().rows(), cols = logits.shape().cols();
  require(targets.rank() == 1 && targets.numel() == rows, "cross_entropy",
          "needs one target per row: " + targets.shape().str() + " for logits " + logits.shape().str());
  tensor<T, B> logp(logits.shape()), per_row(shape{rows}), loss(shape{});
  B::log_softmax(rows, cols, logits.value().data(), logp.data());
  B::nll(rows, cols, logp.data(), targets.data(), ignore_index, per_row.data());
  const T inv = counted ? T(1) / static_cast<T>(counted) : T(0);  // all ignored: loss 0, no gradient
  B::reduce_sum(rows, per_row.data(), inv, loss.data());
  return record(std::move(loss), {&logits}, [gl = logits.grad_handle(), t = targets, logp = std::move(logp), rows, cols, inv, ignore_index](const tensor<T, B>& g) {
    tensor<T, B> dlogp = tensor<T, B>::zeros(logp.shape());
    B::nll_backward(rows, cols, t.data(), ignore_index, g.data(), inv, dlogp.data());
    B::log_softmax_backward(rows, cols, logp.data(), dlogp.data(), gl.buffer().data());
  });
}

// The same with targets on the host (checked, then uploaded).
template <class T, class B>
var<T, B> cross_entropy(const var<T, B>& logits, const std::vector<std::int32_t>& targets, std::int32_t ignore_index = -100) {
  const index rows = logits.shape().rows(), cols = logits.shape().cols();
  index counted = 0;
  for (auto v : targets) counted += v != ignore_index;
  return cross_entropy(logits, upload_ids<B>("cross_entropy", shape{rows}, targets, cols, ignore_index), counted, ignore_index);
}

// mean((a - b)^2)
template <class T, class B>
var<T, B> mse(const var<T, B>& a, const var<T, B>& b) {
  if (a.shape() != b.shape()) throw shape_mismatch("mse", "shapes differ", a.shape(), b.shape());
  const index n = a.numel();
  require(n > 0, "mse", "of empty tensors");
  tensor<T, B> diff(a.shape()), sq(a.shape()), loss(shape{});
  B::binary(math::binary_op::sub, 1, n, a.value().data(), b.value().data(), broadcast::none, diff.data());
  B::unary(math::unary_op::square, n, diff.data(), sq.data());
  B::reduce_sum(n, sq.data(), static_cast<T>(1.0 / double(n)), loss.data());  // stays on the device
  return record(std::move(loss), {&a, &b}, [ga = a.grad_handle(), gb = b.grad_handle(), n, diff = std::move(diff)](const tensor<T, B>& g) {
    // d/da = 2 g / n * diff, with g read where it lives
    const T f = static_cast<T>(2.0 / double(n));
    if (ga.requires_grad()) B::accumulate(1, n, f, diff.data(), g.data(), broadcast::scalar, ga.buffer().data());
    if (gb.requires_grad()) B::accumulate(1, n, -f, diff.data(), g.data(), broadcast::scalar, gb.buffer().data());
  });
}

// Knowledge distillation: tau^2 * mean over rows of KL(softmax(teacher / tau) || softmax(student / tau)).
// The teacher is a constant target: no gradient flows into it.
template <class T, class B>
var<T, B> kl_div(const var<T, B>& student, const var<T, B>& teacher, double tau = 1.0) {
  if (student.shape() != teacher.shape()) throw shape_mismatch("kl_div", "student and teacher logits differ", student.shape(), teacher.shape());
  const index rows = student.shape().rows(), cols = student.shape().cols(), n = student.numel();
  const T inv_tau = static_cast<T>(1.0 / tau);
  tensor<T, B> zs(student.shape()), zt(student.shape()), ls(student.shape()), lt(student.shape()), pt(student.shape()), loss(shape{});
  B::axpby(n, inv_tau, student.value().data(), T(0), zs.data());
  B::axpby(n, inv_tau, teacher.value().data(), T(0), zt.data());
  B::log_softmax(rows, cols, zs.data(), ls.data());
  B::log_softmax(rows, cols, zt.data(), lt.data());
  B::unary(math::unary_op::exp, n, lt.data(), pt.data());
  // sum p_t (log p_t - log p_s), reduced on the device (zt, no longer needed, holds the terms)
  tensor<T, B>& gap = zt;
  B::binary(math::binary_op::sub, 1, n, lt.data(), ls.data(), broadcast::none, gap.data());
  B::binary(math::binary_op::mul, 1, n, gap.data(), pt.data(), broadcast::none, gap.data());
  B::reduce_sum(n, gap.data(), static_cast<T>(tau * tau / double(rows)), loss.data());
  return record(std::move(loss), {&student}, [gs_ref = student.grad_handle(), ls = std::move(ls), pt = std::move(pt), n, rows, tau](const tensor<T, B>& g) {
    // d/dz_s = tau^2 / rows * (1 / tau) * (softmax(z_s / tau) - p_t) = tau / rows * g * (p_s - p_t)
    tensor<T, B> diff(ls.shape());
    B::unary(math::unary_op::exp, n, ls.data(), diff.data());
    B::binary(math::binary_op::sub, 1, n, diff.data(), pt.data(), broadcast::none, diff.data());
    B::accumulate(1, n, static_cast<T>(tau / double(rows)), diff.data(), g.data(), broadcast::scalar, gs_ref.buffer().data());
  });
}

}  // namespace vtrans::autodiff
