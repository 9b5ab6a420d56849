#pragma once
// Element-wise arithmetic with broadcasting of the second operand, activations, scaling and
// reductions to a scalar.
#include "vtrans/autodiff/tape.hpp"
#include "vtrans/tensor/math.hpp"

namespace vtrans::autodiff {

namespace detail {

// How b spreads over a: same shape, one value, one row of a's last dimension, or one value per row.
inline broadcast broadcast_mode(const char* op, const shape& a, const shape& b) {
  if (a == b || (a.numel() == b.numel() && a.cols() == b.cols())) return broadcast::none;  // same rows, other grouping
  if (b.numel() == 1) return broadcast::scalar;
  if (b.cols() == a.cols() && b.numel() == a.cols()) return broadcast::row;
  if (b.cols() == 1 && b.numel() == a.rows()) return broadcast::column;
  throw shape_mismatch(op, "cannot broadcast the second operand over the first", a, b);
}

template <class T, class B>
var<T, B> binary(const char* name, math::binary_op op, const var<T, B>& a, const var<T, B>& b) {
  const broadcast mode = broadcast_mode(name, a.shape(), b.shape());
  const index rows = a.shape().rows(), cols = a.shape().cols();
  tensor<T, B> y(a.shape());
  B::binary(op, rows, cols, a.value().data(), b.value().data(), mode, y.data());
  // add and sub read no value backwards; mul reads the other operand's
  const bool mul = op == math::binary_op::mul, need_da = a.requires_grad(), need_db = b.requires_grad();
  const var<T, B> a_value = mul && need_db ? a : var<T, B>(), b_value = mul && need_da ? b : var<T, B>();
  return record(std::move(y), {&a, &b}, [ga = a.grad_handle(), gb = b.grad_handle(), a_value, b_value, need_da, need_db, op, mul, mode, rows,
                                         cols](const tensor<T, B>& g) {
    const T sign = op == math::binary_op::sub ? T(-1) : T(1);
    T beta;
    if (need_da && ga.requires_grad()) {
      T* da = ga.for_write(beta);
      if (!mul) B::axpby(rows * cols, T(1), g.data(), beta, da);  // da = g (+ da): a copy on the first write
      else if (beta == T(0)) B::binary(math::binary_op::mul, rows, cols, g.data(), b_value.value().data(), mode, da);
      else B::accumulate(rows, cols, T(1), g.data(), b_value.value().data(), mode, da);
    }
    if (need_db && gb.requires_grad()) {
      if (!mul && mode == broadcast::none) {  // db = sign * g (+ db)
        T* db = gb.for_write(beta);
        B::axpby(rows * cols, sign, g.data(), beta, db);
      } else {
        B::accumulate_reduced(rows, cols, sign, g.data(), mul ? a_value.value().data() : nullptr, mode, gb.buffer().data());
      }
    }
  });
}

template <class T, class B>
var<T, B> unary(math::unary_op op, const var<T, B>& x) {
  tensor<T, B> y(x.shape());
  B::unary(op, x.numel(), x.value().data(), y.data());
  return record(std::move(y), {&x}, [x, op](const tensor<T, B>& g, const tensor<T, B>& y) {
    B::unary_backward(op, x.numel(), x.value().data(), y.data(), g.data(), x.grad_buffer().data());
  });
}
}  // namespace detail

template <class T, class B> var<T, B> add(const var<T, B>& a, const var<T, B>& b) { return detail::binary("add", math::binary_op::add, a, b); }
template <class T, class B> var<T, B> sub(const var<T, B>& a, const var<T, B>& b) { return detail::binary("sub", math::binary_op::sub, a, b); }
template <class T, class B> var<T, B> mul(const var<T, B>& a, const var<T, B>& b) { return detail::binary("mul", math::binary_op::mul, a, b); }

template <class T, class B> var<T, B> relu(const var<T, B>& x) { return detail::unary(math::unary_op::relu, x); }
template <class T, class B> var<T, B> gelu(const var<T, B>& x) { return detail::unary(math::unary_op::gelu, x); }
template <class T, class B> var<T, B> gelu_tanh(const var<T, B>& x) { return detail::unary(math::unary_op::gelu_tanh, x); }
template <class T, class B> var<T, B> silu(const var<T, B>& x) { return detail::unary(math::unary_op::silu, x); }
template <class T, class B> var<T, B> tanh(const var<T, B>& x) { return detail::unary(math::unary_op::tanh, x); }
template <class T, class B> var<T, B> sigmoid(const var<T, B>& x) { return detail::unary(math::unary_op::sigmoid, x); }
template <class T, class B> var<T, B> exp(const var<T, B>& x) { return detail::unary(math::unary_op::exp, x); }
template <class T, class B> var<T, B> log(const var<T, B>& x) { return detail::unary(math::unary_op::log, x); }
template <class T, class B> var<T, B> square(const var<T, B>& x) { return detail::unary(math::unary_op::square, x); }
template <class T, class B> var<T, B> step(const var<T, B>& x) { return detail::unary(math::unary_op::step, x); }
template <class T, class B> var<T, B> sqrt(const var<T, B>& x) { return detail::unary(math::unary_op::sqrt, x); }
template <class T, class B> var<T, B> reciprocal(const var<T, B>& x) { return detail::unary(math::unary_op::reciprocal, x); }
// By run-time choice, for models whose activation comes from config.json.
template <class T, class B> var<T, B> activation(math::unary_op op, const var<T, B>& x) { return detail::unary(op, x); }

// s * x
template <class T, class B>
var<T, B> scale(const var<T, B>& x, T s) {
  tensor<T, B> y(x.shape());
  B::axpby(x.numel(), s, x.value().data(), T(0), y.data());
  return record(std::move(y), {&x}, [gx = x.grad_handle(), s](const tensor<T, B>& g) {
    B::axpby(gx.numel(), s, g.data(), T(1), gx.buffer().data());
  });
}

// Sum of all elements, as a rank-0 tensor.
template <class T, class B>
var<T, B> sum(const var<T, B>& x, T factor = T(1)) {
  tensor<T, B> y(shape{});
  B::reduce_sum(x.numel(), x.value().data(), factor, y.data());
  return record(std::move(y), {&x}, [gx = x.grad_handle(), factor](const tensor<T, B>& g) {
    B::add_scalar(gx.numel(), g.data(), factor, gx.buffer().data());
  });
}
template <class T, class B>
var<T, B> mean(const var<T, B>& x) {
  require(x.numel() > 0, "mean", "of an empty tensor");
  return sum(x, T(1) / static_cast<T>(x.numel()));
}

}  // namespace vtrans::autodiff
