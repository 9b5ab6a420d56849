#pragma once
// softmax and log_softmax over the last axis.
#include "vtrans/autodiff/tape.hpp"

namespace vtrans::autodiff {

template <class T, class B>
var<T, B> softmax(const var<T, B>& x) {
  const index rows = x.shape().rows(), cols = x.shape().cols();
  tensor<T, B> y(x.shape());
  B::softmax(rows, cols, x.value().data(), y.data());
  return record(std::move(y), {&x}, [gx = x.grad_handle(), rows, cols](const tensor<T, B>& g, const tensor<T, B>& y) {
    B::softmax_backward(rows, cols, y.data(), g.data(), gx.buffer().data());
  });
}

template <class T, class B>
var<T, B> log_softmax(const var<T, B>& x) {
  const index rows = x.shape().rows(), cols = x.shape().cols();
  tensor<T, B> y(x.shape());
  B::log_softmax(rows, cols, x.value().data(), y.data());
  return record(std::move(y), {&x}, [gx = x.grad_handle(), rows, cols](const tensor<T, B>& g, const tensor<T, B>& y) {
    B::log_softmax_backward(rows, cols, y.data(), g.data(), gx.buffer().data());
  });
}

}  // namespace vtrans::autodiff
