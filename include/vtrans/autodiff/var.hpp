#pragma once
// Values in the autodiff graph. A var shares one node: its value and a gradient slot. Copies of a
// var are handles to the same node. A param is a var that a model owns across steps: its gradient
// accumulates over backward passes until zero_grad().
//
// The gradient lives in a slot of its own so that backward closures can hold it without holding
// the value: an op keeps an input's value alive only if its backward pass reads it (see grad_ref and var::grad_handle),
// so an intermediate no backward step needs is freed as soon as the forward code drops it.
#include <memory>
#include <string>
#include <utility>

#include "vtrans/tensor/tensor.hpp"

namespace vtrans::autodiff {

template <class T, class Backend>
struct grad_slot {
  tensor<T, Backend> grad;
  bool has_grad = false;
  bool requires_grad = false;

  // The gradient buffer for a value of shape s, zero-filled the first time a backward pass writes.
  tensor<T, Backend>& buffer(const vtrans::shape& s) {
    if (!has_grad || grad.shape() != s) {
      grad = tensor<T, Backend>::zeros(s);
      has_grad = true;
    }
    return grad;
  }
  // The buffer for a kernel that can either overwrite or accumulate: on the first write of a
  // backward pass it is allocated uninitialised and beta is 0 (overwrite), which saves the
  // zero-fill pass of buffer(); afterwards beta is 1 (accumulate).
  T* for_write(const vtrans::shape& s, T& beta) {
    if (!has_grad || grad.shape() != s) {
      grad = tensor<T, Backend>(s);
      has_grad = true;
      beta = T(0);
    } else {
      beta = T(1);
    }
    return grad.data();
  }
};

template <class T, class Backend>
struct node {
  tensor<T, Backend> value;
  std::shared_ptr<grad_slot<T, Backend>> slot = std::make_shared<grad_slot<T, Backend>>();
};

// Where a backward closure writes an input's gradient, without keeping the input's value alive.
template <class T, class Backend>
class grad_ref {
 public:
  grad_ref() = default;
  grad_ref(std::shared_ptr<grad_slot<T, Backend>> slot, const vtrans::shape& s) : slot_(std::move(slot)), shape_(s) {}

  bool requires_grad() const { return slot_ && slot_->requires_grad; }
  tensor<T, Backend>& buffer() const { return slot_->buffer(shape_); }
  T* for_write(T& beta) const { return slot_->for_write(shape_, beta); }
  const vtrans::shape& shape() const { return shape_; }
  index numel() const { return shape_.numel(); }

 private:
  std::shared_ptr<grad_slot<T, Backend>> slot_;
  vtrans::shape shape_;
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
    node_->slot->requires_grad = requires_grad;
  }

  bool defined() const { return static_cast<bool>(node_); }
  const tensor_type& value() const { return node_->value; }
  tensor_type& value() { return node_->value; }
  const vtrans::shape& shape() const { return node_->value.shape(); }
  index numel() const { return node_->value.numel(); }
  bool requires_grad() const { return node_ && node_->slot->requires_grad; }
  bool has_grad() const { return node_ && node_->slot->has_grad; }
  const tensor_type& grad() const { return node_->slot->grad; }
  tensor_type& grad_buffer() const { return node_->slot->buffer(shape()); }
  // The gradient slot alone (empty for an undefined var), for backward closures.
  grad_ref<T, Backend> grad_handle() const { return node_ ? grad_ref<T, Backend>(node_->slot, shape()) : grad_ref<T, Backend>(); }
  // Forget the accumulated gradient (the buffer is re-zeroed on next use).
  void zero_grad() const { if (node_) node_->slot->has_grad = false; }
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
  void set_trainable(bool on) { this->node_->slot->requires_grad = on; if (!on) this->zero_grad(); }
};

}  // namespace vtrans::autodiff
