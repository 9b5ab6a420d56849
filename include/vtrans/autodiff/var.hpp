#pragma once
// Values in the autodiff graph. A var shares one node (value, gradient, requires_grad);
// copies of a var are handles to the same node. A param is a var that a model owns across
// steps: its gradient accumulates over backward passes until zero_grad().
#include <memory>
#include <string>
#include <utility>

#include "vtrans/tensor/tensor.hpp"

namespace vtrans::autodiff {

template <class T, class Backend>
struct node {
  tensor<T, Backend> value;
  tensor<T, Backend> grad;
  bool has_grad = false;
  bool requires_grad = false;

  // The gradient buffer, zero-filled the first time a backward pass writes to it.
  tensor<T, Backend>& grad_buffer() {
    if (!has_grad || grad.shape() != value.shape()) {
      grad = tensor<T, Backend>::zeros(value.shape());
      has_grad = true;
    }
    return grad;
  }
};

template <class T, class Backend>
class var {
 public:
  using value_type = T;
  using backend = Backend;
  using tensor_type = tensor<T, Backend>;

  var() = default;
  explicit var(tensor_type value, bool requires_grad = false) : node_(std::make_shared<node<T, Backend>>()) {
    node_->value = std::move(value);
    node_->requires_grad = requires_grad;
  }

  bool defined() const { return static_cast<bool>(node_); }
  const tensor_type& value() const { return node_->value; }
  tensor_type& value() { return node_->value; }
  const vtrans::shape& shape() const { return node_->value.shape(); }
  index numel() const { return node_->value.numel(); }
  bool requires_grad() const { return node_ && node_->requires_grad; }
  bool has_grad() const { return node_ && node_->has_grad; }
  const tensor_type& grad() const { return node_->grad; }
  tensor_type& grad_buffer() const { return node_->grad_buffer(); }
  node<T, Backend>* get() const { return node_.get(); }
  const std::shared_ptr<node<T, Backend>>& shared() const { return node_; }
  T item() const { return node_->value.item(); }

 protected:
  std::shared_ptr<node<T, Backend>> node_;
};

// A trainable (or frozen) leaf owned by a model. Freezing a param means no gradient is computed
// for it and no optimizer state needs to exist (Faster-VTrans trains masks with frozen weights).
template <class T, class Backend>
class param : public var<T, Backend> {
 public:
  param() = default;
  explicit param(tensor<T, Backend> value, bool trainable = true) : var<T, Backend>(std::move(value), trainable) {}

  bool trainable() const { return this->requires_grad(); }
  void set_trainable(bool on) { this->node_->requires_grad = on; if (!on) zero_grad(); }
  // Forget the accumulated gradient (the buffer is re-zeroed on next use).
  void zero_grad() { this->node_->has_grad = false; }
};

}  // namespace vtrans::autodiff
